/**
 * @file model.h
 * The FDEN model: configuration, the Disentangler, the Factorizer
 * (statistician and alignment net) and the Entangler, training, inference,
 * few-shot prediction and checkpoints. Include <fden/fden.h> instead.
 */
#ifndef FDEN_MODEL_H
#define FDEN_MODEL_H

#include <fden/core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fden_config;       /**< settings for a new model (opaque) */
struct fden_model;        /**< a trainable FDEN model: owns the three parts */
struct fden_disentangler; /**< D: z -> (f_ide, f_sty); borrowed from a model */
struct fden_factorizer;   /**< F: statistician + alignment net; borrowed */
struct fden_entangler;    /**< E: (f_ide, f_sty) -> z~; borrowed */

/**
 * Configuration keys. Numbered explicitly and append-only: a value never
 * changes meaning. Every key takes a double; integer keys reject fractions.
 * fden_config_bounds() gives each key's valid range.
 */
enum fden_param {
	FDEN_P_DIM = 1,             /**< latent width Dim (default 256) */
	FDEN_P_DIS_WIDTH = 2,       /**< disentangler hidden width (512) */
	FDEN_P_DIS_TRUNK_DEPTH = 3, /**< hidden layers of D_dec (3) */
	FDEN_P_DIS_HEAD_DEPTH = 4,  /**< hidden layers of D_ide, D_sty (2) */
	FDEN_P_STAT_WIDTH1 = 5,     /**< statistician widths (1024, 256, 64) */
	FDEN_P_STAT_WIDTH2 = 6,
	FDEN_P_STAT_WIDTH3 = 7,
	FDEN_P_ENT_BRANCH_WIDTH = 8,  /**< E_ide and E_sty hidden width (256) */
	FDEN_P_ENT_BRANCH_DEPTH = 9,  /**< hidden layers of E_ide, E_sty (2) */
	FDEN_P_ENT_TRUNK_WIDTH = 10,  /**< E_enc hidden width (512) */
	FDEN_P_ENT_TRUNK_DEPTH = 11,  /**< hidden layers of E_enc (3) */
	FDEN_P_DROPOUT = 12,          /**< dropout rate on hidden layers (default 0; paper 0.2) */
	FDEN_P_DROPOUT_OUTPUT = 13,   /**< dropout on linear output layers too, as the paper's table (1) */
	FDEN_P_LEAKY_SLOPE = 14,      /**< leaky ReLU slope (0.01) */
	FDEN_P_BATCHNORM = 15,        /**< batch norm on each sub-network's first layer (1) */
	FDEN_P_ALPHA = 16,            /**< weight of L_R (1) */
	FDEN_P_BETA = 17,             /**< weight of L_C (1) */
	FDEN_P_GAMMA = 18,            /**< weight of L_M (0.5) */
	FDEN_P_GRL = 19,              /**< gradient reversal constant lambda (1) */
	FDEN_P_LR = 20,               /**< Adam learning rate (default 1e-3; paper 1e-4) */
	FDEN_P_ADAM_BETA1 = 21,       /**< (0.5) */
	FDEN_P_ADAM_BETA2 = 22,       /**< (0.999) */
	FDEN_P_ADAM_EPS = 23,         /**< (1e-8) */
	FDEN_P_INIT = 24,             /**< enum fden_init (default HE_NORMAL; paper TRUNC_NORMAL) */
	FDEN_P_INIT_SIGMA = 25,       /**< sigma of the truncated normal (0.001) */
	FDEN_P_SEED = 26,             /**< seed of the model's random generator (0..2^53) */
	FDEN_P_ALIGN_HEAD = 27,       /**< enum fden_align_head (default PROTOTYPICAL; paper RELATION) */
	FDEN_P_ALIGN_WIDTH = 28,      /**< relation head hidden width, 2 layers (0 = Dim/2) */
	FDEN_P_MINE_MA = 29,          /**< MINE moving-average bias correction on/off (0) */
	FDEN_P_MINE_MA_RATE = 30,     /**< its rate (0.01) */
	FDEN_P_STOCHASTIC = 31,       /**< sample z = mu + s*sigma*eps when log-sigma is given (0); L_R's target stays mu */
	FDEN_P_STOCHASTIC_SCALE = 32, /**< s (0.1, the authors' code) */
	FDEN_P_CLIP = 33,             /**< adaptive gradient clipping on/off (1) */
	FDEN_P_THREADS = 34,          /**< BLIS threads for this model's products (1);
	                                  at most the CPUs this process may use, or 4
	                                  when fewer (fden_config_bounds() gives it);
	                                  fden_model_load() lowers a saved larger
	                                  value to that bound */
	FDEN_P_BN_MOMENTUM = 35,      /**< running-statistics momentum (0.99) */
	FDEN_P_DISENTANGLER = 36,     /**< enum fden_disentangler_kind (default FDEN_DIS_FLOW; paper FDEN_DIS_MLP) */
	FDEN_P_IDE_DIM = 37,          /**< flow only: width of f_ide, f_sty gets Dim - it
	                                  (0 = Dim/2); fden_model_new() stores the
	                                  width it resolves, and a saved 0 loads as
	                                  Dim/2 whatever a later default is */
	FDEN_P_FLOW_LAYERS = 38,      /**< flow: affine coupling layers (12) */
	FDEN_P_FLOW_WIDTH = 39,       /**< flow: coupling-net hidden width (256) */
	FDEN_P_FLOW_DEPTH = 40,       /**< flow: coupling-net hidden layers (2) */
	FDEN_P_FLOW_CLAMP = 41,       /**< flow: bound c of each log-scale, s = c tanh(r/c) (2) */
	FDEN_P_XCORR = 42,            /**< weight of the mean squared cross-correlation of f_ide, f_sty (default 10; paper 0) */
	FDEN_P_STY_ADV = 43,          /**< weight of the style-uniformity adversary on batch-standardised f_sty (default 0; paper 0) */
	FDEN_P_LR_STAT = 44,          /**< statistician learning rate as a multiple of FDEN_P_LR (1) */
	FDEN_P_FLOW_NLL = 45,         /**< flow only: weight of the density term, the per-dimension negative log-likelihood of z under a standard normal prior on [f_ide, f_sty] (default 1; paper 0) */
	FDEN_P_ALIGN_NORM = 46,       /**< prototypical head only: enum fden_align_norm, rows normalised before the class means (default 0, none) */
	FDEN_P_ALIGN_TEMP = 47,       /**< initial temperature t of the normalised head, logit = -t ||q - c_k||^2; learned as log t (10) */
	FDEN_P_LR_DECAY = 48,         /**< enum fden_lr_decay: learning-rate schedule (default FDEN_LR_COSINE; paper FDEN_LR_CONSTANT); it decays only once FDEN_P_LR_DECAY_STEPS is set */
	FDEN_P_LR_DECAY_STEPS = 49,   /**< cosine: steps to the floor; step: steps per drop (0, the default = no decay: a caller of fden_train_step() who sets no horizon trains at the constant FDEN_P_LR; `fden train --steps N` fills in N, a run by time the steps its budget allows, measured after a warm-up; fden_model_set_param() changes it on a live model) */
	FDEN_P_LR_DECAY_FACTOR = 50,  /**< cosine: final fraction of FDEN_P_LR; step: factor per drop (0.1) */
	FDEN_P_EMA = 51,              /**< decay of an exponential moving average of D's and E's weights used for inference and saving (default 0.999, also for a caller of fden_train_step(); paper 0 = off) */
	FDEN_P_HSIC = 52,             /**< weight of the HSIC penalty (Gaussian kernels, median heuristic, biased) between f_ide and f_sty of the batch (0 = off) */
	FDEN_P_STY_CLS = 53,          /**< weight of the style classifier's reversed gradient into D: a softmax classifier reads the global training class from f_sty (0 = off; needs fden_episodes.classes) */
	FDEN_P_STY_CLS_CLASSES = 54,  /**< classes of the style classifier, global ids in [0, it) (0 = unset; `fden train` fills in its training classes) */
	FDEN_P_STY_CLS_WIDTH = 55,    /**< hidden width of the style classifier (0 = linear) */
	FDEN_P_STY_CLS_LR = 56,       /**< style classifier learning rate as a multiple of FDEN_P_LR (1) */
	FDEN_P_STY_BETWEEN = 57,      /**< weight of the between-class share of f_sty: per column, the fraction of its variance in the episode that the episode's classes explain, averaged (0 = off) */
};

