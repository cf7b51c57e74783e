/* One FDEN optimisation step on a batch of episodes.
 *
 * All rows of all episodes go through each sub-network at once (one product
 * per layer, batch statistics over the whole batch). Losses:
 *   L_R = (1/N) sum_rows ||zs - z~||^2   (sum over dims, mean over rows, in
 *         standardised space)
 *   L_C = mean over all queries of -log P(y | q, support of its episode)
 *   L_M = mean T(joint) - log mean exp T(marginal), marginal = f_ide with
 *         the rows of f_sty permuted by the model's rng
 *   L   = a L_R + b L_C - g L_M
 * Gradients: E and the relation head get dL/dparams (= g_u); T gets
 * d(-g L_M)/dxi (it ascends L_M); a GRL in front of T (identity forward,
 * times -lambda backward) gives D g_m = +lambda g dL_M/dtheta, which D
 * descends. D's g_u and g_m come from two backward passes through D and
 * are combined per tensor by adaptive clipping (clip.c).
 * With FDEN_DIS_FLOW, D is an invertible flow whose output columns split
 * into f_ide and f_sty, E is its exact inverse, and L_R = 0 by construction.
 * Optional independence terms (indep.c, hsic.c) join g_u: x L_X
 * (cross-correlation), h L_H (HSIC) and v L_A (style-uniformity adversary
 * on f_sty, per episode); with the flow, n L_N (the density of zs under a
 * standard normal on its output). The style classifier (stycls.c, w > 0)
 * descends its cross entropy L_S on f_sty's global classes; D gets
 * -w dL_S/d f_sty in g_u (a gradient reversal), so L gains -w L_S.
 * A step whose loss or gradients are not finite changes nothing: Adam,
 * the step count and the MINE average are only touched after the check,
 * and the rng state and BN running statistics are restored.
 *
 * compute() runs the step as its stages, in this order: the input
 * (stage_input), D and E (stage_flow, or stage_d_forward and
 * stage_e_forward), the statistician (stage_statistician), E's backward
 * (stage_e_backward), the alignment head (stage_alignment), the
 * independence terms (stage_independence), the style classifier
 * (stage_style_classifier), D's clipped backward (stage_d_backward) and,
 * when wanted, dL/dz (stage_input_grad). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/align.h"
#include "fden/clip.h"
#include "fden/between.h"
#include "fden/hsic.h"
#include "fden/indep.h"
#include "fden/mine.h"
#include "fden/model_int.h"
#include "kernels/vec.h"
#include "nn/adam.h"

void fd_train_ws_free(struct fden_model *m)
{
	fd_free(m->a, m->tw.zs); /* the one block; every other pointer is inside it */
	memset(&m->tw, 0, sizeof m->tw);
}

/* The shape of one batch and the sizes of the buffers it needs. */
struct shape {
	size_t rows; /* N, all episodes' rows */
	size_t episodes;
	size_t ep_rows;    /* rows of one episode: ways (shots + queries) */
	size_t support;    /* support rows of one episode (first in it) */
	size_t queries;    /* query rows of one episode (after the support) */
	size_t ways;       /* classes of one episode */
	size_t pairs;      /* relation head: support x query pairs of all episodes, else 0 */
	size_t logp_n;     /* floats of query_logp */
	size_t align_ws_n; /* floats of the head's workspace */
	size_t indep_ws_n; /* floats of the independence terms' workspace */
};

#define FD_TWO_ROWS 256 /* an MLP D's two passes as one up to here: see stage_d_backward */

/* rows of dfi_u and dfs_u for up to cap rows a step: room for dfi_m (dfs_m)
 * after them when the two D passes run as one (the flow, or cap <=
 * FD_TWO_ROWS) */
static size_t df_rows(const struct fden_model *m, size_t cap)
{
	size_t two = m->flow ? 2 * cap : 2 * (cap < FD_TWO_ROWS ? cap : FD_TWO_ROWS);

	return two > cap ? two : cap;
}

static size_t nfloats(struct fden_model *m, const struct shape *s)
{
	size_t D = (size_t)m->dim, N = s->rows;
	/* zs z_target zrec_grad: 3 N D; dz_u dz_m: 2 N D; dfi_u (dfi_m), dfs_u
	 * (dfs_m): 2 df_rows D; the ent_cat region: 4 N D; stat_dy 2N;
	 * stat_perm N; pairs: 4 D + 1 per pair; flow: flow_fi flow_fs N D
	 * each, flow_dout 2 N D */
	return (m->flow ? 13 : 9) * N * D + 2 * df_rows(m, N) * D + 3 * N + s->logp_n +
	       s->align_ws_n + s->indep_ws_n + s->pairs * (4 * D + 1) + m->tw.gu_saved_n +
	       m->tw.bn_saved_n + 2 * (size_t)fd_model_d_nparams(m) + 37 * 16;
}

/* floats of gu_saved and bn_saved (fixed by the nets) */
static void size_saves(struct fden_model *m)
{
	struct fd_train_ws *t = &m->tw;

	/* a tensor's g_u and g_m at a time */
	if (m->flow)
		t->gu_saved_n = 2 * fd_flow_hook_ws(m->flow);
	for (int k = FD_NET_D_DEC; k <= FD_NET_D_STY && !m->flow; k++)
		if (2 * fd_mlp_hook_ws(m->net[k]) > t->gu_saved_n)
			t->gu_saved_n = 2 * fd_mlp_hook_ws(m->net[k]);
	for (int k = 0; k < FD_NNETS; k++)
		if (m->net[k])
			for (int i = 0; i < fd_mlp_nbuffers(m->net[k]); i++)
				t->bn_saved_n += fd_mlp_buffer(m->net[k], i)->n;
}

