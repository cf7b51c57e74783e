/* Evaluation mode: D, E, the statistician's estimate, the alignment head
 * and few-shot prediction. Rows go through in chunks of FD_CHUNK with a
 * workspace from the model's pool, so the serial steady state allocates
 * nothing and the bits never depend on which thread ran a chunk. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/align.h"
#include "fden/mine.h"
#include "fden/model_int.h"
#include "kernels/vec.h"

static int check_finite(const float *x, size_t n, const char *fn, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return fd_err_set(NULL, FDEN_E_NONFINITE, "%s: %s[%zu] = %g is not finite",
					  fn, what, i, (double)x[i]);
	return FDEN_OK;
}

int fd_model_disentangle(const struct fden_model *m, const float *z, size_t n,
			 float *f_ide, float *f_sty)
{
	const int D = m->dim;
	int slot;
	float *ws, *zs, *h, *mw;

	fd_ema_ready(m); /* the weight average, when there is one */
	ws = fd_ws_take(m, &slot);

	if (!ws)
		return fd_err_set(NULL, FDEN_E_NOMEM, "disentangle: workspace of %zu floats",
				  m->slot_floats);
	zs = ws;
	h = zs + (size_t)FD_CHUNK * D;
	mw = h + (size_t)FD_CHUNK * 2 * D;
	for (size_t r0 = 0; r0 < n; r0 += FD_CHUNK) {
		int c = (int)(n - r0 < FD_CHUNK ? n - r0 : FD_CHUNK);
		const float *x = z + r0 * D;
		if (m->has_std) { /* zs = (z - mean) / std */
			for (int i = 0; i < c; i++)
				for (int d = 0; d < D; d++)
					zs[(size_t)i * D + d] = (x[(size_t)i * D + d] - m->std_mean[d]) / m->std_std[d];
			x = zs;
		}
		if (m->flow) { /* F = flow(zs); f_ide = F[:, :di], f_sty = F[:, di:] */
			fd_flow_infer(m->flow, x, c, h, mw);
			fd_cols_split(f_ide ? f_ide + r0 * m->di : NULL, f_sty ? f_sty + r0 * m->ds : NULL,
				      h, (size_t)c, m->di, m->ds);
			continue;
		}
		fd_mlp_infer(m->net[FD_NET_D_DEC], x, c, h, mw);
		if (f_ide)
			fd_mlp_infer(m->net[FD_NET_D_IDE], h, c, f_ide + r0 * D, mw);
		if (f_sty)
			fd_mlp_infer(m->net[FD_NET_D_STY], h, c, f_sty + r0 * D, mw);
	}
	fd_ws_give(m, ws, slot);
	return FDEN_OK;
}

int fd_model_entangle(const struct fden_model *m, const float *f_ide, const float *f_sty,
		      size_t n, float *z_out)
{
	const int D = m->dim;
	int slot;
	float *ws, *A, *B, *cat, *mw;

	fd_ema_ready(m);
	ws = fd_ws_take(m, &slot);

	if (!ws)
		return fd_err_set(NULL, FDEN_E_NOMEM, "entangle: workspace of %zu floats",
				  m->slot_floats);
	A = ws;
	B = A + (size_t)FD_CHUNK * D;
	cat = B + (size_t)FD_CHUNK * D;
	mw = cat + (size_t)FD_CHUNK * 2 * D;
	for (size_t r0 = 0; r0 < n; r0 += FD_CHUNK) {
		int c = (int)(n - r0 < FD_CHUNK ? n - r0 : FD_CHUNK);
		float *zo = z_out + r0 * D;
		if (m->flow) { /* z = flow^-1(f_ide ++ f_sty), exact */
			fd_cols_join(cat, f_ide + r0 * m->di, f_sty + r0 * m->ds, (size_t)c, m->di, m->ds);
			fd_flow_inverse(m->flow, cat, c, zo, mw);
			goto unstd;
		}
		fd_mlp_infer(m->net[FD_NET_E_IDE], f_ide + r0 * D, c, A, mw);
		fd_mlp_infer(m->net[FD_NET_E_STY], f_sty + r0 * D, c, B, mw);
		fd_cols_join(cat, A, B, (size_t)c, D, D); /* cat = E_ide(f_ide) ++ E_sty(f_sty) */
		fd_mlp_infer(m->net[FD_NET_E_ENC], cat, c, zo, mw);
unstd:
		if (m->has_std) /* z = zs * std + mean */
			for (int i = 0; i < c; i++)
				for (int d = 0; d < D; d++)
					zo[(size_t)i * D + d] = zo[(size_t)i * D + d] * m->std_std[d] + m->std_mean[d];
	}
	fd_ws_give(m, ws, slot);
	return FDEN_OK;
}

