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
 * Optional independence terms (indep.c) join g_u: x L_X (cross-correlation)
 * and v L_A (style-uniformity adversary on f_sty, per episode); with the
 * flow, n L_N (the density of zs under a standard normal on its output).
 * A step whose loss or gradients are not finite changes nothing: Adam,
 * the step count and the MINE average are only touched after the check,
 * and the rng state and BN running statistics are restored. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/align.h"
#include "fden/clip.h"
#include "fden/indep.h"
#include "fden/mine.h"
#include "fden/model_int.h"
#include "kernels/vec.h"
#include "nn/adam.h"

void fd_train_ws_free(struct fden_model *m)
{
	fd_free(m->a, m->tw.zin); /* the one block; every other pointer is inside it */
	memset(&m->tw, 0, sizeof m->tw);
}

/* Sizes of the training buffers for one batch shape. */
struct shape {
	size_t N, E, R, ns, nq, C, pairs, nlogp, naws, nxws;
};

#define FD_TWO_ROWS 256 /* D's two passes as one up to here: see struct clip_ctx */

/* rows of dfi and dfs for up to cap rows a step: room for dfim (dfsm) after
 * them when the two D passes run as one (cap <= FD_TWO_ROWS) */
static size_t df_rows(size_t cap)
{
	size_t two = 2 * (cap < FD_TWO_ROWS ? cap : FD_TWO_ROWS);

	return two > cap ? two : cap;
}

static size_t nfloats(struct fden_model *m, const struct shape *s)
{
	size_t D = (size_t)m->dim, N = s->N;
	/* zin ztgt dzt: 3 N D; da db: 2 N D; dfi (dfim), dfs (dfsm): 2 df_rows D;
	 * cat (= dcat, then dtin; dh): 4 N D; dt 2N; perm N; pairs: 4 D + 1 per
	 * pair; flow: fi fs dF: 3 N D */
	return (m->flow ? 12 : 9) * N * D + 2 * df_rows(N) * D + 3 * N + s->nlogp + s->naws +
	       s->nxws + s->pairs * (4 * D + 1) + m->tw.gsave_n + m->tw.bnsave_n +
	       2 * (size_t)fd_model_d_nparams(m) + 37 * 16;
}