/* Carve the block blk into the buffers of shape g. */
static void place_buffers(struct fden_model *m, float *blk, const struct shape *g)
{
	struct fd_train_ws *t = &m->tw;
	size_t D = (size_t)m->dim, N = g->rows, off = 0;

#define TAKE(p, n) \
	do { \
		t->p = (void *)(blk + off); \
		off += ((n) + 15) / 16 * 16; \
	} while (0)
	TAKE(zs, N * D);
	TAKE(z_target, N * D);
	TAKE(zrec_grad, N * D);
	TAKE(dz_u, 2 * N * D); /* dz_m placed per step, in begin_step */
	TAKE(dfi_u, df_rows(m, N) * D);
	TAKE(dfs_u, df_rows(m, N) * D);
	/* ent_cat (its gradient overwrites it: E_enc's dX, read before), then
	 * stat_dx; dec_dh takes the whole region after both are dead */
	TAKE(ent_cat, 4 * N * D);
	t->stat_dx = t->ent_cat + 2 * N * D;
	t->dec_dh = t->ent_cat;
	TAKE(stat_dy, 2 * N);
	TAKE(stat_perm, N);
	TAKE(query_logp, g->logp_n);
	TAKE(align_ws, g->align_ws_n);
	TAKE(rel_pairs, g->pairs * 2 * D);
	TAKE(rel_dpairs, g->pairs * 2 * D);
	TAKE(rel_dscore, g->pairs);
	if (m->flow) {
		TAKE(flow_fi, N * D);
		TAKE(flow_fs, N * D);
		TAKE(flow_dout, 2 * N * D);
	}
	TAKE(indep_ws, g->indep_ws_n);
	TAKE(gu_saved, t->gu_saved_n);
	TAKE(bn_saved, t->bn_saved_n);
	TAKE(gu_sq, 2 * (size_t)fd_model_d_nparams(m)); /* doubles */
#undef TAKE
}

/* Make the block hold shape s (allocates only when it grows), then the
 * flow's and the nets' workspaces. */
static int reserve(struct fden_model *m, const struct shape *s)
{
	struct fd_train_ws *t = &m->tw;
	struct shape g = *s;
	size_t total;
	float *blk;

	if (t->zs && s->rows <= t->cap_rows && s->pairs <= t->cap_pairs &&
	    s->logp_n <= t->cap_logp && s->align_ws_n <= t->cap_align_ws &&
	    s->indep_ws_n <= t->cap_indep_ws)
		goto nets;
	if (t->zs) { /* grow: keep the larger of old and new */
		g.rows = g.rows > t->cap_rows ? g.rows : t->cap_rows;
		g.pairs = g.pairs > t->cap_pairs ? g.pairs : t->cap_pairs;
		g.logp_n = g.logp_n > t->cap_logp ? g.logp_n : t->cap_logp;
		g.align_ws_n = g.align_ws_n > t->cap_align_ws ? g.align_ws_n : t->cap_align_ws;
		g.indep_ws_n = g.indep_ws_n > t->cap_indep_ws ? g.indep_ws_n : t->cap_indep_ws;
	}
	if (!t->gu_saved_n)
		size_saves(m);
	total = nfloats(m, &g);
	blk = fd_malloc(m->a, total * sizeof(float));
	if (!blk)
		return fd_err_set(&m->err, FDEN_E_NOMEM,
				  "fden_train_step: training workspace of %zu floats", total);
	{
		size_t gs = t->gu_saved_n, bs = t->bn_saved_n;
		fd_train_ws_free(m);
		t->gu_saved_n = gs;
		t->bn_saved_n = bs;
	}
	place_buffers(m, blk, &g);
	t->cap_rows = g.rows;
	t->cap_pairs = g.pairs;
	t->cap_logp = g.logp_n;
	t->cap_align_ws = g.align_ws_n;
	t->cap_indep_ws = g.indep_ws_n;
nets:
	if (m->flow) {
		int rc = fd_flow_reserve(m->flow, (int)s->rows, &m->err);
		if (rc)
			return rc;
	}
	{
		int rows[FD_NNETS], two[FD_NNETS];
		for (int k = 0; k < FD_NNETS; k++) { /* the statistician sees 2N rows */
			rows[k] = k == FD_NET_STAT ? (int)(2 * s->rows) : k == FD_NET_REL ? (int)s->pairs
											  : (int)s->rows;
			/* g_u and g_m at once: 2N-row panels */
			two[k] = k <= FD_NET_D_STY && !m->flow;
		}
		/* the nets run one after another: one pair of scratch panels for all */
		return fd_mlp_reserve_group(m->net, rows, two, FD_NNETS, &m->err);
	}
}

/* Every episode holds each of its classes shots times in its support and
 * queries times after it. */
static int check_labels(struct fden_model *m, const struct fden_episodes *ep,
			const struct shape *s)
{
	for (size_t e = 0; e < s->episodes; e++) {
		const int32_t *y = ep->labels + e * s->ep_rows;
		int32_t cnt[2][4096];
		memset(cnt[0], 0, s->ways * sizeof cnt[0][0]);
		memset(cnt[1], 0, s->ways * sizeof cnt[1][0]);
		for (size_t i = 0; i < s->ep_rows; i++) {
			int part = i >= s->support;
			if (y[i] < 0 || (size_t)y[i] >= s->ways)
				return fd_err_set(&m->err, FDEN_E_INVALID,
						  "fden_train_step: labels[%zu] = %d outside [0, %zu)",
						  e * s->ep_rows + i, (int)y[i], s->ways);
			cnt[part][y[i]]++;
		}
		for (size_t k = 0; k < s->ways; k++)
			if ((size_t)cnt[0][k] != ep->shots || (size_t)cnt[1][k] != ep->queries)
				return fd_err_set(&m->err, FDEN_E_SHAPE,
						  "fden_train_step: episode %zu class %zu has %d support and %d query rows, expected %zu and %zu",
						  e, k, (int)cnt[0][k], (int)cnt[1][k], ep->shots, ep->queries);
	}
	return FDEN_OK;
}

/* With the style classifier: every episode class has a global class in
 * [0, FDEN_P_STY_CLS_CLASSES). */
static int check_classes(struct fden_model *m, const struct fden_episodes *ep,
			 const struct shape *s)
{
	if (!m->stycls.np)
		return FDEN_OK;
	if (ep->struct_size < offsetof(struct fden_episodes, classes) + sizeof ep->classes ||
	    !ep->classes)
		return fd_err_set(&m->err, FDEN_E_INVALID,
				  "fden_train_step: sty_cls > 0 needs episodes->classes (the global classes)");
	for (size_t i = 0; i < s->episodes * s->ways; i++)
		if (ep->classes[i] < 0 || ep->classes[i] >= m->stycls.k)
			return fd_err_set(&m->err, FDEN_E_INVALID,
					  "fden_train_step: classes[%zu] = %d outside [0, %d) (sty_cls_classes)",
					  i, (int)ep->classes[i], m->stycls.k);
	return FDEN_OK;
}

/* Every z (and log-sigma) finite. */
static int check_finite(struct fden_model *m, const struct fden_episodes *ep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(ep->z[i]))
			return fd_err_set(&m->err, FDEN_E_NONFINITE, "fden_train_step: z[%zu] = %g is not finite",
					  i, (double)ep->z[i]);
		if (ep->z_log_sigma && !isfinite(ep->z_log_sigma[i]))
			return fd_err_set(&m->err, FDEN_E_NONFINITE,
					  "fden_train_step: z_log_sigma[%zu] = %g is not finite", i,
					  (double)ep->z_log_sigma[i]);
	}
	return FDEN_OK;
}