/** Row normalisations of the prototypical head for FDEN_P_ALIGN_NORM. */
enum fden_align_norm {
	FDEN_ALIGN_NORM_NONE = 0,       /**< raw f_ide, logit = -||q - c_k||^2 */
	FDEN_ALIGN_NORM_COSINE = 1,     /**< rows L2-normalised, logit = -t ||q^ - c_k||^2 (t learned) */
	FDEN_ALIGN_NORM_SIMPLESHOT = 2, /**< rows centred on the episode's support mean, then as COSINE */
};

/** Learning-rate schedules for FDEN_P_LR_DECAY (t: steps taken, T: FDEN_P_LR_DECAY_STEPS, f: FDEN_P_LR_DECAY_FACTOR). */
enum fden_lr_decay {
	FDEN_LR_CONSTANT = 0, /**< lr */
	FDEN_LR_COSINE = 1,   /**< lr (f + (1 - f) (1 + cos(pi min(t, T) / T)) / 2) */
	FDEN_LR_STEP = 2,     /**< lr f^floor(t / T) */
};

/** Disentangler kinds for FDEN_P_DISENTANGLER. */
enum fden_disentangler_kind {
	FDEN_DIS_MLP = 0,  /**< the paper's D and E: MLPs, E learnt to invert D */
	FDEN_DIS_FLOW = 1, /**< affine-coupling flow: E is D's exact inverse (no E nets, L_R = 0) */
};

