/**
 * @file data.h
 * Data sets (IDX and NPY files), class splits, the seeded episode sampler
 * and the few-shot evaluation. Include <fden/fden.h> instead.
 */
#ifndef FDEN_DATA_H
#define FDEN_DATA_H

#include <fden/core.h>
#include <fden/io.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fden_dataset; /**< n rows of `dim` floats with an int32 label each */
struct fden_sampler; /**< seeded C-way K-shot Q-query episode sampler */

/**
 * Load images and labels from IDX files (gzip-compressed or plain, any IDX
 * element type, any number of dimensions: each item is flattened to one
 * row). `scale` multiplies every value (1/255 for 8-bit images).
 * @param images_path IDX file of the items
 * @param labels_path NULL: labels all 0; else a 1-D IDX of ubyte, byte,
 *        short or int labels
 * @return FDEN_OK; FDEN_E_IO (open/read failure, not a regular file),
 *         FDEN_E_FORMAT (bad magic or type, truncated, trailing bytes,
 *         corrupt gzip, sizes whose product overflows: a header is never
 *         trusted beyond the data present), FDEN_E_SHAPE (label count
 *         differs from image count), FDEN_E_OVERFLOW (the rows do not fit
 *         the data set's own limits), FDEN_E_NOMEM; fden_last_error()
 *         names the file and the problem
 * @param scale factor applied to every value
 * @param[out] out the data set, owned by the caller (fden_dataset_free)
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_dataset_load_idx(const char *images_path,
					       const char *labels_path, double scale,
					       struct fden_dataset **out);
/**
 * Load a 2-D float32 (or float64) .npy and optional integer-label .npy.
 * Any numeric dtype is read as float; arrays of more than 2 dimensions are
 * flattened to rows. Little-endian, C order only (fortran_order True is
 * FDEN_E_FORMAT); labels (i1..i8, u1..u8) must fit int32. Little-endian
 * float32 data at a 64-byte aligned offset (as NumPy writes them) are
 * memory-mapped read-only, not copied: the data set costs the file's pages
 * (shared with the page cache), and the file must not be truncated or
 * rewritten in place while the data set lives (fden_dataset_free unmaps it).
 * @return as fden_dataset_load_idx(); FDEN_E_VERSION for a .npy version > 3
 * @param x_path .npy file of the rows
 * @param labels_path NULL: labels all 0; a 1-D integer .npy (a name
 *        ending in ".npy"); any other name is read as an IDX label file
 *        (idx1, .gz ok), as fden_dataset_load_idx() reads it
 * @param[out] out the data set, owned by the caller (fden_dataset_free)
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_dataset_load_npy(const char *x_path, const char *labels_path,
					       struct fden_dataset **out);
/**
 * Make a data set from arrays (copied).
 * @param x n rows of dim floats, row-major (borrowed)
 * @param labels n labels (borrowed); NULL: labels all 0
 * @param n, dim rows and their width
 * @param[out] out the data set, owned by the caller (fden_dataset_free)
 * @return FDEN_OK; FDEN_E_INVALID (NULL x or out, n or dim 0);
 *         FDEN_E_OVERFLOW (n x dim too large); FDEN_E_NOMEM
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_dataset_new(const float *x, const int32_t *labels, size_t n,
					  size_t dim, struct fden_dataset **out);
/**
 * Free a data set; NULL is a no-op.
 * @param ds the data set (samplers drawing from it must be freed first)
 * @note Thread safety: no other call on the handle (or on anything borrowing
 *       from it) may run at the same time.
 * @since 0.1
 */