/* The batch's shape and buffer sizes from ep, or an error if ep is not a
 * batch of well-formed episodes. */
static int check_episodes(struct fden_model *m, const struct fden_episodes *ep, struct shape *s)
{
	size_t R, N;

	if (ep->struct_size < offsetof(struct fden_episodes, labels) + sizeof ep->labels)
		return fd_err_set(&m->err, FDEN_E_INVALID,
				  "fden_train_step: episodes->struct_size %zu, expected >= %zu",
				  ep->struct_size, offsetof(struct fden_episodes, labels) + sizeof ep->labels);
	if (!ep->z || !ep->labels)
		return fd_err_set(&m->err, FDEN_E_INVALID, "fden_train_step: episodes->%s is NULL",
				  !ep->z ? "z" : "labels");
	if (ep->n_episodes < 1 || ep->ways < 1 || ep->shots < 1 || ep->queries < 1)
		return fd_err_set(&m->err, FDEN_E_INVALID,
				  "fden_train_step: episodes %zu, ways %zu, shots %zu, queries %zu: each must be >= 1",
				  ep->n_episodes, ep->ways, ep->shots, ep->queries);
	if (ep->n_episodes < 2 && ep->ways * (ep->shots + ep->queries) < 2)
		return fd_err_set(&m->err, FDEN_E_INVALID, "fden_train_step: need at least 2 rows");
	if (ep->ways > 4096 || ep->shots > 65536 || ep->queries > 65536 || ep->n_episodes > 1u << 20)
		return fd_err_set(&m->err, FDEN_E_OVERFLOW,
				  "fden_train_step: episode shape %zu x %zu-way (%zu + %zu) too large",
				  ep->n_episodes, ep->ways, ep->shots, ep->queries);
	R = ep->ways * (ep->shots + ep->queries);
	N = R * ep->n_episodes;
	if (N > (1u << 24))
		return fd_err_set(&m->err, FDEN_E_OVERFLOW, "fden_train_step: %zu rows is too many", N);
	s->episodes = ep->n_episodes;
	s->ep_rows = R;
	s->rows = N;
	s->ways = ep->ways;
	s->support = ep->ways * ep->shots;
	s->queries = ep->ways * ep->queries;
	s->pairs = fd_cfg_int(&m->cfg, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_RELATION ? s->episodes * s->queries * s->support : 0;
	if (s->pairs > (1u << 26))
		return fd_err_set(&m->err, FDEN_E_OVERFLOW, "fden_train_step: %zu relation pairs is too many",
				  s->pairs);
	s->logp_n = s->episodes * s->queries * s->ways;
	s->align_ws_n = fd_align_ws((int)s->support, (int)s->queries, (int)s->ways, m->dim);
	s->indep_ws_n = fd_xcorr_ws((int)N, m->di, m->ds);
	{
		size_t u = fd_sty_adv_ws((int)N, (int)s->support, (int)s->queries, (int)s->ways,
					 m->ds);
		if (u > s->indep_ws_n)
			s->indep_ws_n = u;
		if (m->cfg.v[FDEN_P_HSIC] > 0 && (u = fd_hsic_ws((int)N, m->di, m->ds)) > s->indep_ws_n)
			s->indep_ws_n = u;
		if (m->cfg.v[FDEN_P_STY_BETWEEN] > 0 &&
		    (u = fd_sty_between_ws((int)s->ways, m->ds)) > s->indep_ws_n)
			s->indep_ws_n = u;
		/* the style classifier: the rows' global classes (N int32), its workspace */
		if (m->stycls.np &&
		    (u = (N + 15) / 16 * 16 + fd_stycls_ws(&m->stycls, (int)N)) > s->indep_ws_n)
			s->indep_ws_n = u;
	}
	{
		int rc = check_labels(m, ep, s);
		if (!rc)
			rc = check_classes(m, ep, s);
		return rc ? rc : check_finite(m, ep, N * (size_t)m->dim);
	}
}

/* Save (save 1) or restore the BN running statistics of every net. */
static void bn_copy(struct fden_model *m, int save)
{
	size_t off = 0;

	for (int k = 0; k < FD_NNETS; k++) {
		if (!m->net[k])
			continue;
		for (int i = 0; i < fd_mlp_nbuffers(m->net[k]); i++) {
			struct fd_buffer *b = fd_mlp_buffer(m->net[k], i);
			if (save)
				memcpy(m->tw.bn_saved + off, b->x, b->n * sizeof *b->x);
			else
				memcpy(b->x, m->tw.bn_saved + off, b->n * sizeof *b->x);
			off += b->n;
		}
	}
}

/* ||g||^2 over a net's tensors (fd_vec_sumsq_fast): not finite iff a
 * gradient element is not, so it doubles as the step's finiteness check. */
static double net_gnorm2(struct fd_mlp *n)
{
	double s = 0;

	if (!n)
		return 0;
	for (int i = 0; i < fd_mlp_nparams(n); i++) {
		struct fd_param *p = fd_mlp_param(n, i);
		s += fd_vec_sumsq_fast(p->g, p->n);
	}
	return s;
}

/* A backward hook (fd_mlp_bwd.hook, no tmp) adding ||g||^2 of each tensor
 * into *ctx as soon as its gradient is complete, while it is in cache. */
static void sq_hook(void *ctx, struct fd_param *p, float *g, float *g2)
{
	double *sum = ctx;

	*sum += fd_vec_sumsq_fast(g, p->n);
}

/* n's gradients set by a backward of dY (rows ldy apart) into dX (+= with
 * add_dx); returns their ||g||^2 (see net_gnorm2) */
static double backward_sq(struct fd_mlp *n, const float *dY, int ldy, float *dX, int add_dx)
{
	double sum = 0.0;

	fd_mlp_backward(n, dY, dX, &(struct fd_mlp_bwd){ .ldy = ldy, .set = 1, .add_dx = add_dx, .hook = sq_hook, .ctx = &sum });
	return sum;
}

/* What one step carries from stage to stage. */
struct step {
	struct fden_model *m;
	const struct fden_episodes *ep;
	struct shape s;
	const float *fi, *fs; /* D's outputs f_ide (N x di), f_sty (N x ds) */
	int two;              /* MLP D's two backward passes run as one */
	double l_r_sum;       /* sum over rows of ||zs - z~||^2 */
	double ce;            /* sum over queries of -log P(y | q) */
	double l_m;           /* the MINE bound */
	double log_denom;     /* log of its denominator (the moving average with MINE_MA) */
	double l_x, l_a, l_n; /* the independence terms: xcorr, style adversary, density */
	double l_h;           /* HSIC of f_ide and f_sty */
	double l_b;           /* between-class share of f_sty */
	double l_s, s_acc;    /* the style classifier's cross entropy and accuracy */
	float dlogdet;        /* dL/dlog|det| of the flow */
	size_t correct;       /* queries classified right */
	double clip_sum;      /* sum over D's tensors of the clipping scale */
	double gn2[FD_NNETS]; /* ||g||^2 per net; all of D's in [FD_NET_D_DEC] */
};

/* Zero what accumulates, and place g_m's buffers of D: its own rows after
 * g_u's (both passes at once), or g_u's again once that pass is done. */
static void begin_step(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	size_t N = st->s.rows;

	/* D, E and T gradients are set by their backward passes (run once
	 * each, D's twice); the others accumulate from zero */
	for (int k = 0; k < FD_NNETS; k++)
		if (m->net[k] && (k == FD_NET_REL || (m->flow && k <= FD_NET_D_STY)))
			fd_mlp_zero_grad(m->net[k]);
	m->tau.g[0] = 0.0f;
	st->two = m->flow || N <= FD_TWO_ROWS;
	t->dz_m = t->dz_u + N * m->dim;
	t->dfi_m = st->two ? t->dfi_u + N * m->di : t->dfi_u;
	t->dfs_m = st->two ? t->dfs_u + N * m->ds : t->dfs_u;
}

/* Input: x = mu (+ s exp(logsig) eps); zs = (x - mean) / std; L_R's
 * target (mu - mean) / std. Returns the target. */
static const float *stage_input(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct fden_episodes *ep = st->ep;
	int stoch = fd_cfg_int(&m->cfg, FDEN_P_STOCHASTIC) && ep->z_log_sigma;
	float ss = fd_cfg_f(&m->cfg, FDEN_P_STOCHASTIC_SCALE);
	const int D = m->dim;

	for (size_t i = 0; i < st->s.rows; i++)
		for (int d = 0; d < D; d++) {
			size_t j = i * D + d;
			float mu = ep->z[j], x = mu, mn = 0, sd = 1;
			if (stoch)
				x = mu + ss * expf(ep->z_log_sigma[j]) * fd_rng_normal(&m->rng);
			if (m->has_std) {
				mn = m->std_mean[d];
				sd = m->std_std[d];
			}
			t->zs[j] = (x - mn) / sd;
			if (stoch)
				t->z_target[j] = (mu - mn) / sd;
		}
	return stoch ? t->z_target : t->zs; /* x = mu: the same values */
}

/* D and E as the flow: F = flow(zs), f_ide = F[:, :di], f_sty = F[:, di:];
 * E is its inverse, so L_R = 0 and dL/dz~ = 0. */
static void stage_flow(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	size_t N = st->s.rows;
	const float *F = fd_flow_forward(m->flow, t->zs, (int)N);

	fd_cols_split(t->flow_fi, t->flow_fs, F, N, m->di, m->ds);
	st->fi = t->flow_fi;
	st->fs = t->flow_fs;
	memset(t->zrec_grad, 0, N * m->dim * sizeof *t->zrec_grad);
}

/* D as MLPs: h = D_dec(zs); f_ide = D_ide(h); f_sty = D_sty(h). */
static void stage_d_forward(struct step *st)
{
	struct fden_model *m = st->m;
	int N = (int)st->s.rows;
	const float *h = fd_mlp_forward(m->net[FD_NET_D_DEC], m->tw.zs, N, &m->rng, NULL);

	st->fi = fd_mlp_forward(m->net[FD_NET_D_IDE], h, N, &m->rng, NULL);
	st->fs = fd_mlp_forward(m->net[FD_NET_D_STY], h, N, &m->rng, NULL);
}

/* E forward: z~ = E_enc(E_ide(f_ide) ++ E_sty(f_sty)); L_R = (1/N) sum
 * ||zs - z~||^2 against target; dz~ = a 2 (z~ - zs) / N. */
static void stage_e_forward(struct step *st, const float *target)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const size_t N = st->s.rows, D = (size_t)m->dim;
	double alpha = m->cfg.v[FDEN_P_ALPHA];
	const float *zt;

	fd_mlp_forward(m->net[FD_NET_E_IDE], st->fi, (int)N, &m->rng,
		       &(struct fd_mlp_fwd){ .y = t->ent_cat, .ldy = 2 * (int)D });
	fd_mlp_forward(m->net[FD_NET_E_STY], st->fs, (int)N, &m->rng,
		       &(struct fd_mlp_fwd){ .y = t->ent_cat + D, .ldy = 2 * (int)D });
	/* z~ lands in zrec_grad, which its gradient overwrites element by element */
	zt = fd_mlp_forward(m->net[FD_NET_E_ENC], t->ent_cat, (int)N, &m->rng,
			    &(struct fd_mlp_fwd){ .y = t->zrec_grad, .ldy = (int)D });
	for (size_t j = 0; j < N * D; j++) {
		double e = (double)zt[j] - target[j];
		st->l_r_sum += e * e;
		t->zrec_grad[j] = (float)(alpha * 2.0 * e / (double)N);
	}
}