FDEN_EXPORT int fden_disentangle(const struct fden_model *model, const float *z, size_t n,
				 float *f_ide, float *f_sty)
{
	int rc;

	if (!model || !z)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_disentangle: %s is NULL",
				  !model ? "model" : "z");
	if (n == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_disentangle: n is 0");
	if (n > SIZE_MAX / sizeof(float) / (size_t)model->dim)
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_disentangle: n = %zu rows overflow", n);
	if (!f_ide && !f_sty)
		return FDEN_OK;
	rc = check_finite(z, n * model->dim, "fden_disentangle", "z");
	if (rc)
		return rc;
	return fd_model_disentangle(model, z, n, f_ide, f_sty);
}

FDEN_EXPORT int fden_entangle(const struct fden_model *model, const float *f_ide,
			      const float *f_sty, size_t n, float *z_out)
{
	int rc;

	if (!model || !f_ide || !f_sty || !z_out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_entangle: %s is NULL",
				  !model ? "model" : !f_ide ? "f_ide"
					     : !f_sty       ? "f_sty"
							    : "z_out");
	if (n == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_entangle: n is 0");
	if (n > SIZE_MAX / sizeof(float) / (size_t)model->dim)
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_entangle: n = %zu rows overflow", n);
	rc = check_finite(f_ide, n * model->di, "fden_entangle", "f_ide");
	if (!rc)
		rc = check_finite(f_sty, n * model->ds, "fden_entangle", "f_sty");
	if (rc)
		return rc;
	return fd_model_entangle(model, f_ide, f_sty, n, z_out);
}

FDEN_EXPORT int fden_disentangler_run(const struct fden_disentangler *d, const float *z, size_t n,
				      float *f_ide, float *f_sty)
{
	if (!d)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_disentangler_run: d is NULL");
	return fden_disentangle(d->m, z, n, f_ide, f_sty);
}

FDEN_EXPORT int fden_entangler_run(const struct fden_entangler *e, const float *f_ide,
				   const float *f_sty, size_t n, float *z_out)
{
	if (!e)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_entangler_run: e is NULL");
	return fden_entangle(e->m, f_ide, f_sty, n, z_out);
}

#define MINE_CHUNK 1024

FDEN_EXPORT int fden_factorizer_mine(const struct fden_factorizer *f, const float *f_ide,
				     const float *f_sty, size_t n, uint64_t seed, double *estimate)
{
	const struct fden_model *m;
	struct fd_rng rng;
	float *tin = NULL, *t = NULL, *mw = NULL;
	int32_t *perm = NULL;
	size_t D;
	int rc = FDEN_OK;

	if (!f || !f_ide || !f_sty || !estimate)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_factorizer_mine: %s is NULL",
				  !f ? "f" : !f_ide ? "f_ide"
				     : !f_sty       ? "f_sty"
						    : "estimate");
	m = f->m;
	D = (size_t)m->dim;
	if (n < 2 || n > (size_t)INT32_MAX / 2 || n > SIZE_MAX / sizeof(float) / (4 * D))
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_factorizer_mine: n = %zu rows, expected 2..%d", n, INT32_MAX / 2);
	/* the statistician's input rows are built MINE_CHUNK at a time: memory
	 * follows the chunk, not n (only its 2n outputs are kept) */
	const size_t DI = (size_t)m->di, DS = (size_t)m->ds, W = DI + DS;
	tin = fd_malloc(m->a, MINE_CHUNK * W * sizeof *tin);
	t = fd_malloc(m->a, 2 * n * sizeof *t);
	perm = fd_malloc(m->a, n * sizeof *perm);
	mw = fd_malloc(m->a, fd_mlp_infer_ws(m->net[FD_NET_STAT], MINE_CHUNK) * sizeof *mw);
	if (!tin || !t || !perm || !mw) {
		rc = fd_err_set(NULL, FDEN_E_NOMEM, "fden_factorizer_mine: buffers for %zu rows", n);
		goto out;
	}
	fd_rng_seed(&rng, seed);
	fd_rng_perm(&rng, perm, (int)n);
	for (size_t r0 = 0; r0 < 2 * n; r0 += MINE_CHUNK) {
		size_t b = 2 * n - r0 < MINE_CHUNK ? 2 * n - r0 : MINE_CHUNK;
		for (size_t k = 0; k < b; k++) { /* joint rows f_ide ++ f_sty, then marginal rows f_ide ++ f_sty[perm] */
			size_t i = r0 + k < n ? r0 + k : r0 + k - n;
			size_t j = r0 + k < n ? i : (size_t)perm[i];
			memcpy(tin + k * W, f_ide + i * DI, DI * sizeof *tin);
			memcpy(tin + k * W + DI, f_sty + j * DS, DS * sizeof *tin);
		}
		fd_mlp_infer(m->net[FD_NET_STAT], tin, (int)b, t + r0, mw);
	}
	*estimate = fd_mine_dv(t, t + n, (int)n, NULL);
	if (!isfinite(*estimate))
		rc = fd_err_set(NULL, FDEN_E_NONFINITE, "fden_factorizer_mine: estimate is not finite");
out:
	fd_free(m->a, tin);
	fd_free(m->a, t);
	fd_free(m->a, perm);
	fd_free(m->a, mw);
	return rc;
}

