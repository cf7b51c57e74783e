/* Data sets: n rows of dim floats with an int32 label each; loaded from
 * IDX or NPY, made from arrays, filtered by class, split. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"
#include "io/idx.h"
#include "io/npy.h"

/* Take ownership of x and labels (fd_malloc'd, labels may be NULL = all 0). */
static int ds_wrap(float *x, int32_t *labels, size_t n, size_t dim, struct fden_dataset **out)
{
	struct fden_dataset *ds = fd_calloc(NULL, 1, sizeof *ds);

	if (!ds || (!labels && !(labels = fd_calloc(NULL, n, sizeof *labels)))) {
		fd_free(NULL, ds);
		fd_free(NULL, x);
		fd_free(NULL, labels);
		return fd_err_set(NULL, FDEN_E_NOMEM, "data set: out of memory (%zu x %zu)", n, dim);
	}
	ds->n = n;
	ds->dim = dim;
	ds->x = x;
	ds->labels = labels;
	*out = ds;
	return FDEN_OK;
}

FDEN_EXPORT int fden_dataset_new(const float *x, const int32_t *labels, size_t n, size_t dim,
				 struct fden_dataset **out)
{
	float *xc;
	int32_t *lc = NULL;
	size_t nx;

	if (!x || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_dataset_new: x or out is NULL");
	if (n == 0 || dim == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_dataset_new: %zu rows of %zu values", n,
				  dim);
	if (fd_mul_overflow(n, dim, &nx) || nx > SIZE_MAX / sizeof(float))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_dataset_new: %zu x %zu overflows", n,
				  dim);
	xc = fd_malloc(NULL, nx * sizeof *xc);
	if (labels)
		lc = fd_malloc(NULL, n * sizeof *lc);
	if (!xc || (labels && !lc)) {
		fd_free(NULL, xc);
		fd_free(NULL, lc);
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_dataset_new: out of memory");
	}
	memcpy(xc, x, nx * sizeof *xc);
	if (labels)
		memcpy(lc, labels, n * sizeof *lc);
	return ds_wrap(xc, lc, n, dim, out);
}

FDEN_EXPORT void fden_dataset_free(struct fden_dataset *ds)
{
	if (!ds)
		return;
	if (ds->map)
		munmap(ds->map, ds->map_len);
	else
		fd_free(NULL, ds->x);
	fd_free(NULL, ds->labels);
	fd_free(NULL, ds);
}

FDEN_EXPORT size_t fden_dataset_size(const struct fden_dataset *ds)
{
	return ds ? ds->n : 0;
}

FDEN_EXPORT size_t fden_dataset_dim(const struct fden_dataset *ds)
{
	return ds ? ds->dim : 0;
}

FDEN_EXPORT const float *fden_dataset_data(const struct fden_dataset *ds)
{
	return ds ? ds->x : NULL;
}

FDEN_EXPORT const int32_t *fden_dataset_labels(const struct fden_dataset *ds)
{
	return ds ? ds->labels : NULL;
}

/* Join rows read from x_path with labels read from labels_path. */
static int ds_join(struct fd_array *x, struct fd_array *y, const char *x_path,
		   const char *labels_path, struct fden_dataset **out)
{
	if (y->i32 && y->rows != x->rows) {
		fd_free(NULL, x->f32);
		fd_free(NULL, y->i32);
		return fd_err_set(NULL, FDEN_E_SHAPE, "%s has %zu labels but %s has %zu items",
				  labels_path, y->rows, x_path, x->rows);
	}
	return ds_wrap(x->f32, y->i32, x->rows, x->cols, out);
}