/* E backward: dz~ through E_enc, then its input gradient's two column
 * blocks (read in place, rows 2D apart) through E_ide and E_sty, which SET
 * g_u's d f_ide and d f_sty. */
static void stage_e_backward(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	int D = m->dim;

	st->gn2[FD_NET_E_ENC] = backward_sq(m->net[FD_NET_E_ENC], t->zrec_grad, D, t->ent_cat, 0);
	st->gn2[FD_NET_E_IDE] = backward_sq(m->net[FD_NET_E_IDE], t->ent_cat, 2 * D, t->dfi_u, 0);
	st->gn2[FD_NET_E_STY] = backward_sq(m->net[FD_NET_E_STY], t->ent_cat + D, 2 * D,
					    t->dfs_u, 0);
}

/* The statistician T on the 2N rows [f_ide ++ f_sty ; f_ide ++
 * f_sty[perm]], never built (its first product is split into f_ide and
 * f_sty parts): L_M, then T's gradients of -g L_M and its input gradients
 * (summed over the joint and shuffled rows) into stat_dx. */
static void stage_statistician(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct fden_config *c = &m->cfg;
	int N = (int)st->s.rows;
	const float *T;
	double lme;

	fd_rng_perm(&m->rng, t->stat_perm, N);
	T = fd_mlp_forward(m->net[FD_NET_STAT], st->fi, N, &m->rng,
			   &(struct fd_mlp_fwd){ .pair_b = st->fs, .pair_ia = m->di, .pair_perm = t->stat_perm });
	st->l_m = fd_mine_dv(T, T + N, N, &lme);
	st->log_denom = lme;
	if (fd_cfg_int(c, FDEN_P_MINE_MA))
		st->log_denom = fd_mine_ma_update(m->mine_log_ma, m->mine_have_ma,
						  c->v[FDEN_P_MINE_MA_RATE], lme);
	/* T descends -g L_M: dT = -g dL_M/dT */
	fd_mine_grad(T + N, N, st->log_denom, (float)-c->v[FDEN_P_GAMMA], t->stat_dy,
		     t->stat_dy + N);
	fd_mlp_backward(m->net[FD_NET_STAT], t->stat_dy, t->stat_dx,
			&(struct fd_mlp_bwd){ .set = 1, .dx2 = t->stat_dx + (size_t)N * m->di, .hook = sq_hook, .ctx = &st->gn2[FD_NET_STAT] });
}