/** Initialisers for FDEN_P_INIT. */
enum fden_init {
	FDEN_INIT_TRUNC_NORMAL = 0,  /**< truncated normal (2 sigma), FDEN_P_INIT_SIGMA */
	FDEN_INIT_GLOROT_NORMAL = 1, /**< Glorot normal, the authors' code */
	FDEN_INIT_HE_NORMAL = 2,     /**< He (Kaiming) normal */
};

/** Alignment heads for FDEN_P_ALIGN_HEAD. */
enum fden_align_head {
	FDEN_ALIGN_PROTOTYPICAL = 0, /**< -||q - mean_k s_k||^2 per class */
	FDEN_ALIGN_RELATION = 1,     /**< MLP score of (q ++ s), mean over shots */
	FDEN_ALIGN_MATCHING = 2,     /**< cosine attention over the support set */
};

/** Whole-configuration presets for fden_config_preset(). */
enum fden_preset {
	FDEN_PRESET_DEFAULT = 0, /**< measured defaults: flow disentangler, cross-correlation 10, density term 3, style adversary 0 (off), lr 1e-3 on a cosine schedule (once FDEN_P_LR_DECAY_STEPS is set), weight average 0.999, dropout 0, He init, prototypical head */
	FDEN_PRESET_PAPER = 1,   /**< Appendix B of the paper, as written */
};

/**
 * Create a configuration holding the defaults (FDEN_PRESET_DEFAULT).
 * @param[out] out the new configuration, owned by the caller
 *             (fden_config_free); set only on success
 * @return FDEN_OK or FDEN_E_NOMEM, FDEN_E_INVALID
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_new(struct fden_config **out);
/**
 * Free a configuration; NULL is a no-op.
 * @param cfg the configuration
 * @note Thread safety: no other call on the handle (or on anything borrowing
 *       from it) may run at the same time.
 * @since 0.1
 */