static int check_support(const int32_t *ys, size_t ns, size_t ways, const char *fn)
{
	size_t seen = 0;
	int32_t cnt[4096];

	if (ways < 1 || ways > 4096)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: ways = %zu, expected 1..4096", fn, ways);
	memset(cnt, 0, ways * sizeof *cnt);
	for (size_t i = 0; i < ns; i++) {
		if (ys[i] < 0 || (size_t)ys[i] >= ways)
			return fd_err_set(NULL, FDEN_E_INVALID,
					  "%s: support_labels[%zu] = %d outside [0, %zu)", fn, i,
					  (int)ys[i], ways);
		if (!cnt[ys[i]]++)
			seen++;
	}
	if (seen != ways)
		for (size_t k = 0; k < ways; k++)
			if (!cnt[k])
				return fd_err_set(NULL, FDEN_E_INVALID,
						  "%s: class %zu has no support row", fn, k);
	return FDEN_OK;
}

/* log-probabilities (nq x ways) of the alignment head on identity factors */
static int align_logp(const struct fden_model *m, const float *S, const int32_t *ys, int ns,
		      int C, const float *Q, int nq, float *logp)
{
	const int D = m->di; /* identity-factor width */
	int head = fd_cfg_int(&m->cfg, FDEN_P_ALIGN_HEAD), rc = FDEN_OK;
	float *ws = NULL, *pairs = NULL, *r = NULL, *mw = NULL;
	int qc = 1;

	ws = fd_malloc(m->a, fd_align_ws(ns, nq, C, D) * sizeof *ws);
	if (!ws)
		return fd_err_set(NULL, FDEN_E_NOMEM, "align: workspace");
	if (head == FDEN_ALIGN_PROTOTYPICAL && fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM)) {
		fd_align_proto_norm(S, ys, ns, Q, NULL, nq, C, D, fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM),
				    m->tau.w[0], logp, 0, NULL, NULL, NULL, ws);
	} else if (head == FDEN_ALIGN_PROTOTYPICAL) {
		fd_align_proto(S, ys, ns, Q, NULL, nq, C, D, logp, 0, NULL, NULL, ws);
	} else if (head == FDEN_ALIGN_MATCHING) {
		fd_align_matching(S, ys, ns, Q, NULL, nq, C, D, logp, 0, NULL, NULL, ws);
	} else {
		/* queries in blocks of ~4096 pairs, each block's pairs through the relation MLP */
		qc = 4096 / ns > 0 ? 4096 / ns : 1;
		if (qc > nq)
			qc = nq;
		pairs = fd_malloc(m->a, (size_t)qc * ns * 2 * D * sizeof *pairs);
		r = fd_malloc(m->a, (size_t)qc * ns * sizeof *r);
		mw = fd_malloc(m->a, fd_mlp_infer_ws(m->net[FD_NET_REL], qc * ns) * sizeof *mw);
		if (!pairs || !r || !mw) {
			rc = fd_err_set(NULL, FDEN_E_NOMEM, "align: relation buffers for %d pairs", qc * ns);
			goto out;
		}
		for (int q0 = 0; q0 < nq; q0 += qc) {
			int c = nq - q0 < qc ? nq - q0 : qc;
			fd_align_relation_pairs(S, ns, Q + (size_t)q0 * D, c, D, pairs);
			fd_mlp_infer(m->net[FD_NET_REL], pairs, c * ns, r, mw);
			fd_align_relation_loss(r, ys, ns, NULL, c, C, logp + (size_t)q0 * C, 0, NULL, ws);
		}
	}