/* The relation head's scores r(q ++ s) of every (query, support) pair of
 * every episode. */
static const float *relation_forward(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct shape *s = &st->s;
	int DI = m->di;

	for (size_t e = 0; e < s->episodes; e++) {
		const float *S = st->fi + e * s->ep_rows * DI;
		fd_align_relation_pairs(S, (int)s->support, S + s->support * DI, (int)s->queries, DI,
					t->rel_pairs + e * s->queries * s->support * 2 * DI);
	}
	return fd_mlp_forward(m->net[FD_NET_REL], t->rel_pairs, (int)s->pairs, &m->rng, NULL);
}

/* The relation head's backward: rel_dscore through it, its pair gradients
 * added back into the support and query rows of d f_ide. */
static void relation_backward(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct shape *s = &st->s;
	int DI = m->di;

	fd_mlp_backward(m->net[FD_NET_REL], t->rel_dscore, t->rel_dpairs, NULL);
	for (size_t e = 0; e < s->episodes; e++) {
		float *dS = t->dfi_u + e * s->ep_rows * DI;
		fd_align_relation_scatter(t->rel_dpairs + e * s->queries * s->support * 2 * DI,
					  (int)s->support, (int)s->queries, DI, dS, dS + s->support * DI);
	}
}

/* Alignment L_C of episode e's queries against its support, with the head
 * of the config (r: the relation scores); its gradient, scaled by sc, added
 * into d f_ide. Returns the episode's summed cross entropy. */
static double align_episode(struct step *st, size_t e, const float *r, float sc)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct shape *s = &st->s;
	int DI = m->di, ns = (int)s->support, nq = (int)s->queries, C = (int)s->ways;
	int head = fd_cfg_int(&m->cfg, FDEN_P_ALIGN_HEAD);
	int anorm = head == FDEN_ALIGN_PROTOTYPICAL ? fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM) : 0;
	const float *S = st->fi + e * s->ep_rows * DI, *Q = S + s->support * DI;
	const int32_t *ys = st->ep->labels + e * s->ep_rows, *yq = ys + s->support;
	float *dS = t->dfi_u + e * s->ep_rows * DI, *dQ = dS + s->support * DI;
	float *lp = t->query_logp + e * s->queries * s->ways;
	double ce;

	if (anorm) /* normalised rows, learned temperature (align.c) */
		ce = fd_align_proto_norm(S, ys, ns, Q, yq, nq, C, DI, anorm, m->tau.w[0], lp, sc, dS,
					 dQ, m->tau.g, t->align_ws);
	else if (head == FDEN_ALIGN_PROTOTYPICAL)
		ce = fd_align_proto(S, ys, ns, Q, yq, nq, C, DI, lp, sc, dS, dQ, t->align_ws);
	else if (head == FDEN_ALIGN_MATCHING)
		ce = fd_align_matching(S, ys, ns, Q, yq, nq, C, DI, lp, sc, dS, dQ, t->align_ws);
	else
		ce = fd_align_relation_loss(r + e * s->queries * s->support, ys, ns, yq, nq, C, lp,
					    sc, t->rel_dscore + e * s->queries * s->support,
					    t->align_ws);
	for (int q = 0; q < nq; q++)
		st->correct += fd_argmax(lp + (size_t)q * C, C) == yq[q];
	return ce;
}

/* Alignment: L_C, the mean over all queries; gradient b / queries into
 * d f_ide. */
static void stage_alignment(struct step *st)
{
	const struct fden_config *c = &st->m->cfg;
	int relation = fd_cfg_int(c, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_RELATION;
	float sc = (float)(c->v[FDEN_P_BETA] / (double)(st->s.episodes * st->s.queries));
	const float *r = relation ? relation_forward(st) : NULL;

	for (size_t e = 0; e < st->s.episodes; e++)
		st->ce += align_episode(st, e, r, sc);
	if (relation)
		relation_backward(st);
}

/* Independence terms, part of g_u: x L_X (cross-correlation), h L_H
 * (HSIC), v L_A (style adversary), and with the flow n L_N, L_N =
 * (1/(N D)) sum_rows (||F||^2 / 2 - log|det|): dF += n F / (N D),
 * dL/dlogdet = -n / (N D). */
static void stage_independence(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct fden_config *c = &m->cfg;
	const struct shape *s = &st->s;
	const int D = m->dim, DI = m->di, DS = m->ds;
	size_t N = s->rows;
	double xw = c->v[FDEN_P_XCORR], aw = c->v[FDEN_P_STY_ADV], hw = c->v[FDEN_P_HSIC];
	double nw = m->flow ? c->v[FDEN_P_FLOW_NLL] : 0, bw = c->v[FDEN_P_STY_BETWEEN];

	if (bw > 0)
		st->l_b = fd_sty_between(st->fs, DS, st->ep->labels, (int)s->episodes,
					 (int)s->ep_rows, (int)s->ways, (float)bw, t->dfs_u,
					 t->indep_ws);
	if (xw > 0)
		st->l_x = fd_xcorr(st->fi, DI, st->fs, DS, (int)N, (float)xw, t->dfi_u, t->dfs_u,
				   t->indep_ws, fd_cfg_int(c, FDEN_P_THREADS));
	if (hw > 0)
		st->l_h = fd_hsic(st->fi, DI, st->fs, DS, (int)N, (float)hw, t->dfi_u, t->dfs_u,
				  t->indep_ws, fd_cfg_int(c, FDEN_P_THREADS));
	if (aw > 0)
		st->l_a = fd_sty_adv(st->fs, (int)N, DS, st->ep->labels, (int)s->episodes,
				     (int)s->ep_rows, (int)s->support, (int)s->queries, (int)s->ways,
				     (float)aw, t->dfs_u, t->indep_ws);
	if (nw > 0) {
		double k = 1.0 / ((double)N * D);
		double sq = fd_vec_sumsq(st->fi, N * DI) + fd_vec_sumsq(st->fs, N * DS);
		float g = (float)(nw * k);
		fd_vec_axpy(t->dfi_u, g, st->fi, N * DI);
		fd_vec_axpy(t->dfs_u, g, st->fs, N * DS);
		st->l_n = k * (0.5 * sq - fd_flow_logdet(m->flow));
		st->dlogdet = -g;
	}
}

/* The style classifier (FDEN_P_STY_CLS = w > 0) on f_sty: each row's
 * global class (ep->classes of its episode class), its gradients set to
 * dL_S/dparams, and -w dL_S/d f_sty (reversed) into g_u's dfs_u. Its
 * ||g||^2 counts with the statistician's, the other adversary. */
static void stage_style_classifier(struct step *st)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const struct shape *s = &st->s;
	size_t N = s->rows;
	int32_t *y = (int32_t *)t->indep_ws;

	if (!m->stycls.np)
		return;
	for (size_t i = 0; i < N; i++)
		y[i] = st->ep->classes[i / s->ep_rows * s->ways + st->ep->labels[i]];
	st->l_s = fd_stycls_loss(&m->stycls, st->fs, (int)N, y, -fd_cfg_f(&m->cfg, FDEN_P_STY_CLS),
				 t->dfs_u, &st->s_acc, t->indep_ws + (N + 15) / 16 * 16,
				 fd_cfg_int(&m->cfg, FDEN_P_THREADS));
	for (int i = 0; i < m->stycls.np; i++)
		st->gn2[FD_NET_STAT] += fd_vec_sumsq_fast(m->stycls.p[i].g, m->stycls.p[i].n);
}