FDEN_EXPORT void fden_config_free(struct fden_config *cfg);
/**
 * Reset every key to a preset.
 * @param cfg the configuration
 * @param preset an enum fden_preset value
 * @return FDEN_OK; FDEN_E_INVALID (NULL cfg, unknown preset)
 * @note Thread safety: one thread at a time per configuration (reads such
 *       as fden_config_get() may run together).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_preset(struct fden_config *cfg, int preset);
/**
 * Set one key.
 * @return FDEN_OK; FDEN_E_INVALID for an unknown key or a value out of
 *         fden_config_bounds() (fden_last_error() names both)
 * @param cfg the configuration
 * @param key an enum fden_param value
 * @param value the new value
 * @note Thread safety: one thread at a time per configuration (reads such
 *       as fden_config_get() may run together).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_set(struct fden_config *cfg, int key, double value);
/**
 * Read one key.
 * @param cfg the configuration
 * @param key an enum fden_param value
 * @param[out] value the key's value; set only on success
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, unknown key)
 * @note Thread safety: one thread at a time per configuration (reads such
 *       as fden_config_get() may run together).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_get(const struct fden_config *cfg, int key, double *value);
/**
 * Valid range [*lo, *hi] of a key.
 * @param key an enum fden_param value
 * @param[out] lo, hi the smallest and largest value fden_config_set() takes
 * @return FDEN_OK; FDEN_E_INVALID (NULL lo or hi, unknown key)
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_bounds(int key, double *lo, double *hi);
/**
 * The key's name ("dim", "lr", ...), the inverse of fden_config_key_find().
 * @param key an enum fden_param value
 * @return a static string, or NULL for an unknown key
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT const char *fden_config_key_name(int key);
/**
 * Number of configuration keys. Keys are numbered 1..fden_config_key_count()
 * with no gaps, so a program lists them all with
 * `for (int k = 1; k <= fden_config_key_count(); k++)`; the count only grows
 * from one release to the next (keys are append-only).
 * @return the highest key, at least FDEN_P_EMA
 * @note Thread safety: safe from any thread (reads constant tables).
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_config_key_count(void);
/**
 * Look a configuration key up by its name, the inverse of
 * fden_config_key_name(): "lr" gives FDEN_P_LR.
 * @param name the key's name, case-sensitive (as fden_config_key_name() gives it)
 * @param[out] key the key; set only on success
 * @return FDEN_OK; FDEN_E_INVALID when name or key is NULL or no key has
 *         that name (fden_last_error() says which)
 * @note Thread safety: safe from any thread (reads constant tables; the
 *       error message is per thread).
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_config_key_find(const char *name, int *key);
/**
 * Set the allocator used by models made from this configuration.
 * @param cfg the configuration
 * @param alloc the allocator (copied; its user_data must outlive those
 *        models), or NULL for malloc/free
 * @return FDEN_OK; FDEN_E_INVALID (NULL cfg, an allocator without alloc or
 *         free)
 * @note Thread safety: one thread at a time per configuration (reads such
 *       as fden_config_get() may run together).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_config_set_allocator(struct fden_config *cfg,
						   const struct fden_allocator *alloc);

/**
 * Create a model from a configuration; parameters are initialised from
 * FDEN_P_SEED. The configuration may be freed afterwards.
 * @param cfg the settings (copied)
 * @param[out] out the model, owned by the caller (fden_model_free)
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, or keys that contradict
 *         each other: fden_last_error() names them); FDEN_E_OVERFLOW;
 *         FDEN_E_NOMEM
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_model_new(const struct fden_config *cfg, struct fden_model **out);
/**
 * Free a model and its parts; NULL is a no-op.
 * @param model the model
 * @note Thread safety: no other call on the handle (or on anything borrowing
 *       from it) may run at the same time.
 * @since 0.1
 */