static int reserve(struct fden_model *m, const struct shape *s)
{
	struct fd_train_ws *t = &m->tw;
	struct shape g = *s;
	size_t D = (size_t)m->dim, off = 0, total;
	float *blk;

	if (t->zin && s->N <= t->cap_rows && s->pairs <= t->cap_pairs &&
	    s->nlogp <= t->cap_logp && s->naws <= t->cap_aws && s->nxws <= t->cap_xws)
		goto nets;
	if (t->zin) { /* grow: keep the larger of old and new */
		g.N = g.N > t->cap_rows ? g.N : t->cap_rows;
		g.pairs = g.pairs > t->cap_pairs ? g.pairs : t->cap_pairs;
		g.nlogp = g.nlogp > t->cap_logp ? g.nlogp : t->cap_logp;
		g.naws = g.naws > t->cap_aws ? g.naws : t->cap_aws;
		g.nxws = g.nxws > t->cap_xws ? g.nxws : t->cap_xws;
	}
	if (!t->gsave_n) {
		/* flow: all of g_u saved; MLP: two tensors' gradients at a time */
		for (int i = 0; i < fd_model_d_nparams(m) && m->flow; i++)
			t->gsave_n += fd_model_d_param(m, i)->n;
		for (int k = FD_NET_D_DEC; k <= FD_NET_D_STY && !m->flow; k++)
			if (2 * fd_mlp_hook_ws(m->net[k]) > t->gsave_n)
				t->gsave_n = 2 * fd_mlp_hook_ws(m->net[k]);
		for (int k = 0; k < FD_NNETS; k++)
			if (m->net[k])
				for (int i = 0; i < fd_mlp_nbuffers(m->net[k]); i++)
					t->bnsave_n += fd_mlp_buffer(m->net[k], i)->n;
	}
	total = nfloats(m, &g);
	blk = fd_malloc(m->a, total * sizeof(float));
	if (!blk)
		return fd_err_set(&m->err, FDEN_E_NOMEM,
				  "fden_train_step: training workspace of %zu floats", total);
	{
		size_t gs = t->gsave_n, bs = t->bnsave_n;
		fd_train_ws_free(m);
		t->gsave_n = gs;
		t->bnsave_n = bs;
	}
#define TAKE(p, n) do { t->p = (void *)(blk + off); off += ((n) + 15) / 16 * 16; } while (0)
	TAKE(zin, g.N * D);
	TAKE(ztgt, g.N * D);
	TAKE(dzt, g.N * D);
	/* the two gradients of D's passes: dz's side by side (db, dfim and dfsm
	 * are placed per step, in compute) */
	TAKE(da, 2 * g.N * D);
	TAKE(dfi, df_rows(g.N) * D);
	TAKE(dfs, df_rows(g.N) * D);
	/* cat (= dcat: E_enc's dX overwrites its input, read before), then T's
	 * two input gradients (N x di, N x ds); D's dh (2N x 2D) takes the whole
	 * block after both are dead */
	TAKE(cat, 4 * g.N * D);
	t->dcat = t->cat;
	t->dtin = t->cat + 2 * g.N * D;
	t->dh = t->cat;
	TAKE(dt, 2 * g.N);
	TAKE(perm, g.N);
	TAKE(logp, g.nlogp);
	TAKE(aws, g.naws);
	TAKE(pairs, g.pairs * 2 * D);
	TAKE(dpairs, g.pairs * 2 * D);
	TAKE(dr, g.pairs);
	if (m->flow) { /* its outputs and their gradient, row by row */
		TAKE(fi, g.N * D);
		TAKE(fs, g.N * D);
		TAKE(dF, g.N * D);
	}
	TAKE(xws, g.nxws);
	TAKE(gsave, t->gsave_n);
	TAKE(bnsave, t->bnsave_n);
	TAKE(gu2, 2 * (size_t)fd_model_d_nparams(m)); /* doubles */
#undef TAKE
	t->cap_rows = g.N;
	t->cap_pairs = g.pairs;
	t->cap_logp = g.nlogp;
	t->cap_aws = g.naws;
	t->cap_xws = g.nxws;
nets:
	if (m->flow) {
		int rc = fd_flow_reserve(m->flow, (int)s->N, &m->err);
		if (rc)
			return rc;
	}
	{
		int rows[FD_NNETS], two[FD_NNETS];
		for (int k = 0; k < FD_NNETS; k++) { /* the statistician sees 2N rows */
			rows[k] = k == FD_NET_STAT ? (int)(2 * s->N) :
				  k == FD_NET_REL ? (int)s->pairs : (int)s->N;
			/* g_u and g_m at once: 2N-row panels */
			two[k] = k <= FD_NET_D_STY && !m->flow;
		}
		/* the nets run one after another: one pair of scratch panels for all */
		return fd_mlp_reserve_group(m->net, rows, two, FD_NNETS, &m->err);
	}
}