/* GRL: D's MINE gradient g_m = -lambda * d(-g L_M)/df, from T's input
 * gradients (stat_dx), into dfi_m and dfs_m. */
static void grl(struct fden_model *m, size_t N)
{
	struct fd_train_ws *t = &m->tw;
	double lambda = m->cfg.v[FDEN_P_GRL];
	size_t ni = N * (size_t)m->di;

	for (size_t j = 0; j < ni; j++)
		t->dfi_m[j] = (float)(-lambda * t->stat_dx[j]);
	for (size_t j = 0; j < N * (size_t)m->ds; j++)
		t->dfs_m[j] = (float)(-lambda * t->stat_dx[ni + j]);
}

/* D's clipped gradient g = g_u + min(|g_u|, |g_m|) g_m / |g_m| (clip.c),
 * made per tensor; what the clipping hooks accumulate. */
struct clip_ctx {
	struct fden_model *m;
	int clip;    /* FDEN_P_CLIP */
	double fsum; /* sum of the tensors' clipping scales */
	double sq;   /* ||g||^2 of the result (the finiteness check) */
};

/* index of D's tensor p among fd_model_d_param's */
static int d_index(struct fden_model *m, const struct fd_param *p)
{
	int i = 0;

	while (fd_model_d_param(m, i) != p)
		i++;
	return i;
}

/* hook of g_u's pass (ctx: the model): ||g_u||^2 of the tensor into gu_sq */
static void gu_hook(void *ctx, struct fd_param *p, float *g, float *g2)
{
	struct fden_model *m = ctx;

	m->tw.gu_sq[d_index(m, p)] = fd_vec_sumsq_fast(g, p->n);
}

/* hook of g_m's pass after g_u's (ctx: a clip_ctx): p->g (g_u) becomes the
 * clipped sum with gm */
static void clip1_hook(void *ctx, struct fd_param *p, float *gm, float *g2)
{
	struct clip_ctx *c = ctx;
	double sq;

	c->fsum += fd_clip_combine(p->g, c->m->tw.gu_sq[d_index(c->m, p)], gm, p->g, p->n,
				   c->clip, &sq);
	c->sq += sq;
}

/* hook of both passes at once (ctx: a clip_ctx): p->g = the clipped sum of
 * gu and gm */
static void clip2_hook(void *ctx, struct fd_param *p, float *gu, float *gm)
{
	struct clip_ctx *c = ctx;
	double sq;

	c->fsum += fd_clip_combine(gu, -1.0, gm, p->g, p->n, c->clip, &sq); /* ||g_u|| there */
	c->sq += sq;
}

/* One pass of (dfi, dfs) back through D's MLPs into dz (NULL: not wanted):
 * D_ide and D_sty into dec_dh (summed), then D_dec. Each tensor's gradient
 * is set in p->g (tmp NULL) or in tmp, and handed to fn. */
static void d_mlp_backward(struct fden_model *m, const float *dfi, const float *dfs, float *dz,
			   float *tmp, fd_mlp_hook_fn fn, void *ctx)
{
	struct fd_train_ws *t = &m->tw;
	struct fd_mlp_bwd o = { .ldy = m->di, .set = 1, .tmp = tmp, .hook = fn, .ctx = ctx };

	fd_mlp_backward(m->net[FD_NET_D_IDE], dfi, t->dec_dh, &o);
	o.ldy = m->ds;
	o.add_dx = 1; /* dec_dh += */
	fd_mlp_backward(m->net[FD_NET_D_STY], dfs, t->dec_dh, &o);
	o.ldy = 0;
	o.add_dx = 0;
	fd_mlp_backward(m->net[FD_NET_D_DEC], t->dec_dh, dz, &o);
}

/* Both passes through D's MLPs as one of 2N rows: dfi_u, dfs_u hold [g_u
 * rows; g_m rows], dz (NULL: not wanted) gets 2N x D, dz_u then dz_m; each
 * tensor's g_u and g_m arrive together in gu_saved and are clipped there.
 * -1, nothing done, when the nets' panels cannot take 2N rows (they always
 * can after reserve). */
static int d_mlp_backward_two(struct fden_model *m, float *dz, struct clip_ctx *c)
{
	struct fd_train_ws *t = &m->tw;
	struct fd_mlp_bwd o = { .ldy = m->di, .set = 1, .two = 1, .tmp = t->gu_saved, .hook = clip2_hook, .ctx = c };

	if (fd_mlp_backward(m->net[FD_NET_D_IDE], t->dfi_u, t->dec_dh, &o))
		return -1; /* the panels are shared: the next two would refuse too */
	o.ldy = m->ds;
	o.add_dx = 1; /* dec_dh += */
	fd_mlp_backward(m->net[FD_NET_D_STY], t->dfs_u, t->dec_dh, &o);
	o.ldy = 0;
	o.add_dx = 0;
	fd_mlp_backward(m->net[FD_NET_D_DEC], t->dec_dh, dz, &o);
	return 0;
}