FDEN_EXPORT void fden_model_free(struct fden_model *model);
/**
 * Latent width Dim.
 * @param model the model
 * @return Dim
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT size_t fden_model_dim(const struct fden_model *model);
/**
 * Width of f_ide: Dim for the MLP disentangler, FDEN_P_IDE_DIM for the flow.
 * @param model the model
 * @return the width
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT size_t fden_model_ide_dim(const struct fden_model *model);
/**
 * Width of f_sty: Dim for the MLP disentangler, Dim - ide_dim for the flow.
 * @param model the model
 * @return the width
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT size_t fden_model_sty_dim(const struct fden_model *model);
/**
 * Number of optimisation steps taken.
 * @param model the model
 * @return the steps (saved and loaded with the model)
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT uint64_t fden_model_step(const struct fden_model *model);
/**
 * A copy of the model's configuration. FDEN_P_IDE_DIM holds the f_ide width
 * in use, not the 0 that asked for the default.
 * @param model the model
 * @param[out] out the copy, owned by the caller (fden_config_free)
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument); FDEN_E_NOMEM
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_model_config(const struct fden_model *model, struct fden_config **out);
/**
 * Change a configuration key of a live model, between training steps. Only
 * the learning-rate schedule may change after fden_model_new():
 * FDEN_P_LR_DECAY, FDEN_P_LR_DECAY_STEPS and FDEN_P_LR_DECAY_FACTOR (say,
 * a horizon measured from the first steps' rate). The new value holds from
 * the next step on and is saved with the model; the steps already taken
 * are not redone.
 * @param model the model
 * @param key one of the three keys above
 * @param value within fden_config_bounds()
 * @return FDEN_OK; FDEN_E_INVALID (NULL model, an unknown key or one fixed
 *         at creation, a value out of bounds or a fraction for an integer
 *         key; the model is unchanged and fden_model_last_error() says why)
 * @note Thread safety: one thread at a time per model, with no other call
 *       on it running.
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_model_set_param(struct fden_model *model, int key, double value);
/**
 * Detail of the last failure on this model.
 * @param model the model
 * @return a string owned by the model ("" if nothing failed), valid until
 *         the model's next failing call or fden_model_free()
 * @note Thread safety: meaningful only when one thread uses the model; use
 *       fden_last_error() (per thread) with the concurrent calls.
 * @since 0.1
 */
FDEN_EXPORT const char *fden_model_last_error(const struct fden_model *model);
/**
 * Register a log callback (NULL to remove).
 * @param model the model
 * @param fn the callback, called from the thread that called into the model
 * @param user_data passed back to fn (borrowed)
 * @note Thread safety: one thread at a time per model, with no other call
 *       on it running.
 * @since 0.1
 */
