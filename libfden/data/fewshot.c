/* Few-shot evaluation: C-way K-shot episodes drawn by the sampler (so the
 * same seed and labels give the same episodes whatever the features), each
 * row transformed (none, or SimpleShot: centre, then L2-normalise), each
 * query assigned to the nearest support mean:
 *   argmin_c ||q - p_c||^2 = argmin_c (||p_c||^2 - 2 q.p_c),
 * the products q.p_c in one fd_gemm per episode. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/sampler.h"
#include "kernels/gemm.h"

FDEN_EXPORT void fden_fewshot_options_default(struct fden_fewshot_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof *opt);
	opt->struct_size = sizeof *opt;
	opt->episodes = 1000;
	opt->ways = 5;
	opt->shots = 1;
	opt->queries = 15;
	opt->seed = 1;
	opt->transform = FDEN_FEWSHOT_NONE;
}

/* Row x (dim floats) transformed into out. */
static void transform_row(const float *x, size_t dim, const struct fden_fewshot_options *o,
			  float *out)
{
	double ss = 0;

	if (o->transform != FDEN_FEWSHOT_SIMPLESHOT) {
		memcpy(out, x, dim * sizeof *out);
		return;
	}
	for (size_t j = 0; j < dim; j++) {
		double v = (double)x[j] - (o->center ? (double)o->center[j] : 0.0);
		out[j] = (float)v;
		ss += v * v;
	}
	if (ss > 0) {
		double s = 1.0 / sqrt(ss); /* x / ||x|| */
		for (size_t j = 0; j < dim; j++)
			out[j] = (float)(out[j] * s);
	}
}

static int check_args(const float *x, const int32_t *labels, size_t n, size_t dim,
		      const struct fden_fewshot_options *o, struct fden_fewshot_result *r)
{
	size_t per, rows;

	if (!x || !labels || !r)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_fewshot_eval: %s is NULL",
				  !x ? "x" : !labels ? "labels"
						     : "result");
	if (o->struct_size < sizeof *o)
		return fd_err_set(NULL, FDEN_E_VERSION,
				  "fden_fewshot_eval: opt->struct_size %zu, expected %zu (use "
				  "fden_fewshot_options_default)",
				  o->struct_size, sizeof *o);
	if (!n || !dim)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_fewshot_eval: n (%zu) and dim (%zu) "
							"must be >= 1",
				  n, dim);
	if (o->ways < 2 || !o->shots || !o->queries || !o->episodes)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_fewshot_eval: need ways >= 2 (%zu), shots >= 1 (%zu), "
				  "queries >= 1 (%zu), episodes >= 1 (%zu)",
				  o->ways, o->shots,
				  o->queries, o->episodes);
	if (o->transform != FDEN_FEWSHOT_NONE && o->transform != FDEN_FEWSHOT_SIMPLESHOT)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_fewshot_eval: unknown transform %d",
				  o->transform);
	if (o->label_map && !o->n_label_map)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_fewshot_eval: label_map given with n_label_map 0");
	if (n > UINT32_MAX)
		return fd_err_set(NULL, FDEN_E_UNSUPPORTED,
				  "fden_fewshot_eval: %zu rows (at most 2^32-1 supported)", n);
	if (o->shots > SIZE_MAX - o->queries || fd_mul_overflow(o->ways, o->shots + o->queries, &per) ||
	    fd_mul_overflow(per, dim, &rows) || fd_mul_overflow(n, dim, &rows) ||
	    fd_mul_overflow(o->episodes, per, &rows) || rows > SIZE_MAX / sizeof(size_t) ||
	    per > INT32_MAX || dim > INT32_MAX)
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_fewshot_eval: sizes overflow");
	for (size_t i = 0; i < n * dim; i++)
		if (!isfinite(x[i]))
			return fd_err_set(NULL, FDEN_E_NONFINITE,
					  "fden_fewshot_eval: x[%zu][%zu] = %g is not finite", i / dim,
					  i % dim, (double)x[i]);
	for (size_t j = 0; o->center && j < dim; j++)
		if (!isfinite(o->center[j]))
			return fd_err_set(NULL, FDEN_E_NONFINITE,
					  "fden_fewshot_eval: center[%zu] = %g is not finite", j,
					  (double)o->center[j]);
	return FDEN_OK;
}

/* One episode: its rows (indices into x) -> the fraction of queries
 * classified right. feat: per x dim, proto: ways x dim, score: nq x ways
 * floats; norm: ways doubles. */