/* The flow's two passes as one backward of 2N rows: dfi_u, dfs_u hold
 * [g_u rows; g_m rows], joined into the flow's output gradient; dL/dlogdet
 * joins g_u; each tensor's g_u and g_m arrive together in gu_saved and are
 * clipped there. */
static void d_flow_backward(struct step *st, int want_dz, struct clip_ctx *cc)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;

	fd_cols_join(t->flow_dout, t->dfi_u, t->dfs_u, 2 * st->s.rows, m->di, m->ds);
	/* cannot refuse: reserve made its panels, the forward ran */
	(void)fd_flow_backward_two(m->flow, t->flow_dout, want_dz ? t->dz_u : NULL, st->dlogdet,
				   t->gu_saved, clip2_hook, cc);
}

/* D's backward: g_u from (d f_ide, d f_sty), g_m from the GRL, combined
 * per tensor by the clipping while both are in cache, ||g||^2 of the
 * result (the finiteness check) on the way. The flow, and an MLP D of up
 * to FD_TWO_ROWS rows, run both passes as one backward of 2N rows (one
 * element-wise sweep and one input-gradient product of 2N rows instead of
 * two of N; g_u is never stored whole); a larger MLP D runs them one after
 * the other (g_u into p->g with its ||g_u||^2, then g_m through scratch),
 * which needs no 2N-row buffers: the rows of one pass fill the products.
 * want_dz: dz_u and dz_m get the passes' input gradients. */
static void stage_d_backward(struct step *st, int want_dz)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	struct clip_ctx cc = { m, fd_cfg_int(&m->cfg, FDEN_P_CLIP), 0.0, 0.0 };
	int ntens = fd_model_d_nparams(m);

	if (st->two)
		grl(m, st->s.rows); /* into their own rows */
	if (m->flow) {
		d_flow_backward(st, want_dz, &cc);
	} else if (!st->two || d_mlp_backward_two(m, want_dz ? t->dz_u : NULL, &cc)) {
		/* one pass after the other */
		d_mlp_backward(m, t->dfi_u, t->dfs_u, want_dz ? t->dz_u : NULL, NULL, gu_hook, m);
		if (!st->two) /* dfi_m, dfs_m are dfi_u, dfs_u: now free */
			grl(m, st->s.rows);
		d_mlp_backward(m, t->dfi_m, t->dfs_m, want_dz ? t->dz_m : NULL, t->gu_saved,
			       clip1_hook, &cc);
	}
	st->gn2[FD_NET_D_DEC] += cc.sq; /* all of D counted here */
	st->clip_sum = cc.fsum / (ntens > 0 ? ntens : 1);
}

/* dL/dz in the host's space: dz = (dzs_u + dzs_m - dL_R/dz~ (the
 * target's path)) / std. */
static void stage_input_grad(struct step *st, float *dz)
{
	struct fden_model *m = st->m;
	struct fd_train_ws *t = &m->tw;
	const int D = m->dim;

	for (size_t i = 0; i < st->s.rows; i++)
		for (int d = 0; d < D; d++) {
			size_t j = i * D + d;
			float sd = m->has_std ? m->std_std[d] : 1.0f;
			dz[j] = (t->dz_u[j] + t->dz_m[j] - t->zrec_grad[j]) / sd;
		}
}

