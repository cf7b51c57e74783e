/* The test rows of an evaluation, each representation made on demand
 * (evrows.h). The moments are sums over the rows in their order, as a
 * whole-set copy would give them, without the copy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evrows.h"

/* Rows b of at most EVR_CHUNK from i on, of m. */
static size_t chunk(size_t i, size_t m)
{
	return m - i < EVR_CHUNK ? m - i : EVR_CHUNK;
}

/* Sums over the n contiguous rows z of z (sz, dim), of f_ide (si, di) and,
 * when err2 is not NULL, of ||E(D(z)) - z||^2 (added to *err2). */
static int row_sums(const struct evrows *F, const float *z, size_t n, double *sz, double *si,
		    double *err2)
{
	size_t dim = F->dim, di = F->di;
	for (size_t i = 0; i < n; i += EVR_CHUNK) {
		size_t b = chunk(i, n);
		const float *zc = z + i * dim;
		int rc = fden_disentangle(F->model, zc, b, F->ci, err2 ? F->cs : NULL);
		if (!rc && err2)
			rc = fden_entangle(F->model, F->ci, F->cs, b, F->cr);
		if (rc)
			return rc;
		for (size_t r = 0; r < b; r++) {
			for (size_t j = 0; j < dim; j++)
				sz[j] += zc[r * dim + j];
			for (size_t j = 0; j < di; j++)
				si[j] += F->ci[r * di + j];
		}
		for (size_t k = 0; err2 && k < b * dim; k++) {
			double t = (double)F->cr[k] - zc[k];
			*err2 += t * t;
		}
	}
	return FDEN_OK;
}

/* Sum over the test rows of (z - mean)^2, per column (var, dim). */
static void col_squares(const struct evrows *F, const double *mean, double *var)
{
	for (size_t i = 0; i < F->n; i++)
		for (size_t j = 0; j < F->dim; j++) {
			double t = F->z[i * F->dim + j] - mean[j];
			var[j] += t * t;
		}
}

int evr_open(struct evrows *F, const struct fden_model *model, const struct fden_dataset *test_z)
{
	memset(F, 0, sizeof *F);
	F->model = model;
	F->n = fden_dataset_size(test_z);
	F->dim = fden_dataset_dim(test_z);
	F->z = fden_dataset_data(test_z);
	F->y = fden_dataset_labels(test_z);
	F->di = fden_model_ide_dim(model);
	F->ds = fden_model_sty_dim(model);
	size_t n = F->n, dim = F->dim, di = F->di;
	F->mean = malloc((3 * dim + di) * sizeof *F->mean);
	F->cz = malloc(EVR_CHUNK * dim * sizeof *F->cz);
	F->ci = malloc(EVR_CHUNK * di * sizeof *F->ci);
	F->cs = malloc(EVR_CHUNK * F->ds * sizeof *F->cs);
	F->cr = malloc(EVR_CHUNK * dim * sizeof *F->cr);
	double *s = calloc(2 * dim + di, sizeof *s), err2 = 0, den = 0;
	int rc = FDEN_E_NOMEM;
	if (!F->mean || !F->cz || !F->ci || !F->cs || !F->cr || !s)
		goto out;
	F->sd = F->mean + dim;
	F->mean_z = F->sd + dim;
	F->mean_ide = F->mean_z + dim;
	double *mean = s, *si = s + dim, *var = si + di;
	if ((rc = row_sums(F, F->z, n, mean, si, &err2)))
		goto out;
	for (size_t j = 0; j < dim; j++)
		mean[j] /= (double)n;
	col_squares(F, mean, var);
	for (size_t j = 0; j < dim; j++) {
		F->mean[j] = F->mean_z[j] = (float)mean[j];
		F->sd[j] = (float)fmax(sqrt(var[j] / (double)(n - 1)), 1e-6);
		den += var[j];
	}
	for (size_t j = 0; j < di; j++)
		F->mean_ide[j] = (float)(si[j] / (double)n);
	F->z_rel_err = den > 0 ? sqrt(err2 / den) : NAN;
out:
	free(s);
	return rc;
}

int evr_centres(struct evrows *F, const struct fden_dataset *train_z)
{
	size_t n = fden_dataset_size(train_z), dim = F->dim, di = F->di;
	double *s = calloc(dim + di, sizeof *s);
	if (!s)
		return FDEN_E_NOMEM;
	int rc = row_sums(F, fden_dataset_data(train_z), n, s, s + dim, NULL);
	for (size_t j = 0; !rc && j < dim; j++)
		F->mean_z[j] = (float)(s[j] / (double)n);
	for (size_t j = 0; !rc && j < di; j++)
		F->mean_ide[j] = (float)(s[dim + j] / (double)n);
	free(s);
	return rc;
}

void evr_close(struct evrows *F)
{
	free(F->mean);
	free(F->cz);
	free(F->ci);
	free(F->cs);
	free(F->cr);
	memset(F, 0, sizeof *F);
}

void evr_z(const struct evrows *F, const size_t *idx, size_t m, float *out)
{
	for (size_t i = 0; i < m; i++)
		memcpy(out + i * F->dim, F->z + idx[i] * F->dim, F->dim * sizeof *out);
}

void evr_zstd(const struct evrows *F, const size_t *idx, size_t m, float *out)
{
	evr_z(F, idx, m, out);
	for (size_t k = 0; k < m * F->dim; k++) {
		size_t j = k % F->dim;
		out[k] = (out[k] - F->mean[j]) / F->sd[j]; /* (z - mean) / sd */
	}
}

int evr_factors(const struct evrows *F, const size_t *idx, size_t m, float *ide, float *sty)
{
	for (size_t i = 0; i < m; i += EVR_CHUNK) {
		size_t b = chunk(i, m);
		evr_z(F, idx + i, b, F->cz);
		int rc = fden_disentangle(F->model, F->cz, b, ide ? ide + i * F->di : NULL,
					  sty ? sty + i * F->ds : NULL);
		if (rc)
			return rc;
	}
	return FDEN_OK;
}

int evr_recon(const struct evrows *F, const size_t *idx, size_t m, float *out)
{
	for (size_t i = 0; i < m; i += EVR_CHUNK) {
		size_t b = chunk(i, m);
		evr_z(F, idx + i, b, F->cz);
		int rc = fden_disentangle(F->model, F->cz, b, F->ci, F->cs);
		if (!rc)
			rc = fden_entangle(F->model, F->ci, F->cs, b, out + i * F->dim);
		if (rc)
			return rc;
	}
	return FDEN_OK;
}