FDEN_EXPORT void fden_dataset_free(struct fden_dataset *ds);
/**
 * Number of rows.
 * @param ds the data set
 * @return the rows (0 for NULL)
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT size_t fden_dataset_size(const struct fden_dataset *ds);
/**
 * Floats per row.
 * @param ds the data set
 * @return the width of a row (0 for NULL)
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT size_t fden_dataset_dim(const struct fden_dataset *ds);
/**
 * The rows, row-major.
 * @param ds the data set
 * @return size x dim floats, borrowed (valid while the data set lives)
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT const float *fden_dataset_data(const struct fden_dataset *ds);
/**
 * The labels.
 * @param ds the data set
 * @return size labels, borrowed (valid while the data set lives)
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT const int32_t *fden_dataset_labels(const struct fden_dataset *ds);
/**
 * The rows whose label is in classes[0..n_classes), as a new data set
 * (labels kept as they are, rows in their original order).
 * @param ds the data set (only read)
 * @param classes n_classes labels (borrowed)
 * @param n_classes number of labels
 * @param[out] out the new data set, owned by the caller
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, or no row has one of the
 *         classes); FDEN_E_NOMEM
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_dataset_select(const struct fden_dataset *ds,
					     const int32_t *classes, size_t n_classes,
					     struct fden_dataset **out);
/**
 * Rows with label < first_test, and the rest (two new data sets).
 * @param ds the data set (only read)
 * @param first_test the first label of the second part
 * @param[out] train rows with label < first_test, owned by the caller
 * @param[out] test the other rows, owned by the caller
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, or either part would be
 *         empty); FDEN_E_NOMEM. Neither output is set on failure.
 * @note Thread safety: safe from any thread while no thread frees the data
 *       set (it is only read).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_dataset_split(const struct fden_dataset *ds, int32_t first_test,
					    struct fden_dataset **train,
					    struct fden_dataset **test);
/**
 * A sampler of episodes from a data set (borrowed; it must outlive the
 * sampler). Classes with fewer than shots+queries rows are never drawn.
 * Draws are uniform: `ways` distinct classes, then shots+queries distinct
 * rows of each, from the sampler's own generator seeded with `seed`.
 * @return FDEN_OK; FDEN_E_INVALID (ways or shots 0, or fewer than `ways`
 *         classes with shots+queries rows), FDEN_E_OVERFLOW, FDEN_E_NOMEM
 * @param ds the data set (borrowed, only read)
 * @param ways, shots, queries classes per episode, support and query rows per class
 * @param seed seed of the sampler's generator
 * @param[out] out the sampler, owned by the caller (fden_sampler_free)
 * @note Thread safety: safe from any thread while no thread frees ds.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_sampler_new(const struct fden_dataset *ds, size_t ways,
					  size_t shots, size_t queries, uint64_t seed,
					  struct fden_sampler **out);
/**
 * A sampler, as fden_sampler_new(), that never draws the classes in
 * exclude[0..n_exclude): validation classes held out of training, without
 * the copy of the other rows fden_dataset_select() would make. Its draws
 * are those of fden_sampler_new() with the same seed on a data set of the
 * rows not excluded, in their order (such as fden_dataset_select() of the
 * other classes makes), the row indices aside; with n_exclude 0 they are
 * fden_sampler_new()'s on ds. The exclusion is fixed for the sampler's
 * life: fden_sampler_reset() keeps it.
 * @param ds the data set (borrowed, only read)
 * @param ways, shots, queries classes per episode, support and query rows per class
 * @param seed seed of the sampler's generator
 * @param exclude n_exclude labels (borrowed, only read during the call),
 *        in any order; duplicates and labels ds does not have are allowed;
 *        NULL when n_exclude is 0
 * @param n_exclude number of labels in exclude
 * @param[out] out the sampler, owned by the caller (fden_sampler_free)
 * @return FDEN_OK; FDEN_E_INVALID (NULL ds or out, NULL exclude with
 *         n_exclude > 0, ways or shots 0, or fewer than `ways` classes not
 *         excluded with shots+queries rows), FDEN_E_OVERFLOW,
 *         FDEN_E_UNSUPPORTED (more than 2^32-1 rows), FDEN_E_NOMEM;
 *         fden_last_error() says which
 * @note Thread safety: safe from any thread while no thread frees ds.
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_sampler_new_except(const struct fden_dataset *ds, size_t ways,
						 size_t shots, size_t queries, uint64_t seed,
						 const int32_t *exclude, size_t n_exclude,
						 struct fden_sampler **out);
/**
 * Free a sampler; NULL is a no-op.
 * @param s the sampler
 * @note Thread safety: no other call on the handle (or on anything borrowing
 *       from it) may run at the same time.
 * @since 0.1
 */
FDEN_EXPORT void fden_sampler_free(struct fden_sampler *s);
/**
 * Put the sampler back in the state fden_sampler_new() (or
 * fden_sampler_new_except(), its excluded classes still excluded) left it
 * in, seeded with `seed`: the draws that follow are those of a fresh
 * sampler with that seed. No allocation. A training loop that resets with a seed derived from
 * the step number draws the same episodes for a step whether or not the
 * run was interrupted and resumed in between.
 * @return FDEN_OK; FDEN_E_INVALID (NULL)
 * @param s the sampler
 * @param seed the new seed
 * @note Thread safety: one thread at a time per sampler; samplers of one
 *       data set may run on different threads.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_sampler_reset(struct fden_sampler *s, uint64_t seed);
/**
 * Draw n_episodes episodes in the layout of struct fden_episodes.
 * @param s the sampler (its generator advances)
 * @param n_episodes episodes to draw
 * @param[out] x n_episodes*ways*(shots+queries) x dim
 * @param[out] labels episode-local labels in [0, ways)
 * @param[out] classes optional: n_episodes*ways original class ids
 * @return FDEN_OK; FDEN_E_INVALID (NULL s, x or labels, n_episodes 0);
 *         FDEN_E_OVERFLOW (the output size overflows)
 * @note Thread safety: one thread at a time per sampler; samplers of one
 *       data set may run on different threads.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_sampler_next(struct fden_sampler *s, size_t n_episodes,
					   float *x, int32_t *labels, int32_t *classes);

/**
 * @name Few-shot evaluation
 * C-way K-shot accuracy of nearest-class-mean classification over seeded
 * episodes, on any features (raw latents z, f_ide, f_sty, your own), with
 * the mean accuracy and its 95% interval, as the paper reports it.
 * @{
 */