static double episode(const float *x, size_t dim, const struct fden_fewshot_options *o,
		      const size_t *rows, float *feat, float *proto, float *score, double *norm)
{
	size_t W = o->ways, K = o->shots, nq = W * o->queries, right = 0;
	const float *q = feat + W * K * dim;

	for (size_t t = 0; t < W * (K + o->queries); t++)
		transform_row(x + rows[t] * dim, dim, o, feat + t * dim);
	for (size_t c = 0; c < W; c++) { /* p_c = mean of class c's support rows */
		double pn = 0;
		for (size_t j = 0; j < dim; j++) {
			double s = 0;
			for (size_t k = 0; k < K; k++)
				s += feat[(c * K + k) * dim + j];
			proto[c * dim + j] = (float)(s / (double)K);
			pn += (double)proto[c * dim + j] * proto[c * dim + j];
		}
		norm[c] = pn;
	}
	/* score = Q P^T */
	fd_gemm(0, 1, (int)nq, (int)W, (int)dim, 1.0f, q, (int)dim, proto, (int)dim, 0.0f, score,
		(int)W, 1);
	for (size_t i = 0; i < nq; i++) {
		size_t best = 0;
		double bd = norm[0] - 2.0 * score[i * W];
		for (size_t c = 1; c < W; c++) {
			double d = norm[c] - 2.0 * score[i * W + c];
			if (d < bd) {
				bd = d;
				best = c;
			}
		}
		right += best == i / o->queries; /* query i is of class i / queries */
	}
	return (double)right / (double)nq;
}

FDEN_EXPORT int fden_fewshot_eval(const float *x, const int32_t *labels, size_t n, size_t dim,
				  const struct fden_fewshot_options *opt,
				  struct fden_fewshot_result *result)
{
	struct fden_fewshot_options def;
	const struct fden_fewshot_options *o = opt;
	struct fden_dataset view = { 0 };
	struct fden_sampler *smp = NULL;
	int32_t *lab = NULL;
	size_t *idx = NULL, *rows = NULL, m = 0, per;
	float *feat = NULL, *proto = NULL, *score = NULL;
	double *norm = NULL, *acc = NULL, sum = 0, sq = 0;
	int st;

	if (!o) {
		fden_fewshot_options_default(&def);
		o = &def;
	}
	if ((st = check_args(x, labels, n, dim, o, result)))
		return st;
	per = o->ways * (o->shots + o->queries);
	/* the rows taking part, with their classes (the label mapping) */
	if (o->label_map) {
		lab = fd_malloc(NULL, n * sizeof *lab);
		idx = fd_malloc(NULL, n * sizeof *idx);
		if (!lab || !idx)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			int32_t y = labels[i];
			if (y < 0 || (size_t)y >= o->n_label_map || o->label_map[y] < 0)
				continue;
			lab[m] = o->label_map[y];
			idx[m++] = i;
		}
		if (!m) {
			st = fd_err_set(NULL, FDEN_E_INVALID,
					"fden_fewshot_eval: the label mapping leaves no rows");
			goto out;
		}
	}
	view.n = o->label_map ? m : n;
	view.dim = dim;
	view.labels = o->label_map ? lab : (int32_t *)labels; /* read only */
	if ((st = fden_sampler_new(&view, o->ways, o->shots, o->queries, o->seed, &smp))) {
		/* name this call, keep the sampler's detail */
		char why[256];
		snprintf(why, sizeof why, "%s", fden_last_error());
		st = fd_err_set(NULL, st, "fden_fewshot_eval: %s", why);
		goto out;
	}
	rows = fd_malloc(NULL, per * sizeof *rows);
	feat = fd_malloc(NULL, per * dim * sizeof *feat);
	proto = fd_malloc(NULL, o->ways * dim * sizeof *proto);
	score = fd_malloc(NULL, o->ways * o->queries * o->ways * sizeof *score);
	norm = fd_malloc(NULL, o->ways * sizeof *norm);
	acc = o->episode_accuracy ? o->episode_accuracy
				  : fd_malloc(NULL, o->episodes * sizeof *acc);
	if (!rows || !feat || !proto || !score || !norm || !acc)
		goto nomem;
	for (size_t e = 0; e < o->episodes; e++) {
		fd_sampler_draw_rows(smp, rows, NULL);
		for (size_t t = 0; idx && t < per; t++)
			rows[t] = idx[rows[t]]; /* back to the caller's row numbers */
		if (o->episode_rows)
			memcpy(o->episode_rows + e * per, rows, per * sizeof *rows);
		acc[e] = episode(x, dim, o, rows, feat, proto, score, norm);
		sum += acc[e];
	}
	result->mean = sum / (double)o->episodes;
	for (size_t e = 0; e < o->episodes; e++) {
		double d = acc[e] - result->mean;
		sq += d * d;
	}
	/* 1.96 * sample std / sqrt(episodes) */
	result->ci95 = o->episodes > 1
			       ? 1.96 * sqrt(sq / (double)(o->episodes - 1)) / sqrt((double)o->episodes)
			       : 0.0;
	result->episodes = o->episodes;
	result->classes = fd_sampler_classes(smp);
	st = FDEN_OK;
	goto out;
nomem:
	st = fd_err_set(NULL, FDEN_E_NOMEM, "fden_fewshot_eval: out of memory");
out:
	fden_sampler_free(smp);
	fd_free(NULL, lab);
	fd_free(NULL, idx);
	fd_free(NULL, rows);
	fd_free(NULL, feat);
	fd_free(NULL, proto);
	fd_free(NULL, score);
	fd_free(NULL, norm);
	if (acc != o->episode_accuracy)
		fd_free(NULL, acc);
	return st;
}