FDEN_EXPORT int fden_dataset_load_idx(const char *images_path, const char *labels_path,
				      double scale, struct fden_dataset **out)
{
	struct fd_array x, y;
	int st;

	if (!images_path || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_dataset_load_idx: path or out is NULL");
	memset(&y, 0, sizeof y);
	st = fd_idx_read(images_path, FD_ARRAY_FLOAT, scale, NULL, NULL, &x);
	if (st)
		return st;
	if (labels_path) {
		st = fd_idx_read(labels_path, FD_ARRAY_LABELS, 1.0, NULL, NULL, &y);
		if (st) {
			fd_array_free(&x, NULL);
			return st;
		}
	}
	return ds_join(&x, &y, images_path, labels_path, out);
}

FDEN_EXPORT int fden_dataset_load_npy(const char *x_path, const char *labels_path,
				      struct fden_dataset **out)
{
	struct fd_array x, y;
	void *map = NULL;
	size_t map_len = 0;
	int st;

	if (!x_path || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_dataset_load_npy: path or out is NULL");
	memset(&y, 0, sizeof y);
	/* float32 rows stay in the file's pages (mapped, never copied): a
	 * 2.4 GB set costs its size in page cache, not twice that in memory */
	st = fd_npy_map(x_path, NULL, NULL, &x, &map, &map_len);
	if (st)
		return st;
	if (labels_path) {
		size_t ll = strlen(labels_path);

		/* labels beside .npy rows: a .npy, or an IDX label file (the data
		 * set's own labels next to latents encoded from its images) */
		if (ll >= 4 && !strcmp(labels_path + ll - 4, ".npy"))
			st = fd_npy_read(labels_path, FD_ARRAY_LABELS, NULL, NULL, &y);
		else
			st = fd_idx_read(labels_path, FD_ARRAY_LABELS, 1.0, NULL, NULL, &y);
		if (st) {
			if (map)
				munmap(map, map_len);
			else
				fd_array_free(&x, NULL);
			return st;
		}
	}
	if (!map)
		return ds_join(&x, &y, x_path, labels_path, out);
	/* ds_join / ds_wrap free x on failure: hand them no x, then attach it */
	{
		float *xv = x.f32;

		x.f32 = NULL;
		x.view = 0;
		st = ds_join(&x, &y, x_path, labels_path, out);
		if (st) {
			munmap(map, map_len);
			return st;
		}
		(*out)->x = xv;
		(*out)->map = map;
		(*out)->map_len = map_len;
	}
	return FDEN_OK;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* A new data set of the rows where keep(label) holds. */
static int ds_filter(const struct fden_dataset *ds, const int32_t *sorted, size_t ns,
		     int32_t below, int mode, const char *what, struct fden_dataset **out)
{
	size_t i, k = 0;
	float *x;
	int32_t *l;

	/* mode 0: label in sorted[0..ns); 1: label < below; 2: label >= below */
#define KEEP(lab) (mode == 0   ? bsearch(&(lab), sorted, ns, sizeof *sorted, cmp_i32) != NULL \
		   : mode == 1 ? (lab) < below \
			       : (lab) >= below)
	for (i = 0; i < ds->n; i++)
		k += KEEP(ds->labels[i]);
	if (k == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: no rows have those classes", what);
	x = fd_malloc(NULL, k * ds->dim * sizeof *x);
	l = fd_malloc(NULL, k * sizeof *l);
	if (!x || !l) {
		fd_free(NULL, x);
		fd_free(NULL, l);
		return fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory", what);
	}
	for (i = 0, k = 0; i < ds->n; i++)
		if (KEEP(ds->labels[i])) {
			memcpy(x + k * ds->dim, ds->x + i * ds->dim, ds->dim * sizeof *x);
			l[k++] = ds->labels[i];
		}
#undef KEEP
	return ds_wrap(x, l, k, ds->dim, out);
}

FDEN_EXPORT int fden_dataset_select(const struct fden_dataset *ds, const int32_t *classes,
				    size_t n_classes, struct fden_dataset **out)
{
	int32_t *sorted;
	int st;

	if (!ds || !classes || !out || n_classes == 0)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_dataset_select: NULL argument or no classes");
	sorted = fd_malloc(NULL, n_classes * sizeof *sorted);
	if (!sorted)
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_dataset_select: out of memory");
	memcpy(sorted, classes, n_classes * sizeof *sorted);
	qsort(sorted, n_classes, sizeof *sorted, cmp_i32);
	st = ds_filter(ds, sorted, n_classes, 0, 0, "fden_dataset_select", out);
	fd_free(NULL, sorted);
	return st;
}

FDEN_EXPORT int fden_dataset_split(const struct fden_dataset *ds, int32_t first_test,
				   struct fden_dataset **train, struct fden_dataset **test)
{
	struct fden_dataset *a, *b;
	int st;

	if (!ds || !train || !test)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_dataset_split: NULL argument");
	st = ds_filter(ds, NULL, 0, first_test, 1, "fden_dataset_split (train part)", &a);
	if (st)
		return st;
	st = ds_filter(ds, NULL, 0, first_test, 2, "fden_dataset_split (test part)", &b);
	if (st) {
		fden_dataset_free(a);
		return st;
	}
	*train = a;
	*test = b;
	return FDEN_OK;
}