/** Feature transforms applied to every row before classification. */
enum fden_fewshot_transform {
	FDEN_FEWSHOT_NONE = 0, /**< the rows as given */
	/** SimpleShot (Wang et al. 2019): x - center (when center is given),
	 *  then divided by its L2 norm (rows of norm 0 stay 0) */
	FDEN_FEWSHOT_SIMPLESHOT = 1,
};

/** Settings of fden_fewshot_eval(); fill with fden_fewshot_options_default(). */
struct fden_fewshot_options {
	size_t struct_size; /**< sizeof(struct fden_fewshot_options) */
	size_t episodes;    /**< episodes (1000) */
	size_t ways;        /**< classes per episode, C (5) */
	size_t shots;       /**< support rows per class, K (1) */
	size_t queries;     /**< query rows per class (15) */
	uint64_t seed;      /**< episode seed (1): same seed and labels, same episodes */
	int transform;      /**< enum fden_fewshot_transform (FDEN_FEWSHOT_NONE) */
	/** SimpleShot's centre, dim floats (borrowed), such as the mean of the
	 *  training classes' features; NULL: L2-normalise only */
	const float *center;
	/** optional label mapping (borrowed): a row labelled y with
	 *  0 <= y < n_label_map belongs to class label_map[y], or is left out
	 *  when that is negative; rows with other labels are left out. NULL:
	 *  every label is its own class */
	const int32_t *label_map;
	size_t n_label_map; /**< entries of label_map */
	/** optional output, episodes doubles (borrowed): each episode's accuracy */
	double *episode_accuracy;
	/** optional output, episodes * ways * (shots + queries) row indices
	 *  (borrowed): each episode's rows, support block first (class c at
	 *  c*shots..), then the queries (class c at ways*shots + c*queries..) */
	size_t *episode_rows;
};

/** What fden_fewshot_eval() measured. */
struct fden_fewshot_result {
	double mean;     /**< mean accuracy over the episodes, in [0, 1] */
	double ci95;     /**< 95% half-width, 1.96 * sample std / sqrt(episodes); 0 for one episode */
	size_t episodes; /**< episodes run */
	size_t classes;  /**< classes with at least shots + queries rows (drawn from) */
};

/**
 * Fill *opt with the defaults (5-way 1-shot, 15 queries, 1000 episodes,
 * seed 1, no transform, no label mapping, no outputs).
 * @param[out] opt the options; NULL is a no-op
 * @note Thread safety: safe from any thread.
 * @since 0.2
 */
FDEN_EXPORT void fden_fewshot_options_default(struct fden_fewshot_options *opt);

/**
 * Few-shot accuracy over seeded episodes. Each episode draws `ways`
 * distinct classes among those with at least shots + queries rows, then
 * shots + queries distinct rows of each, exactly as fden_sampler_new() and
 * fden_sampler_next() with the same seed would (so the episodes depend on
 * the labels, the label mapping and the seed only: every feature set of the
 * same rows is evaluated on the same episodes). Every row is transformed
 * (opt->transform); each query goes to the class whose support mean is
 * nearest in squared Euclidean distance (ties: the lower class of the
 * episode); an episode's accuracy is the fraction of its queries classified
 * right.
 * @param x n rows of dim floats, row-major (borrowed)
 * @param labels n labels (borrowed)
 * @param n, dim rows and their width
 * @param opt the settings; NULL: fden_fewshot_options_default()
 * @param[out] result the accuracy; written only on success
 * @return FDEN_OK; FDEN_E_INVALID (NULL x, labels or result, n or dim 0,
 *         ways < 2, shots or queries or episodes 0, an unknown transform,
 *         a non-finite feature or centre value, or fewer than `ways` classes
 *         with shots + queries rows); FDEN_E_VERSION (opt->struct_size too
 *         small); FDEN_E_OVERFLOW; FDEN_E_UNSUPPORTED (more than 2^32-1
 *         rows); FDEN_E_NOMEM. fden_last_error() says which.
 * @note Thread safety: safe from any thread on any arrays (nothing is
 *       written but the outputs); calls with distinct outputs may run at
 *       once.
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_fewshot_eval(const float *x, const int32_t *labels, size_t n,
					   size_t dim, const struct fden_fewshot_options *opt,
					   struct fden_fewshot_result *result);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* FDEN_DATA_H */