FDEN_EXPORT void fden_model_set_log(struct fden_model *model, fden_log_fn fn, void *user_data);
/**
 * Per-dimension standardisation of latents, applied inside the model:
 * D sees (z - mean) / std and E's output is mapped back. NULL, NULL resets
 * to identity. Both arrays are Dim long and copied.
 * @param model the model
 * @param mean Dim means, or NULL (with std NULL) for identity
 * @param std Dim standard deviations, each > 0 and finite
 * @return FDEN_OK; FDEN_E_INVALID (NULL model, only one array given, a
 *         std <= 0 or non-finite value); the model is unchanged on failure
 * @note Thread safety: one thread at a time per model, with no other call
 *       on it running.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_model_set_standardization(struct fden_model *model,
							const float *mean, const float *std);
/**
 * Fit the per-dimension standardisation to data and set it, as
 * fden_model_set_standardization() would with mean[j] = the mean of
 * column j of z and std[j] = its sample standard deviation (divided by
 * n - 1; 1 when n is 1), floored at 1e-6. Sums are in double precision.
 * @param model the model
 * @param z n rows of fden_model_dim() floats, row-major (borrowed), such
 *        as the training latents
 * @param n number of rows
 * @return FDEN_OK; FDEN_E_INVALID (model or z NULL, n 0); FDEN_E_NONFINITE
 *         (a column with a NaN or infinity, or whose variance overflows);
 *         FDEN_E_OVERFLOW; FDEN_E_NOMEM. The model's standardisation is
 *         unchanged on failure; fden_model_last_error() says why.
 * @note Thread safety: not with other calls on the same model.
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_model_fit_standardization(struct fden_model *model, const float *z,
							size_t n);
/**
 * Fit the standardisation, as fden_model_fit_standardization(), to the
 * rows of z whose label is not in exclude[0..n_exclude): the classes a
 * sampler of fden_sampler_new_except() never draws, without a copy of the
 * others. The values set are exactly those fden_model_fit_standardization()
 * sets from a copy of the rows kept, in their order (such as
 * fden_dataset_select() of the other classes makes); with n_exclude 0,
 * those it sets from z.
 * @param model the model
 * @param z n rows of fden_model_dim() floats, row-major (borrowed), such
 *        as fden_dataset_data() of the training set
 * @param labels n labels (borrowed), such as fden_dataset_labels(); may be
 *        NULL when n_exclude is 0
 * @param n number of rows
 * @param exclude n_exclude labels (borrowed, only read during the call),
 *        in any order; duplicates and labels z does not have are allowed;
 *        NULL when n_exclude is 0
 * @param n_exclude number of labels in exclude
 * @return as fden_model_fit_standardization(); FDEN_E_INVALID also for a
 *         NULL labels or exclude with n_exclude > 0 and when every row is
 *         excluded. The model's standardisation is unchanged on failure;
 *         fden_model_last_error() says why.
 * @note Thread safety: not with other calls on the same model.
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_model_fit_standardization_except(struct fden_model *model,
							       const float *z,
							       const int32_t *labels, size_t n,
							       const int32_t *exclude,
							       size_t n_exclude);

/**
 * The model's disentangler D.
 * @param model the model
 * @return the part, borrowed (valid while the model lives)
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT struct fden_disentangler *fden_model_disentangler(struct fden_model *model);
/**
 * The model's factorizer F (statistician and alignment net).
 * @param model the model
 * @return the part, borrowed (valid while the model lives)
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT struct fden_factorizer *fden_model_factorizer(struct fden_model *model);
/**
 * The model's entangler E.
 * @param model the model
 * @return the part, borrowed (valid while the model lives)
 * @note Thread safety: may run alongside the concurrent model calls
 *       (fden_disentangle() and the others fden.h lists), not while a thread
 *       trains, loads into or frees the model.
 * @since 0.1
 */
FDEN_EXPORT struct fden_entangler *fden_model_entangler(struct fden_model *model);

/**
 * A batch of episodes for fden_train_step(). Each episode holds ways*shots
 * support rows then ways*queries query rows; episodes follow each other.
 * Rows are Dim floats, row-major. labels[i] in [0, ways) is row i's class
 * within its episode; each class has exactly `shots` support and `queries`
 * query rows.
 */
struct fden_episodes {
	size_t struct_size;       /**< sizeof(struct fden_episodes) */
	size_t n_episodes;        /**< episodes in the batch */
	size_t ways;              /**< classes per episode */
	size_t shots;             /**< support rows per class */
	size_t queries;           /**< query rows per class */
	const float *z;           /**< n_episodes*ways*(shots+queries) x Dim */
	const float *z_log_sigma; /**< optional (NULL): host's log-sigma, same shape */
	const int32_t *labels;    /**< n_episodes*ways*(shots+queries) */
	/** optional (NULL), needed by FDEN_P_STY_CLS: n_episodes*ways global
	 *  class ids in [0, FDEN_P_STY_CLS_CLASSES), class c of episode e at
	 *  e*ways + c (the layout of fden_sampler_next()'s classes); @since 0.2 */
	const int32_t *classes;
};