out:
	fd_free(m->a, ws);
	fd_free(m->a, pairs);
	fd_free(m->a, r);
	fd_free(m->a, mw);
	return rc;
}

static int check_sizes(const struct fden_model *m, size_t n_support, size_t n_query,
		       size_t ways, const char *fn)
{
	if (n_support == 0 || n_query == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: n_%s is 0", fn,
				  n_support ? "query" : "support");
	if (n_support > INT32_MAX / 2 || n_query > INT32_MAX / 2 ||
	    n_query > SIZE_MAX / sizeof(float) / (ways + (size_t)m->dim))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: %zu support, %zu query rows are too many",
				  fn, n_support, n_query);
	return FDEN_OK;
}

FDEN_EXPORT int fden_factorizer_align(const struct fden_factorizer *f, const float *support_ide,
				      const int32_t *support_labels, size_t n_support, size_t ways,
				      const float *query_ide, size_t n_query, float *prob)
{
	const char *fn = "fden_factorizer_align";
	int rc;

	if (!f || !support_ide || !support_labels || !query_ide || !prob)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn,
				  !f ? "f" : !support_ide ? "support_ide"
				     : !support_labels    ? "support_labels"
				     : !query_ide         ? "query_ide"
							  : "prob");
	rc = check_support(support_labels, n_support, ways, fn);
	if (!rc)
		rc = check_sizes(f->m, n_support, n_query, ways, fn);
	if (rc)
		return rc;
	rc = align_logp(f->m, support_ide, support_labels, (int)n_support, (int)ways, query_ide,
			(int)n_query, prob);
	if (rc)
		return rc;
	for (size_t i = 0; i < n_query * ways; i++)
		prob[i] = expf(prob[i]);
	return FDEN_OK;
}

FDEN_EXPORT int fden_predict(const struct fden_model *model, const float *support_z,
			     const int32_t *support_labels, size_t n_support, size_t ways,
			     const float *query_z, size_t n_query, int32_t *pred, float *prob)
{
	const char *fn = "fden_predict";
	float *S = NULL, *Q = NULL, *lp = NULL;
	size_t D;
	int rc;

	if (!model || !support_z || !support_labels || !query_z || !pred)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn,
				  !model ? "model" : !support_z ? "support_z"
					     : !support_labels  ? "support_labels"
					     : !query_z         ? "query_z"
								: "pred");
	rc = check_support(support_labels, n_support, ways, fn);
	if (!rc)
		rc = check_sizes(model, n_support, n_query, ways, fn);
	if (!rc)
		rc = check_finite(support_z, n_support * model->dim, fn, "support_z");
	if (!rc)
		rc = check_finite(query_z, n_query * model->dim, fn, "query_z");
	if (rc)
		return rc;
	D = (size_t)model->di;
	S = fd_malloc(model->a, n_support * D * sizeof *S);
	Q = fd_malloc(model->a, n_query * D * sizeof *Q);
	lp = prob ? prob : fd_malloc(model->a, n_query * ways * sizeof *lp);
	if (!S || !Q || !lp) {
		rc = fd_err_set(NULL, FDEN_E_NOMEM, "%s: buffers for %zu + %zu rows", fn, n_support,
				n_query);
		goto out;
	}
	rc = fd_model_disentangle(model, support_z, n_support, S, NULL);
	if (!rc)
		rc = fd_model_disentangle(model, query_z, n_query, Q, NULL);
	if (!rc)
		rc = align_logp(model, S, support_labels, (int)n_support, (int)ways, Q, (int)n_query, lp);
	if (rc)
		goto out;
	for (size_t q = 0; q < n_query; q++)
		pred[q] = fd_argmax(lp + q * ways, (int)ways);
	if (prob)
		for (size_t i = 0; i < n_query * ways; i++)
			prob[i] = expf(prob[i]);
out:
	fd_free(model->a, S);
	fd_free(model->a, Q);
	if (lp != prob)
		fd_free(model->a, lp);
	return rc;
}