/* The step's statistics from what the stages measured. */
static void report(struct step *st, struct fden_step_stats *out)
{
	struct fden_model *m = st->m;
	const struct fden_config *c = &m->cfg;
	double queries = (double)(st->s.episodes * st->s.queries);
	double alpha = c->v[FDEN_P_ALPHA], beta = c->v[FDEN_P_BETA], gamma = c->v[FDEN_P_GAMMA];
	double xw = c->v[FDEN_P_XCORR], aw = c->v[FDEN_P_STY_ADV], hw = c->v[FDEN_P_HSIC];
	double nw = m->flow ? c->v[FDEN_P_FLOW_NLL] : 0;
	double cw = m->stycls.np ? c->v[FDEN_P_STY_CLS] : 0, bw = c->v[FDEN_P_STY_BETWEEN];
	double *gn2 = st->gn2;
	size_t nt = st->s.episodes * st->s.queries;

	memset(out, 0, sizeof *out);
	out->struct_size = sizeof *out;
	out->l_r = st->l_r_sum / (double)st->s.rows;
	out->l_c = st->ce / queries;
	out->l_m = st->l_m;
	out->l_xcorr = st->l_x;
	out->l_sty_adv = st->l_a;
	out->l_nll = st->l_n;
	out->l_hsic = st->l_h;
	out->l_sty_cls = st->l_s;
	out->l_sty_between = st->l_b;
	out->sty_cls_accuracy = st->s_acc;
	out->loss = alpha * out->l_r + beta * out->l_c - gamma * out->l_m + xw * st->l_x +
		    aw * st->l_a + nw * st->l_n + hw * st->l_h - cw * st->l_s + bw * st->l_b;
	out->accuracy = (double)st->correct / (double)(nt ? nt : 1);
	if (fd_cfg_int(c, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_RELATION) /* the others': in backward */
		gn2[FD_NET_REL] = net_gnorm2(m->net[FD_NET_REL]);
	if (fd_cfg_int(c, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_PROTOTYPICAL &&
	    fd_cfg_int(c, FDEN_P_ALIGN_NORM)) /* the temperature counts as the alignment net */
		gn2[FD_NET_REL] += (double)m->tau.g[0] * m->tau.g[0];
	out->gnorm_disentangler = sqrt(gn2[FD_NET_D_DEC]);
	out->gnorm_entangler = sqrt(gn2[FD_NET_E_IDE] + gn2[FD_NET_E_STY] + gn2[FD_NET_E_ENC]);
	out->gnorm_statistician = sqrt(gn2[FD_NET_STAT]);
	out->gnorm_align = sqrt(gn2[FD_NET_REL]);
	out->clip_scale = st->clip_sum;
	out->step = m->step + 1;
}

static int prepare(struct fden_model *m, const struct fden_episodes *ep, struct shape *s)
{
	int rc = check_episodes(m, ep, s);

	if (!rc)
		rc = reserve(m, s);
	return rc;
}

/* Forward, losses and all gradients (in each param's g) of a prepared
 * batch, stage by stage; nothing committed: st->log_denom is the MINE
 * average after it. dz (optional, N x Dim) gets dL/dz. */
static void compute(struct step *st, struct fden_step_stats *stats, float *dz)
{
	struct fden_model *m = st->m;
	const float *target;

	begin_step(st);
	target = stage_input(st);
	if (m->flow) {
		stage_flow(st);
	} else {
		stage_d_forward(st);
		stage_e_forward(st, target);
	}
	stage_statistician(st);
	if (m->flow) { /* g_u's output gradients start at zero */
		memset(m->tw.dfi_u, 0, st->s.rows * m->di * sizeof *m->tw.dfi_u);
		memset(m->tw.dfs_u, 0, st->s.rows * m->ds * sizeof *m->tw.dfs_u);
	} else {
		stage_e_backward(st); /* sets them */
	}
	stage_alignment(st);
	stage_independence(st);
	stage_style_classifier(st);
	stage_d_backward(st, dz != NULL);
	if (dz)
		stage_input_grad(st, dz);
	report(st, stats);
}

int fd_train_grad(struct fden_model *m, const struct fden_episodes *ep,
		  struct fden_step_stats *stats, float *dz)
{
	struct step st = { .m = m, .ep = ep };
	struct fd_rng rng0 = m->rng;
	int rc = prepare(m, ep, &st.s);

	if (rc)
		return rc;
	fd_ema_live(m);
	bn_copy(m, 1);
	compute(&st, stats, dz);
	bn_copy(m, 0);
	m->rng = rng0;
	return FDEN_OK;
}

static void logf_model(struct fden_model *m, int level, const char *fmt, ...) FDEN_PRINTF(3, 4);

static void logf_model(struct fden_model *m, int level, const char *fmt, ...)
{
	va_list ap;

	if (!m->log)
		return;
	va_start(ap, fmt);
	m->log(m->log_ud, level, fmt, ap);
	va_end(ap);
}

/* Adam on every tensor with the step's gradients (the statistician at its
 * own rate, FDEN_P_LR_STAT; the head's temperature when it learns one; the
 * style classifier at FDEN_P_STY_CLS_LR times the rate). */
/* One Adam update of every net; returns the base learning rate it used
 * (FDEN_P_LR on the FDEN_P_LR_DECAY schedule, before the float rounding). */
static double adam_steps(struct fden_model *m)
{
	struct fd_adam opt;
	double lr = m->cfg.v[FDEN_P_LR] * fd_lr_factor(&m->cfg, m->step);

	opt.lr = (float)lr;
	opt.beta1 = fd_cfg_f(&m->cfg, FDEN_P_ADAM_BETA1);
	opt.beta2 = fd_cfg_f(&m->cfg, FDEN_P_ADAM_BETA2);
	opt.eps = fd_cfg_f(&m->cfg, FDEN_P_ADAM_EPS);
	for (int k = 0; k < FD_NNETS; k++) {
		struct fd_adam o = opt;
		if (!m->net[k])
			continue;
		if (k == FD_NET_STAT) /* the statistician may learn faster (FDEN_P_LR_STAT) */
			o.lr = opt.lr * fd_cfg_f(&m->cfg, FDEN_P_LR_STAT);
		for (int i = 0; i < fd_mlp_nparams(m->net[k]); i++)
			fd_adam_update(&o, fd_mlp_param(m->net[k], i), m->step + 1);
	}
	if (m->flow)
		for (int i = 0; i < fd_flow_nparams(m->flow); i++)
			fd_adam_update(&opt, fd_flow_param(m->flow, i), m->step + 1);
	if (fd_cfg_int(&m->cfg, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_PROTOTYPICAL &&
	    fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM))
		fd_adam_update(&opt, &m->tau, m->step + 1);
	for (int i = 0; i < m->stycls.np; i++) {
		struct fd_adam o = opt;
		o.lr = opt.lr * fd_cfg_f(&m->cfg, FDEN_P_STY_CLS_LR);
		fd_adam_update(&o, &m->stycls.p[i], m->step + 1);
	}
	return lr;
}

FDEN_EXPORT int fden_train_step(struct fden_model *model, const struct fden_episodes *episodes,
				struct fden_step_stats *stats)
{
	struct fden_model *m = model;
	struct fden_step_stats st;
	struct step sp = { .m = model, .ep = episodes };
	struct fd_rng rng0;
	int rc, bad = -1;

	if (!model || !episodes)
		return fd_err_set(model ? &model->err : NULL, FDEN_E_INVALID,
				  "fden_train_step: %s is NULL", !model ? "model" : "episodes");
	if (stats && stats->struct_size < offsetof(struct fden_step_stats, step) + sizeof stats->step)
		return fd_err_set(&m->err, FDEN_E_INVALID,
				  "fden_train_step: stats->struct_size %zu, expected >= %zu",
				  stats->struct_size, sizeof *stats);
	rc = prepare(m, episodes, &sp.s);
	if (rc)
		return rc;
	fd_ema_live(m); /* train the live weights, not their average */
	rng0 = m->rng;
	bn_copy(m, 1);
	compute(&sp, &st, NULL);
	if (!isfinite(st.loss) || !isfinite(sp.log_denom))
		bad = FD_NNETS;
	for (int k = 0; k < FD_NNETS && bad < 0; k++) /* gn2: see net_gnorm2 */
		if (!isfinite(sp.gn2[k]))
			bad = k;
	if (bad >= 0) {
		m->rng = rng0;
		bn_copy(m, 0);
		logf_model(m, FDEN_LOG_ERROR, "step %llu rejected: non-finite %s",
			   (unsigned long long)m->step + 1, bad == FD_NNETS ? "loss" : "gradient");
		return fd_err_set(&m->err, FDEN_E_NONFINITE,
				  "fden_train_step: non-finite %s (L_R %g, L_C %g, L_M %g); step rejected",
				  bad == FD_NNETS ? "loss" : "gradient of a sub-network", st.l_r, st.l_c,
				  st.l_m);
	}
	st.lr = adam_steps(m);
	m->step++;
	fd_ema_update(m); /* FDEN_P_EMA */
	if (fd_cfg_int(&m->cfg, FDEN_P_MINE_MA)) {
		m->mine_log_ma = sp.log_denom;
		m->mine_have_ma = 1;
	}
	if (stats) {
		size_t keep = stats->struct_size < sizeof st ? stats->struct_size : sizeof st;
		st.struct_size = stats->struct_size;
		memcpy(stats, &st, keep);
	}
	return FDEN_OK;
}