/** What one training step measured. */
struct fden_step_stats {
	size_t struct_size;        /**< sizeof(struct fden_step_stats), set by the caller */
	double loss;               /**< alpha*L_R + beta*L_C - gamma*L_M (+ the independence terms) */
	double l_r;                /**< reconstruction loss L_R */
	double l_c;                /**< alignment cross entropy L_C */
	double l_m;                /**< MINE bound L_M on I(f_ide; f_sty) */
	double accuracy;           /**< fraction of queries classified right */
	double gnorm_disentangler; /**< gradient norm of D's parameters */
	double gnorm_entangler;    /**< gradient norm of E's */
	double gnorm_statistician; /**< gradient norm of the statistician's */
	double gnorm_align;        /**< gradient norm of the alignment net's */
	double clip_scale;         /**< mean over D's tensors of ||g_a|| / ||g_m|| */
	uint64_t step;             /**< steps taken, this one included */
	double l_xcorr;            /**< mean squared cross-correlation (when FDEN_P_XCORR > 0) */
	double l_sty_adv;          /**< style-uniformity loss, log(ways) at best (when FDEN_P_STY_ADV > 0) */
	double l_nll;              /**< flow density term (1/(N Dim)) sum (||F||^2/2 - log|det|) (when FDEN_P_FLOW_NLL > 0) */
	double l_hsic;             /**< HSIC of f_ide and f_sty (when FDEN_P_HSIC > 0); @since 0.2 */
	double l_sty_cls;          /**< the style classifier's cross entropy, log(classes) at chance (when FDEN_P_STY_CLS > 0); @since 0.2 */
	double sty_cls_accuracy;   /**< fraction of rows whose global class it read from f_sty (when FDEN_P_STY_CLS > 0); @since 0.2 */
	double lr;                 /**< the learning rate this step used: FDEN_P_LR times the schedule's factor (FDEN_P_LR_DECAY); @since 0.2 */
	double l_sty_between;      /**< between-class share of f_sty's variance, (ways-1)/(rows-1) on average at independence (when FDEN_P_STY_BETWEEN > 0); @since 0.2 */
};