static int check_episodes(struct fden_model *m, const struct fden_episodes *ep, struct shape *s)
{
	size_t R, N;
	int head;

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
	s->E = ep->n_episodes;
	s->R = R;
	s->N = N;
	s->C = ep->ways;
	s->ns = ep->ways * ep->shots;
	s->nq = ep->ways * ep->queries;
	head = fd_cfg_int(&m->cfg, FDEN_P_ALIGN_HEAD);
	s->pairs = head == FDEN_ALIGN_RELATION ? s->E * s->nq * s->ns : 0;
	if (s->pairs > (1u << 26))
		return fd_err_set(&m->err, FDEN_E_OVERFLOW, "fden_train_step: %zu relation pairs is too many",
				  s->pairs);
	s->nlogp = s->E * s->nq * s->C;
	s->naws = fd_align_ws((int)s->ns, (int)s->nq, (int)s->C, m->dim);
	s->nxws = fd_xcorr_ws((int)s->N, m->di, m->ds);
	{
		size_t u = fd_sty_adv_ws((int)s->N, (int)s->ns, (int)s->nq, (int)s->C, m->ds);
		if (u > s->nxws)
			s->nxws = u;
	}
	for (size_t e = 0; e < s->E; e++) {
		const int32_t *y = ep->labels + e * R;
		int32_t cnt[2][4096];
		memset(cnt[0], 0, s->C * sizeof cnt[0][0]);
		memset(cnt[1], 0, s->C * sizeof cnt[1][0]);
		for (size_t i = 0; i < R; i++) {
			int part = i >= s->ns;
			if (y[i] < 0 || (size_t)y[i] >= s->C)
				return fd_err_set(&m->err, FDEN_E_INVALID,
						  "fden_train_step: labels[%zu] = %d outside [0, %zu)",
						  e * R + i, (int)y[i], s->C);
			cnt[part][y[i]]++;
		}
		for (size_t k = 0; k < s->C; k++)
			if ((size_t)cnt[0][k] != ep->shots || (size_t)cnt[1][k] != ep->queries)
				return fd_err_set(&m->err, FDEN_E_SHAPE,
						  "fden_train_step: episode %zu class %zu has %d support and %d query rows, expected %zu and %zu",
						  e, k, (int)cnt[0][k], (int)cnt[1][k], ep->shots, ep->queries);
	}
	for (size_t i = 0; i < N * (size_t)m->dim; i++) {
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

static void bn_copy(struct fden_model *m, int save)
{
	size_t off = 0;

	for (int k = 0; k < FD_NNETS; k++) {
		if (!m->net[k])
			continue;
		for (int i = 0; i < fd_mlp_nbuffers(m->net[k]); i++) {
			struct fd_buffer *b = fd_mlp_buffer(m->net[k], i);
			if (save)
				memcpy(m->tw.bnsave + off, b->x, b->n * sizeof *b->x);
			else
				memcpy(b->x, m->tw.bnsave + off, b->n * sizeof *b->x);
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

/* A backward hook (fd_mlp_bwd.hook, no tmp) that sums ||g||^2 of each
 * tensor as soon as its gradient is complete, while it is in cache. */
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

	fd_mlp_backward(n, dY, dX, &(struct fd_mlp_bwd){ .ldy = ldy, .set = 1, .add_dx = add_dx,
							 .hook = sq_hook, .ctx = &sum });
	return sum;
}

/* Flow D backward for one of the two gradients: dfi (N x di), dfs (N x ds)
 * -> the flow's grads (added); dz (N x D) receives dL/dzs when not NULL. */
static void backward_flow(struct fden_model *m, int N, const float *dfi, const float *dfs,
			  float *dz, float dlogdet)
{
	struct fd_train_ws *t = &m->tw;

	fd_cols_join(t->dF, dfi, dfs, (size_t)N, m->di, m->ds); /* dF = dfi ++ dfs */
	fd_flow_backward(m->flow, t->dF, dz, dlogdet);
}

/* The clipped sum g = g_u + min(|g_u|, |g_m|) g_m / |g_m| of an MLP D is
 * made tensor by tensor in its backward, while both are in cache, and ||g||^2
 * (the finiteness check) taken on the way. Batches up to FD_TWO_ROWS rows
 * run g_u and g_m as one backward of 2N rows (fd_mlp_bwd.two: each
 * tensor's g_u and g_m arrive together in scratch; one input-gradient
 * product of 2N rows instead of two of N); larger ones run them one after
 * another (g_u into p->g with its ||g_u||^2, then g_m through scratch),
 * which needs no 2N-row buffers: the rows of one pass fill the products. */
struct clip_ctx {
	struct fden_model *m;
	int clip;
	double fsum, sq;
};

/* index of D's tensor p among fd_model_d_param's */
static int d_index(struct fden_model *m, const struct fd_param *p)
{
	int i = 0;

	while (fd_model_d_param(m, i) != p)
		i++;
	return i;
}

static void gu_hook(void *ctx, struct fd_param *p, float *g, float *g2)
{
	struct fden_model *m = ctx;

	m->tw.gu2[d_index(m, p)] = fd_vec_sumsq_fast(g, p->n);
}

static void clip1_hook(void *ctx, struct fd_param *p, float *gm, float *g2)
{
	struct clip_ctx *c = ctx;
	double sq;

	c->fsum += fd_clip_combine(p->g, c->m->tw.gu2[d_index(c->m, p)], gm, p->g, p->n, c->clip,
				   &sq);
	c->sq += sq;
}

/* one pass of (dfi, dfs) through D into dz (NULL: not wanted); tmp NULL: the
 * gradients are set in p->g, else made in tmp; fn sees each tensor's */
static void backward_d_one(struct fden_model *m, const float *dfi, const float *dfs, float *dz,
			   float *tmp, fd_mlp_hook_fn fn, void *ctx)
{
	struct fd_train_ws *t = &m->tw;
	struct fd_mlp *di = m->net[FD_NET_D_IDE], *ds = m->net[FD_NET_D_STY];
	struct fd_mlp *dd = m->net[FD_NET_D_DEC];

	struct fd_mlp_bwd o = { .set = 1, .tmp = tmp, .hook = fn, .ctx = ctx };

	o.ldy = m->di;
	fd_mlp_backward(di, dfi, t->dh, &o);
	o.ldy = m->ds;
	o.add_dx = 1; /* dh += */
	fd_mlp_backward(ds, dfs, t->dh, &o);
	o.ldy = 0;
	o.add_dx = 0;
	fd_mlp_backward(dd, t->dh, dz, &o);
}

static void clip_hook(void *ctx, struct fd_param *p, float *gu, float *gm)
{
	struct clip_ctx *c = ctx;
	double sq;

	c->fsum += fd_clip_combine(gu, -1.0, gm, p->g, p->n, c->clip, &sq); /* ||g_u|| there */
	c->sq += sq;
}

/* Both at once: dfi, dfs are [g_u rows; g_m rows] (2N x di, 2N x ds); dz
 * 2N x D, the g_u part first (NULL: not wanted). -1, nothing done, when the
 * nets' panels cannot take 2N rows (they always can after reserve) */
static int backward_d_two(struct fden_model *m, float *dz, struct clip_ctx *c)
{
	struct fd_train_ws *t = &m->tw;
	struct fd_mlp *di = m->net[FD_NET_D_IDE], *ds = m->net[FD_NET_D_STY];
	struct fd_mlp *dd = m->net[FD_NET_D_DEC];

	struct fd_mlp_bwd o = { .ldy = m->di, .set = 1, .two = 1, .tmp = t->gsave,
				.hook = clip_hook, .ctx = c };

	if (fd_mlp_backward(di, t->dfi, t->dh, &o))
		return -1; /* the panels are shared: the next two would refuse too */
	o.ldy = m->ds;
	o.add_dx = 1; /* dh += */
	fd_mlp_backward(ds, t->dfs, t->dh, &o);
	o.ldy = 0;
	o.add_dx = 0;
	fd_mlp_backward(dd, t->dh, dz, &o);
	return 0;
}

/* GRL: D's MINE gradient = -lambda * d(-g L_M)/df, from T's input
 * gradients (dtin), into dfim and dfsm */
static void grl(struct fden_model *m, size_t N, double lambda)
{
	struct fd_train_ws *t = &m->tw;
	size_t ni = N * (size_t)m->di;

	for (size_t j = 0; j < ni; j++)
		t->dfim[j] = (float)(-lambda * t->dtin[j]);
	for (size_t j = 0; j < N * (size_t)m->ds; j++)
		t->dfsm[j] = (float)(-lambda * t->dtin[ni + j]);
}

static int prepare(struct fden_model *m, const struct fden_episodes *ep, struct shape *s)
{
	int rc = check_episodes(m, ep, s);

	if (!rc)
		rc = reserve(m, s);
	return rc;
}

/* Forward, losses and all gradients (in each param's g) of a prepared
 * batch; nothing committed: *log_ma_out is the MINE average after it. */
static void compute(struct fden_model *m, const struct fden_episodes *ep, const struct shape *sp,
		    struct fden_step_stats *st, double *log_ma_out, float *dz,
		    double gn2[FD_NNETS])
{
	struct fd_train_ws *t = &m->tw;
	const struct fden_config *c = &m->cfg;
	const int D = m->dim, DI = m->di, DS = m->ds;
	const struct shape s = *sp;
	const float *fi, *fs, *T, *r = NULL;
	const float *ztgt;
	double alpha = c->v[FDEN_P_ALPHA], beta = c->v[FDEN_P_BETA], gamma = c->v[FDEN_P_GAMMA];
	double xw = c->v[FDEN_P_XCORR], aw = c->v[FDEN_P_STY_ADV];
	double lambda = c->v[FDEN_P_GRL], lr_sum = 0, ce = 0, lm, lme, log_denom, clip_sum = 0;
	double lx = 0, la = 0, ln = 0, nw = m->flow ? c->v[FDEN_P_FLOW_NLL] : 0;
	float dlogdet = 0;
	int head = fd_cfg_int(c, FDEN_P_ALIGN_HEAD), clip = fd_cfg_int(c, FDEN_P_CLIP);
	int anorm = head == FDEN_ALIGN_PROTOTYPICAL ? fd_cfg_int(c, FDEN_P_ALIGN_NORM) : 0;
	int stoch = fd_cfg_int(c, FDEN_P_STOCHASTIC) && ep->z_log_sigma;
	int nth = fd_cfg_int(c, FDEN_P_THREADS);
	float ss = fd_cfg_f(c, FDEN_P_STOCHASTIC_SCALE);
	size_t N = s.N, off, correct = 0, nt = 0;
	int two = !m->flow && N <= FD_TWO_ROWS; /* D's two passes as one */

	/* D (MLP), E and T gradients are set by their backward passes (run once
	 * each, D's twice); the others accumulate from zero */
	for (int k = 0; k < FD_NNETS; k++)
		if (m->net[k] && (k == FD_NET_REL || (m->flow && k <= FD_NET_D_STY)))
			fd_mlp_zero_grad(m->net[k]);
	if (m->flow)
		fd_flow_zero_grad(m->flow);
	m->tau.g[0] = 0.0f;
	for (int k = 0; k < FD_NNETS; k++)
		gn2[k] = 0;
	/* D's second pass: its own rows after the first's (both at once), or the
	 * first's buffers again once that pass is done */
	t->db = t->da + N * D;
	t->dfim = two ? t->dfi + N * DI : t->dfi;
	t->dfsm = two ? t->dfs + N * DS : t->dfs;

	/* input: x = mu (+ s exp(logsig) eps); zs = (x - mean) / std; target (mu - mean) / std */
	for (size_t i = 0; i < N; i++)
		for (int d = 0; d < D; d++) {
			size_t j = i * D + d;
			float mu = ep->z[j], x = mu, mn = 0, sd = 1;
			if (stoch)
				x = mu + ss * expf(ep->z_log_sigma[j]) * fd_rng_normal(&m->rng);
			if (m->has_std) {
				mn = m->std_mean[d];
				sd = m->std_std[d];
			}
			t->zin[j] = (x - mn) / sd;
			if (stoch)
				t->ztgt[j] = (mu - mn) / sd;
		}
	ztgt = stoch ? t->ztgt : t->zin; /* x = mu: the same values */

	if (m->flow) {
		/* D: F = flow(zs), f_ide = F[:, :di], f_sty = F[:, di:]; E = flow^-1, L_R = 0 */
		const float *F = fd_flow_forward(m->flow, t->zin, (int)N);
		fd_cols_split(t->fi, t->fs, F, N, DI, DS);
		fi = t->fi;
		fs = t->fs;
		memset(t->dzt, 0, N * D * sizeof *t->dzt);
	} else {
		const float *h, *zt;

		/* D: h = D_dec(zs); f_ide = D_ide(h); f_sty = D_sty(h) */
		h = fd_mlp_forward(m->net[FD_NET_D_DEC], t->zin, (int)N, &m->rng, NULL);
		fi = fd_mlp_forward(m->net[FD_NET_D_IDE], h, (int)N, &m->rng, NULL);
		fs = fd_mlp_forward(m->net[FD_NET_D_STY], h, (int)N, &m->rng, NULL);
		/* E: z~ = E_enc(E_ide(f_ide) ++ E_sty(f_sty)) */
		fd_mlp_forward(m->net[FD_NET_E_IDE], fi, (int)N, &m->rng,
			       &(struct fd_mlp_fwd){ .y = t->cat, .ldy = 2 * D });
		fd_mlp_forward(m->net[FD_NET_E_STY], fs, (int)N, &m->rng,
			       &(struct fd_mlp_fwd){ .y = t->cat + D, .ldy = 2 * D });
		/* z~ lands in dzt, which its gradient then overwrites element by element */
		zt = fd_mlp_forward(m->net[FD_NET_E_ENC], t->cat, (int)N, &m->rng,
				    &(struct fd_mlp_fwd){ .y = t->dzt, .ldy = D });
		/* L_R = (1/N) sum ||zs - z~||^2; dz~ = a 2 (z~ - zs) / N */
		for (size_t j = 0; j < N * D; j++) {
			double e = (double)zt[j] - ztgt[j];
			lr_sum += e * e;
			t->dzt[j] = (float)(alpha * 2.0 * e / (double)N);
		}
	}

	/* T on the 2N rows [f_ide ++ f_sty ; f_ide ++ f_sty[perm]], never built:
	 * its first product is split into f_ide and f_sty parts (half the work) */
	fd_rng_perm(&m->rng, t->perm, (int)N);
	T = fd_mlp_forward(m->net[FD_NET_STAT], fi, (int)N, &m->rng,
			   &(struct fd_mlp_fwd){ .pair_b = fs, .pair_ia = DI, .pair_perm = t->perm });
	lm = fd_mine_dv(T, T + N, (int)N, &lme);
	log_denom = lme;
	if (fd_cfg_int(c, FDEN_P_MINE_MA))
		log_denom = fd_mine_ma_update(m->mine_log_ma, m->mine_have_ma,
					      c->v[FDEN_P_MINE_MA_RATE], lme);
	*log_ma_out = log_denom;
	/* T descends -g L_M: dt = -g dL_M/dt */
	fd_mine_grad(T + N, (int)N, log_denom, (float)-gamma, t->dt, t->dt + N);
	/* each net's ||g||^2 (the finiteness check) taken in its backward; T's
	 * input gradients come summed over the joint and shuffled rows */
	fd_mlp_backward(m->net[FD_NET_STAT], t->dt, t->dtin,
			&(struct fd_mlp_bwd){ .set = 1, .dx2 = t->dtin + N * DI, .hook = sq_hook,
					      .ctx = &gn2[FD_NET_STAT] });
	if (m->flow) {
		memset(t->dfi, 0, N * DI * sizeof *t->dfi);
		memset(t->dfs, 0, N * DS * sizeof *t->dfs);
	} else {
		/* E backward: dcat -> E_ide, E_sty -> d f_ide, d f_sty (g_u part) */
		gn2[FD_NET_E_ENC] = backward_sq(m->net[FD_NET_E_ENC], t->dzt, D, t->dcat, 0);
		/* the two column blocks of dcat, read in place (rows 2 D apart) */
		gn2[FD_NET_E_IDE] = backward_sq(m->net[FD_NET_E_IDE], t->dcat, 2 * D, t->dfi, 0);
		gn2[FD_NET_E_STY] = backward_sq(m->net[FD_NET_E_STY], t->dcat + D, 2 * D, t->dfs, 0);
	}

	/* L_C: mean over all queries; gradient b / n_queries into d f_ide */
	{
		float sc = (float)(beta / (double)(s.E * s.nq));
		if (head == FDEN_ALIGN_RELATION) {
			for (size_t e = 0; e < s.E; e++) {
				const float *S = fi + e * s.R * DI;
				fd_align_relation_pairs(S, (int)s.ns, S + s.ns * DI, (int)s.nq, DI,
							t->pairs + e * s.nq * s.ns * 2 * DI);
			}
			r = fd_mlp_forward(m->net[FD_NET_REL], t->pairs, (int)s.pairs, &m->rng, NULL);
		}
		for (size_t e = 0; e < s.E; e++) {
			const float *S = fi + e * s.R * DI, *Q = S + s.ns * DI;
			const int32_t *ys = ep->labels + e * s.R, *yq = ys + s.ns;
			float *dS = t->dfi + e * s.R * DI, *dQ = dS + s.ns * DI;
			float *lp = t->logp + e * s.nq * s.C;
			if (anorm) /* normalised rows, learned temperature (align.c) */
				ce += fd_align_proto_norm(S, ys, (int)s.ns, Q, yq, (int)s.nq, (int)s.C, DI,
							  anorm, m->tau.w[0], lp, sc, dS, dQ, m->tau.g,
							  t->aws);
			else if (head == FDEN_ALIGN_PROTOTYPICAL)
				ce += fd_align_proto(S, ys, (int)s.ns, Q, yq, (int)s.nq, (int)s.C, DI, lp,
						     sc, dS, dQ, t->aws);
			else if (head == FDEN_ALIGN_MATCHING)
				ce += fd_align_matching(S, ys, (int)s.ns, Q, yq, (int)s.nq, (int)s.C, DI,
							lp, sc, dS, dQ, t->aws);
			else
				ce += fd_align_relation_loss(r + e * s.nq * s.ns, ys, (int)s.ns, yq,
							     (int)s.nq, (int)s.C, lp, sc,
							     t->dr + e * s.nq * s.ns, t->aws);
			for (size_t q = 0; q < s.nq; q++, nt++)
				correct += fd_argmax(lp + q * s.C, (int)s.C) == yq[q];
		}
		if (head == FDEN_ALIGN_RELATION) {
			fd_mlp_backward(m->net[FD_NET_REL], t->dr, t->dpairs, NULL);
			for (size_t e = 0; e < s.E; e++) {
				float *dS = t->dfi + e * s.R * DI;
				fd_align_relation_scatter(t->dpairs + e * s.nq * s.ns * 2 * DI, (int)s.ns,
							  (int)s.nq, DI, dS, dS + s.ns * DI);
			}
		}
	}

	/* independence terms, part of g_u: x L_X and v L_A */
	if (xw > 0)
		lx = fd_xcorr(fi, DI, fs, DS, (int)N, (float)xw, t->dfi, t->dfs, t->xws, nth);
	if (aw > 0)
		la = fd_sty_adv(fs, (int)N, DS, ep->labels, (int)s.E, (int)s.R, (int)s.ns, (int)s.nq,
				(int)s.C, (float)aw, t->dfs, t->xws);

	/* flow density: n L_N, L_N = (1/(N D)) sum_rows (||F||^2 / 2 - log|det|);
	 * dF += n F / (N D), dL/dlogdet = -n / (N D) */
	if (nw > 0) {
		double k = 1.0 / ((double)N * D);
		double sq = fd_vec_sumsq(fi, N * DI) + fd_vec_sumsq(fs, N * DS);
		float g = (float)(nw * k);
		fd_vec_axpy(t->dfi, g, fi, N * DI);
		fd_vec_axpy(t->dfs, g, fs, N * DS);
		ln = k * (0.5 * sq - fd_flow_logdet(m->flow));
		dlogdet = -g;
	}

	/* D: g_u from (d f_ide, d f_sty), g_m from the GRL, combined with the
	 * clipping; ||g||^2 of the result (the finiteness check) on the way */
	{
		struct clip_ctx cc = { m, clip, 0.0, 0.0 };
		int ntens = fd_model_d_nparams(m);

		if (two)
			grl(m, N, lambda); /* into their own rows */
		if (two && !backward_d_two(m, dz ? t->da : NULL, &cc)) {
			/* done */
		} else if (!m->flow) {
			backward_d_one(m, t->dfi, t->dfs, dz ? t->da : NULL, NULL, gu_hook, m);
			if (!two) /* dfim, dfsm are dfi, dfs: now free */
				grl(m, N, lambda);
			backward_d_one(m, t->dfim, t->dfsm, dz ? t->db : NULL, t->gsave, clip1_hook, &cc);
		} else { /* flow: g_u saved with each tensor's ||g_u||^2, then g_m */
			backward_flow(m, (int)N, t->dfi, t->dfs, dz ? t->da : NULL, dlogdet);
			off = 0;
			for (int i = 0; i < ntens; i++) {
				struct fd_param *p = fd_model_d_param(m, i);
				t->gu2[i] = fd_vec_copy_sumsq(t->gsave + off, p->g, p->n);
				off += p->n;
			}
			grl(m, N, lambda);
			fd_flow_zero_grad(m->flow);
			backward_flow(m, (int)N, t->dfim, t->dfsm, dz ? t->db : NULL, 0.0f);
			off = 0;
			for (int i = 0; i < ntens; i++) {
				struct fd_param *p = fd_model_d_param(m, i);
				double sq;
				cc.fsum += fd_clip_combine(t->gsave + off, t->gu2[i], p->g, p->g, p->n,
							   clip, &sq);
				cc.sq += sq;
				off += p->n;
			}
		}
		gn2[FD_NET_D_DEC] += cc.sq; /* all of D counted here */
		clip_sum = cc.fsum / (ntens > 0 ? ntens : 1);
	}
	if (dz) {
		/* dz = (dzs_u + dzs_m - dL_R/dz~ (the target's path)) / std */
		for (size_t i = 0; i < N; i++)
			for (int d = 0; d < D; d++) {
				size_t j = i * D + d;
				float sd = m->has_std ? m->std_std[d] : 1.0f;
				dz[j] = (t->da[j] + t->db[j] - t->dzt[j]) / sd;
			}
	}

	memset(st, 0, sizeof *st);
	st->struct_size = sizeof *st;
	st->l_r = lr_sum / (double)N;
	st->l_c = ce / (double)(s.E * s.nq);
	st->l_m = lm;
	st->l_xcorr = lx;
	st->l_sty_adv = la;
	st->l_nll = ln;
	st->loss = alpha * st->l_r + beta * st->l_c - gamma * st->l_m + xw * lx + aw * la + nw * ln;
	st->accuracy = (double)correct / (double)(nt ? nt : 1);
	if (head == FDEN_ALIGN_RELATION) /* D's came with the clipping, E's and T's with backward */
		gn2[FD_NET_REL] = net_gnorm2(m->net[FD_NET_REL]);
	if (anorm) /* the head's temperature counts as the alignment net */
		gn2[FD_NET_REL] += (double)m->tau.g[0] * m->tau.g[0];
	st->gnorm_disentangler = sqrt(gn2[FD_NET_D_DEC]);
	st->gnorm_entangler = sqrt(gn2[FD_NET_E_IDE] + gn2[FD_NET_E_STY] + gn2[FD_NET_E_ENC]);
	st->gnorm_statistician = sqrt(gn2[FD_NET_STAT]);
	st->gnorm_align = sqrt(gn2[FD_NET_REL]);
	st->clip_scale = clip_sum;
	st->step = m->step + 1;
}

int fd_train_grad(struct fden_model *m, const struct fden_episodes *ep,
		  struct fden_step_stats *st, float *dz)
{
	struct shape s;
	struct fd_rng rng0 = m->rng;
	double log_ma, gn2[FD_NNETS];
	int rc = prepare(m, ep, &s);

	if (rc)
		return rc;
	fd_ema_live(m);
	bn_copy(m, 1);
	compute(m, ep, &s, st, &log_ma, dz, gn2);
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

FDEN_EXPORT int fden_train_step(struct fden_model *model, const struct fden_episodes *episodes,
				struct fden_step_stats *stats)
{
	struct fden_model *m = model;
	struct fden_step_stats st;
	struct shape s;
	struct fd_rng rng0;
	struct fd_adam opt;
	double log_ma = 0, gn2[FD_NNETS];
	int rc, bad = -1;

	if (!model || !episodes)
		return fd_err_set(model ? &model->err : NULL, FDEN_E_INVALID,
				  "fden_train_step: %s is NULL", !model ? "model" : "episodes");
	if (stats && stats->struct_size < offsetof(struct fden_step_stats, step) + sizeof stats->step)
		return fd_err_set(&m->err, FDEN_E_INVALID,
				  "fden_train_step: stats->struct_size %zu, expected >= %zu",
				  stats->struct_size, sizeof *stats);
	rc = prepare(m, episodes, &s);
	if (rc)
		return rc;
	fd_ema_live(m); /* train the live weights, not their average */
	rng0 = m->rng;
	bn_copy(m, 1);
	compute(m, episodes, &s, &st, &log_ma, NULL, gn2);
	if (!isfinite(st.loss) || !isfinite(log_ma))
		bad = FD_NNETS;
	for (int k = 0; k < FD_NNETS && bad < 0; k++) /* gn2: see net_gnorm2 */
		if (!isfinite(gn2[k]))
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
	opt.lr = (float)(m->cfg.v[FDEN_P_LR] * fd_lr_factor(&m->cfg, m->step)); /* FDEN_P_LR_DECAY */
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
	m->step++;
	fd_ema_update(m); /* FDEN_P_EMA */
	if (fd_cfg_int(&m->cfg, FDEN_P_MINE_MA)) {
		m->mine_log_ma = log_ma;
		m->mine_have_ma = 1;
	}
	if (stats) {
		size_t keep = stats->struct_size < sizeof st ? stats->struct_size : sizeof st;
		st.struct_size = stats->struct_size;
		memcpy(stats, &st, keep);
	}
	return FDEN_OK;
}