/**
 * One optimisation step on a batch of episodes, in training mode (dropout,
 * batch statistics). A step whose loss or gradients are not finite is
 * rejected with FDEN_E_NONFINITE and leaves the model as it was.
 * No allocation in the steady state (same or smaller batch shape).
 * @param model the model to update (not concurrently with any other call on it)
 * @param episodes the batch, struct_size set by the caller
 * @param stats optional (NULL): filled on success
 * @return FDEN_OK, FDEN_E_INVALID, FDEN_E_SHAPE, FDEN_E_NONFINITE, FDEN_E_NOMEM
 * @note Thread safety: one thread at a time per model, with no other call
 *       on it running.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_train_step(struct fden_model *model,
					 const struct fden_episodes *episodes,
					 struct fden_step_stats *stats);

/**
 * Disentangle n latents (n x Dim) into identity and style factors
 * (n x fden_model_ide_dim() and n x fden_model_sty_dim(); both Dim for the
 * MLP disentangler), evaluation mode. Thread-safe on a model not being trained.
 * @param model the model
 * @param z n x Dim latents, row-major
 * @param n number of latents
 * @param f_ide, f_sty caller-owned outputs; either may be NULL
 * @return FDEN_OK; FDEN_E_INVALID (NULL model or z, both outputs NULL);
 *         FDEN_E_NONFINITE (a non-finite latent); FDEN_E_OVERFLOW; FDEN_E_NOMEM
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_disentangle(const struct fden_model *model, const float *z,
					  size_t n, float *f_ide, float *f_sty);
/**
 * Entangle factors back into latents: z~ = E(f_ide, f_sty); the factors
 * have the widths fden_disentangle() gives, z_out is n x Dim.
 * Thread-safe on a model not being trained.
 * @param model the model
 * @param f_ide, f_sty the factors, n rows each (borrowed)
 * @param n number of rows
 * @param[out] z_out n x Dim latents
 * @return as fden_disentangle()
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_entangle(const struct fden_model *model, const float *f_ide,
				       const float *f_sty, size_t n, float *z_out);

/**
 * Few-shot prediction from the identity factor: classify each query latent
 * by the model's alignment head against a labelled support set.
 * @param model the model
 * @param support_z n_support x Dim latents of the labelled examples
 * @param n_support number of support rows
 * @param ways number of classes
 * @param query_z n_query x Dim latents to classify
 * @param n_query number of queries
 * @param support_labels values in [0, ways); every class needs >= 1 row
 * @param[out] pred n_query class indices
 * @param[out] prob optional (NULL): n_query x ways probabilities
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, ways 0, a label outside
 *         [0, ways) or a class with no support row); FDEN_E_NONFINITE;
 *         FDEN_E_OVERFLOW; FDEN_E_NOMEM
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_predict(const struct fden_model *model,
				      const float *support_z, const int32_t *support_labels,
				      size_t n_support, size_t ways,
				      const float *query_z, size_t n_query,
				      int32_t *pred, float *prob);

/**
 * D on its own: same contract as fden_disentangle().
 * @param d the disentangler (borrowed from a model)
 * @param z n x Dim latents, row-major
 * @param n number of latents
 * @param f_ide, f_sty caller-owned outputs; either may be NULL
 * @return as fden_disentangle()
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_disentangler_run(const struct fden_disentangler *d,
					       const float *z, size_t n,
					       float *f_ide, float *f_sty);
/**
 * E on its own: same contract as fden_entangle().
 * @param e the entangler (borrowed from a model)
 * @param f_ide, f_sty the factors, n rows each
 * @param n number of rows
 * @param[out] z_out n x Dim latents
 * @return as fden_entangle()
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_entangler_run(const struct fden_entangler *e,
					    const float *f_ide, const float *f_sty,
					    size_t n, float *z_out);
/**
 * The statistician's Donsker-Varadhan estimate of I(f_ide; f_sty) on n
 * rows, the marginal from a permutation drawn from `seed`.
 * @param f the factorizer (borrowed from a model)
 * @param f_ide, f_sty n rows of identity and style factors
 * @param n number of rows (at least 2)
 * @param seed seed of the permutation
 * @param[out] estimate the bound, in nats
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, n < 2); FDEN_E_NONFINITE;
 *         FDEN_E_NOMEM
 * @note Thread safety: one thread at a time per model, with no other call
 *       on it running.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_factorizer_mine(const struct fden_factorizer *f,
					      const float *f_ide, const float *f_sty,
					      size_t n, uint64_t seed, double *estimate);
/**
 * The alignment net's class probabilities for queries given a support set,
 * both as identity factors (rows of fden_model_ide_dim() floats).
 * @param f the factorizer (borrowed from a model)
 * @param support_ide n_support identity factors
 * @param support_labels values in [0, ways), one per support row
 * @param n_support number of support rows
 * @param ways number of classes
 * @param query_ide n_query identity factors
 * @param n_query number of queries
 * @param[out] prob n_query x ways
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument, ways 0, a label outside
 *         [0, ways)); FDEN_E_OVERFLOW; FDEN_E_NOMEM
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_factorizer_align(const struct fden_factorizer *f,
					       const float *support_ide,
					       const int32_t *support_labels,
					       size_t n_support, size_t ways,
					       const float *query_ide, size_t n_query,
					       float *prob);

/**
 * Save the whole model: configuration, parameters, batch-norm running
 * statistics, Adam moments, random state, step count, standardisation.
 * zlib-compressed with magic, format version and CRC-32, written to a
 * temporary file and renamed into place, so a crash leaves the old file.
 * @param model the model (only read)
 * @param path file to write
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument); FDEN_E_OVERFLOW;
 *         FDEN_E_NOMEM; FDEN_E_IO (the detail names the path)
 * @note Thread safety: may run concurrently from many threads on one model
 *       while no thread trains, loads into or frees it (fden.h).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_model_save(const struct fden_model *model, const char *path);
/**
 * Load a model saved by fden_model_save().
 * @param path file written by fden_model_save()
 * @param alloc optional (NULL: malloc)
 * @param[out] out the model, owned by the caller
 * @return FDEN_OK, FDEN_E_IO, FDEN_E_FORMAT, FDEN_E_VERSION, FDEN_E_CORRUPT,
 *         FDEN_E_NOMEM
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_model_load(const char *path, const struct fden_allocator *alloc,
					 struct fden_model **out);

#ifdef __cplusplus
}
#endif

#endif /* FDEN_MODEL_H */
