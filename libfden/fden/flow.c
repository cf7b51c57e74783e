/* Affine coupling flow: see flow.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clones.h"
#include "fden/flow.h"

#define FLOW_MAX_LAYERS 64
#define FLOW_PERM_SEED 0xf10f10f10ull

struct flow_layer {
	struct fd_mlp *g; /* d1 -> ... -> 2 d2 */
	int32_t *perm;    /* p[j] = x[perm[j]] */
	int32_t *pinv;    /* pinv[perm[j]] = j: where x[k] lands in p */
	float *x1, *x2;   /* training caches: n x d1, n x d2 (permuted input) */
	float *s;         /* n x d2, clamped log-scale */
};

struct fd_flow {
	struct fden_allocator alloc;
	int has_alloc;
	struct fd_flow_cfg cfg;
	int d1, d2, cap;
	int n;         /* rows of the last training forward */
	double logdet; /* sum over rows and layers of s: log|det dY/dX| of that forward */
	struct flow_layer layer[FLOW_MAX_LAYERS];
	float *y;            /* n x dim: output of the last training forward */
	float *dcur, *dnext; /* n x dim: backward buffers */
	float *dh;           /* n x 2 d2 */
	float *dx1;          /* n x d1 */
};

static const struct fden_allocator *flow_alloc(const struct fd_flow *f)
{
	return f->has_alloc ? &f->alloc : NULL;
}

int fd_flow_new(const struct fd_flow_cfg *cfg, const struct fden_allocator *alloc,
		struct fd_rng *init_rng, struct fd_err *err, struct fd_flow **out)
{
	struct fd_layer_spec spec[17];
	struct fd_mlp_cfg mc;
	struct fd_flow *f;
	struct fd_rng prng;
	int l, i, rc;

	if (cfg->dim < 2 || cfg->nlayers < 1 || cfg->nlayers > FLOW_MAX_LAYERS ||
	    cfg->hidden < 1 || cfg->depth < 0 || cfg->depth > 16 || !(cfg->clamp > 0))
		return fd_err_set(err, FDEN_E_INVALID,
				  "flow: dim %d (>= 2), layers %d (1..%d), hidden %d, depth %d (0..16), clamp %g (> 0)",
				  cfg->dim, cfg->nlayers, FLOW_MAX_LAYERS, cfg->hidden, cfg->depth,
				  (double)cfg->clamp);
	f = fd_calloc(alloc, 1, sizeof *f);
	if (!f)
		return fd_err_set(err, FDEN_E_NOMEM, "flow: out of memory");
	if (alloc) {
		f->alloc = *alloc;
		f->has_alloc = 1;
	}
	f->cfg = *cfg;
	f->d1 = cfg->dim / 2;
	f->d2 = cfg->dim - f->d1;
	for (i = 0; i < cfg->depth; i++)
		spec[i] = (struct fd_layer_spec){ cfg->hidden, 1, 0, 0.0f, FD_ACT_LEAKY };
	spec[cfg->depth] = (struct fd_layer_spec){ 2 * f->d2, 1, 0, 0.0f, FD_ACT_LINEAR };
	memset(&mc, 0, sizeof mc);
	mc.in = f->d1;
	mc.nlayers = cfg->depth + 1;
	mc.layers = spec;
	mc.leaky_slope = cfg->leaky_slope;
	mc.init = cfg->init;
	mc.init_sigma = cfg->init_sigma;
	mc.bn_momentum = 0.99f;
	mc.bn_eps = 1e-3f;
	mc.nthreads = cfg->nthreads;
	/* Fixed permutations, independent of the model seed: a saved model
	 * rebuilds them exactly. */
	fd_rng_seed(&prng, FLOW_PERM_SEED);
	for (l = 0; l < cfg->nlayers; l++) {
		struct flow_layer *L = &f->layer[l];
		char name[16];
		int np;

		snprintf(name, sizeof name, "flow%d", l);
		rc = fd_mlp_new(&mc, name, alloc, init_rng, err, &L->g);
		if (rc) {
			fd_flow_free(f);
			return rc;
		}
		/* Zero the output layer so each coupling starts as the identity. */
		np = fd_mlp_nparams(L->g);
		for (i = np - 2; i < np; i++) {
			struct fd_param *p = fd_mlp_param(L->g, i);
			memset(p->w, 0, p->n * sizeof(float));
		}
		L->perm = fd_malloc(alloc, (size_t)cfg->dim * sizeof(int32_t));
		L->pinv = fd_malloc(alloc, (size_t)cfg->dim * sizeof(int32_t));
		if (!L->perm || !L->pinv) {
			fd_flow_free(f);
			return fd_err_set(err, FDEN_E_NOMEM, "flow: out of memory");
		}
		fd_rng_perm(&prng, L->perm, cfg->dim);
		for (i = 0; i < cfg->dim; i++)
			L->pinv[L->perm[i]] = i;
	}
	*out = f;
	return FDEN_OK;
}

static void flow_free_ws(struct fd_flow *f)
{
	const struct fden_allocator *a = flow_alloc(f);
	int l;

	for (l = 0; l < f->cfg.nlayers; l++) {
		fd_free(a, f->layer[l].x1);
		fd_free(a, f->layer[l].x2);
		fd_free(a, f->layer[l].s);
		f->layer[l].x1 = f->layer[l].x2 = f->layer[l].s = NULL;
	}
	fd_free(a, f->y);
	fd_free(a, f->dcur);
	fd_free(a, f->dnext);
	fd_free(a, f->dh);
	fd_free(a, f->dx1);
	f->y = f->dcur = f->dnext = f->dh = f->dx1 = NULL;
	f->cap = 0;
}

void fd_flow_free(struct fd_flow *f)
{
	const struct fden_allocator *a;
	int l;

	if (!f)
		return;
	a = flow_alloc(f);
	flow_free_ws(f);
	for (l = 0; l < f->cfg.nlayers; l++) {
		fd_mlp_free(f->layer[l].g);
		fd_free(a, f->layer[l].perm);
		fd_free(a, f->layer[l].pinv);
	}
	fd_free(a, f);
}

void fd_flow_set_threads(struct fd_flow *f, int nthreads)
{
	int l;

	f->cfg.nthreads = nthreads;
	for (l = 0; l < f->cfg.nlayers; l++)
		fd_mlp_set_threads(f->layer[l].g, nthreads);
}

int fd_flow_reserve(struct fd_flow *f, int n, struct fd_err *err)
{
	const struct fden_allocator *a = flow_alloc(f);
	size_t nd = (size_t)n * f->cfg.dim;
	int l, rc;

	if (n <= f->cap)
		return FDEN_OK;
	flow_free_ws(f);
	{
		/* the coupling nets run one after another: one pair of panels for
		 * all, sized for two output gradients at once (fd_flow_backward_two) */
		struct fd_mlp *nets[FLOW_MAX_LAYERS];
		int rows[FLOW_MAX_LAYERS], two[FLOW_MAX_LAYERS];

		for (l = 0; l < f->cfg.nlayers; l++) {
			nets[l] = f->layer[l].g;
			rows[l] = n;
			two[l] = 1;
		}
		rc = fd_mlp_reserve_group(nets, rows, two, f->cfg.nlayers, err);
		if (rc)
			return rc;
	}
	for (l = 0; l < f->cfg.nlayers; l++) {
		struct flow_layer *L = &f->layer[l];

		L->x1 = fd_malloc(a, (size_t)n * f->d1 * sizeof(float));
		L->x2 = fd_malloc(a, (size_t)n * f->d2 * sizeof(float));
		L->s = fd_malloc(a, (size_t)n * f->d2 * sizeof(float));
		if (!L->x1 || !L->x2 || !L->s)
			goto nomem;
	}
	/* the backward buffers hold 2n rows, for two gradients at once */
	f->y = fd_malloc(a, nd * sizeof(float));
	f->dcur = fd_malloc(a, 2 * nd * sizeof(float));
	f->dnext = fd_malloc(a, 2 * nd * sizeof(float));
	f->dh = fd_malloc(a, (size_t)n * 4 * f->d2 * sizeof(float));
	f->dx1 = fd_malloc(a, (size_t)n * 2 * f->d1 * sizeof(float));
	if (!f->y || !f->dcur || !f->dnext || !f->dh || !f->dx1)
		goto nomem;
	f->cap = n;
	return FDEN_OK;
nomem:
	flow_free_ws(f);
	return fd_err_set(err, FDEN_E_NOMEM, "flow: out of memory reserving %d rows", n);
}

/* Split a row of x by perm into x1 (d1) and x2 (d2). */
static void split_row(const int32_t *perm, int d1, int d2, const float *x, float *x1, float *x2)
{
	int j;

	for (j = 0; j < d1; j++)
		x1[j] = x[perm[j]];
	for (j = 0; j < d2; j++)
		x2[j] = x[perm[d1 + j]];
}

/* The coupling's element-wise functions without libm calls, so its loops
 * vectorise (FD_CLONES: AVX-512F, AVX2 and baseline clones, the same
 * formulas in every clone).
 * libm's tanhf and expf were about 40% of a flow inference at Dim 512
 * (perf: __expf_fma, __tanhf, __expm1f), one call per element.
 *
 * flow_exp: e^x = 2^n e^r, n = round(x log2 e) (by the 1.5 * 2^23 trick,
 * no float -> int conversion, so a NaN stays a NaN), r = x - n ln 2 in two
 * parts (Cody-Waite), e^r by Cephes' expf polynomial; about 1 ulp for
 * |x| <= 87 (inputs here: |x| <= 2 c and 18). flow_tanh: (e^2u - 1) /
 * (e^2u + 1) with u clamped to +-9 (tanh(9) = 1 in float); absolute error
 * about 1e-7 near 0, where the ratio cancels, which is all the coupling
 * needs (s = c tanh(r / c) feeds exp and the log-det; its derivative in the
 * backward is 1 - (s / c)^2 of the s computed here). Forward, inverse and
 * backward use the same functions, so the inverse stays exact to rounding. */
/* Their clamps are selects, not branches, only without -ftrapping-math
 * (which keeps GCC from if-converting a float compare); nothing here
 * reads the FP exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#define FLOW_VEC __attribute__((optimize("no-trapping-math")))
#else
#define FLOW_VEC
#endif

FLOW_VEC static inline float flow_exp(float x)
{
	const float big = 12582912.0f; /* 1.5 * 2^23 */
	float t, n, r, p, sc;
	uint32_t tb, bb, e;

	x = x > 87.0f ? 87.0f : x < -87.0f ? -87.0f
					   : x; /* NaN passes through */
	t = x * 1.44269504088896341f + big;
	n = t - big; /* round(x log2 e), exactly */
	r = x - n * 0.693359375f;
	r = r - n * -2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * (r * r) + r + 1.0f;
	memcpy(&tb, &t, 4);
	memcpy(&bb, &big, 4);
	e = (tb - bb + 127u) << 23; /* 2^n: n = bits(t) - bits(big), |n| <= 126 */
	memcpy(&sc, &e, 4);
	return p * sc;
}

FLOW_VEC static inline float flow_tanh(float u)
{
	float e;

	u = u > 9.0f ? 9.0f : u < -9.0f ? -9.0f
					: u;
	e = flow_exp(2.0f * u);
	return (e - 1.0f) / (e + 1.0f);
}

/* s = c tanh(r / c) of n values (r: one row's first half of h). */
FD_CLONES FLOW_VEC static void scale_row(int n, float c, const float *restrict r, float *restrict s)
{
	float ic = 1.0f / c;

	for (int j = 0; j < n; j++)
		s[j] = c * flow_tanh(r[j] * ic);
}

/* y2 = x2 e^s + t for a row (s from scale_row); y2 may be x2. */
FD_CLONES FLOW_VEC static void affine_row(int n, const float *s, const float *x2, const float *t, float *y2)
{
	for (int j = 0; j < n; j++)
		y2[j] = x2[j] * flow_exp(s[j]) + t[j];
}

/* The coupling backward of a row: e = e^s; dxe = dy2 e (the x2 part of the
 * input gradient, before its scatter); dr = (dy2 x2 e + ds)(1 - (s/c)^2);
 * dt = dy2. */
FD_CLONES FLOW_VEC static void couple_back_row(int n, float ic, float ds, const float *restrict s,
					       const float *restrict x2, const float *restrict dy2,
					       float *restrict dxe, float *restrict dh)
{
	for (int j = 0; j < n; j++) {
		float e = flow_exp(s[j]), q = s[j] * ic;

		dxe[j] = dy2[j] * e;
		dh[j] = (dy2[j] * x2[j] * e + ds) * (1.0f - q * q);
		dh[n + j] = dy2[j];
	}
}

#define ROWBLK 256 /* element-wise work per row in blocks of this many (stack scratch) */

/* y2 = x2 * exp(s) + t, s = c tanh(r / c); h = [r, t]; s_out may be NULL
 * (y2 may be x2). Returns sum_j s_j, the row's log|det| of this coupling
 * (0 when s_out is NULL). */
static double couple_row(int d2, float c, const float *h, const float *x2, float *y2, float *s_out)
{
	float sb[ROWBLK] __attribute__((aligned(64)));
	double ld = 0;

	for (int j0 = 0; j0 < d2; j0 += ROWBLK) {
		int nb = d2 - j0 < ROWBLK ? d2 - j0 : ROWBLK;
		float *s = s_out ? s_out + j0 : sb;

		scale_row(nb, c, h + j0, s);
		affine_row(nb, s, x2 + j0, h + d2 + j0, y2 + j0);
		if (s_out)
			for (int j = 0; j < nb; j++) /* in order, in double: the log-det */
				ld += s[j];
	}
	return ld;
}

const float *fd_flow_forward(struct fd_flow *f, const float *X, int n)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2;
	const float c = f->cfg.clamp;
	const float *in = X;
	double ld = 0;
	int l, i;

	f->n = n;
	for (l = 0; l < f->cfg.nlayers; l++) {
		struct flow_layer *L = &f->layer[l];
		const float *h;

		for (i = 0; i < n; i++)
			split_row(L->perm, d1, d2, in + (size_t)i * dim, L->x1 + (size_t)i * d1,
				  L->x2 + (size_t)i * d2);
		h = fd_mlp_forward(L->g, L->x1, n, NULL, NULL);
		/* The output buffer may be the input of this layer (l > 0): the
		 * split copies above already took what is needed. */
		for (i = 0; i < n; i++) {
			float *y = f->y + (size_t)i * dim;

			memcpy(y, L->x1 + (size_t)i * d1, (size_t)d1 * sizeof(float));
			ld += couple_row(d2, c, h + (size_t)i * 2 * d2, L->x2 + (size_t)i * d2, y + d1,
					 L->s + (size_t)i * d2);
		}
		in = f->y;
	}
	f->logdet = ld;
	return f->y;
}

double fd_flow_logdet(const struct fd_flow *f)
{
	return f->logdet;
}

void fd_flow_backward(struct fd_flow *f, const float *dY, float *dX, float ds)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2, n = f->n;
	const float c = f->cfg.clamp;
	int l, i, j;

	for (l = f->cfg.nlayers - 1; l >= 0; l--) {
		struct flow_layer *L = &f->layer[l];
		const float *dy = (l == f->cfg.nlayers - 1) ? dY : f->dcur;
		float *dx = f->dnext;

		/* dx2 = dy2 e^s; dL/ds = dy2 x2 e^s + ds (log-det term); dr = dL/ds (1 - (s/c)^2); dt = dy2 */
		for (i = 0; i < n; i++) {
			const float *dy2 = dy + (size_t)i * dim + d1;
			const float *x2 = L->x2 + (size_t)i * d2, *s = L->s + (size_t)i * d2;
			float *dh = f->dh + (size_t)i * 2 * d2;
			float *dxr = dx + (size_t)i * dim;
			float dxe[ROWBLK] __attribute__((aligned(64)));

			if (d2 <= ROWBLK) {
				couple_back_row(d2, 1.0f / c, ds, s, x2, dy2, dxe, dh);
				for (j = 0; j < d2; j++)
					dxr[L->perm[d1 + j]] = dxe[j];
				continue;
			}
			for (j = 0; j < d2; j++) { /* wide rows: the same formulas, one at a time */
				float e = flow_exp(s[j]), q = s[j] / c;

				dxr[L->perm[d1 + j]] = dy2[j] * e;
				dh[j] = (dy2[j] * x2[j] * e + ds) * (1.0f - q * q);
				dh[d2 + j] = dy2[j];
			}
		}
		fd_mlp_backward(L->g, f->dh, f->dx1, NULL);
		for (i = 0; i < n; i++) {
			const float *dy1 = dy + (size_t)i * dim, *g1 = f->dx1 + (size_t)i * d1;
			float *dxr = dx + (size_t)i * dim;

			for (j = 0; j < d1; j++)
				dxr[L->perm[j]] = dy1[j] + g1[j];
		}
		/* swap: this layer's input gradient is the next one's output gradient */
		f->dnext = f->dcur;
		f->dcur = dx;
	}
	if (dX)
		memcpy(dX, f->dcur, (size_t)n * dim * sizeof(float));
}

/* One coupling's element-wise backward over rows rows of dy (row i of the
 * caches: i mod n): dh = [dr, dt] for the net, dx's x2 columns scattered
 * by the permutation. ds is dL/dlog|det| of rows below nds, 0 after. */
static void couple_back(struct fd_flow *f, const struct flow_layer *L, size_t rows, size_t nds,
			float ds, const float *dy, float *dx)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2;
	const float c = f->cfg.clamp;
	const size_t n = (size_t)f->n;

	for (size_t i = 0; i < rows; i++) {
		const float *dy2 = dy + i * dim + d1;
		const float *x2 = L->x2 + (i % n) * d2, *s = L->s + (i % n) * d2;
		float *dh = f->dh + i * 2 * d2, *dxr = dx + i * dim;
		float dsi = i < nds ? ds : 0.0f;
		float dxe[ROWBLK] __attribute__((aligned(64)));

		if (d2 <= ROWBLK) {
			couple_back_row(d2, 1.0f / c, dsi, s, x2, dy2, dxe, dh);
			for (int j = 0; j < d2; j++)
				dxr[L->perm[d1 + j]] = dxe[j];
			continue;
		}
		for (int j = 0; j < d2; j++) { /* wide rows: the same formulas, one at a time */
			float e = flow_exp(s[j]), q = s[j] / c;

			dxr[L->perm[d1 + j]] = dy2[j] * e;
			dh[j] = (dy2[j] * x2[j] * e + dsi) * (1.0f - q * q);
			dh[d2 + j] = dy2[j];
		}
	}
}

int fd_flow_backward_two(struct fd_flow *f, const float *dY, float *dX, float ds,
			 float *tmp, fd_mlp_hook_fn hook, void *ctx)
{
	const int dim = f->cfg.dim, d1 = f->d1;
	const size_t n = (size_t)f->n, rows = 2 * n;
	struct fd_mlp_bwd o = { .set = 1, .two = 1, .tmp = tmp, .hook = hook, .ctx = ctx, .dy_lib = 1 }; /* f->dh: fd_malloc */

	if (n < 1 || !tmp || !hook)
		return FDEN_E_INVALID;
	for (int l = f->cfg.nlayers - 1; l >= 0; l--) {
		struct flow_layer *L = &f->layer[l];
		const float *dy = (l == f->cfg.nlayers - 1) ? dY : f->dcur;
		/* the first layer writes the flow's input gradient straight to dX */
		float *dx = l > 0 ? f->dnext : dX;

		if (!dx) { /* the first layer without dX: only the net's gradients */
			couple_back(f, L, rows, n, ds, dy, f->dnext);
			if (fd_mlp_backward(L->g, f->dh, NULL, &o))
				return FDEN_E_INVALID;
			break;
		}
		couple_back(f, L, rows, n, ds, dy, dx);
		/* dx1 = [g_u rows; g_m rows] of the net's input, one 2n-row product */
		if (fd_mlp_backward(L->g, f->dh, f->dx1, &o))
			return FDEN_E_INVALID; /* no 2n-row panels: only the last layer can refuse */
		for (size_t i = 0; i < rows; i++) {
			const float *dy1 = dy + i * dim, *g1 = f->dx1 + i * d1;
			float *dxr = dx + i * dim;

			for (int j = 0; j < d1; j++)
				dxr[L->perm[j]] = dy1[j] + g1[j];
		}
		if (l > 0) { /* this layer's input gradient is the next one's output gradient */
			f->dnext = f->dcur;
			f->dcur = dx;
		}
	}
	return FDEN_OK;
}

size_t fd_flow_hook_ws(const struct fd_flow *f)
{
	return fd_mlp_hook_ws(f->layer[0].g);
}

size_t fd_flow_ws(const struct fd_flow *f, int n)
{
	const struct flow_layer *L = &f->layer[0];

	/* h, one n x dim buffer, the coupling net's own workspace, a row */
	return (size_t)n * (2 * f->d2 + f->cfg.dim) + fd_mlp_infer_ws(L->g, n) + f->cfg.dim + 64;
}

/* The buffer pass k of npass writes: Y and tmp take turns, so that the
 * last pass (k = npass - 1) writes Y and no output is ever copied. */
static float *pass_out(int k, int npass, float *Y, float *tmp)
{
	return (npass - 1 - k) % 2 == 0 ? Y : tmp;
}

/* Evaluation's coupling of a block of n <= ROWBLK columns: h = [r, t]
 * without the coupling net's last bias bias = [br, bt] (fd_mlp_infer_ld,
 * last_bias 0), added here with the training forward's expressions
 * (r + br, then t + bt: the same bits). y2 = x2 e^s + (t + bt),
 * s = c tanh((r + br) / c), in two loops (one with both exponentials ran
 * slower). */
FD_CLONES FLOW_VEC static void couple_fwd_blk(int n, float c, const float *restrict r,
					      const float *restrict br, const float *restrict t,
					      const float *restrict bt, const float *restrict x2,
					      float *restrict y2)
{
	float ic = 1.0f / c, s[ROWBLK] __attribute__((aligned(64)));

	for (int j = 0; j < n; j++)
		s[j] = c * flow_tanh((r[j] + br[j]) * ic);
	for (int j = 0; j < n; j++)
		y2[j] = x2[j] * flow_exp(s[j]) + (t[j] + bt[j]);
}

/* x2 = (y2 - (t + bt)) e^-s, the same s. */
FD_CLONES FLOW_VEC static void couple_inv_blk(int n, float c, const float *restrict r,
					      const float *restrict br, const float *restrict t,
					      const float *restrict bt, const float *restrict y2,
					      float *restrict x2)
{
	float ic = 1.0f / c, s[ROWBLK] __attribute__((aligned(64)));

	for (int j = 0; j < n; j++)
		s[j] = c * flow_tanh((r[j] + br[j]) * ic);
	for (int j = 0; j < n; j++)
		x2[j] = (y2[j] - (t[j] + bt[j])) * flow_exp(-s[j]);
}

/* dst[k] = src[idx[k]]: a gather, which GCC vectorises (the FD_CLONES clones);
 * measured faster than the equivalent scatter dst[pinv[j]] = src[j]. */
FD_CLONES static void gather_row(int n, const int32_t *restrict idx, const float *restrict src,
				 float *restrict dst)
{
	for (int k = 0; k < n; k++)
		dst[k] = src[idx[k]];
}

/* Evaluation keeps every layer's input in that layer's permuted order
 * (x1 = columns [0, d1), x2 the rest): the coupling net reads x1 in place
 * (row stride dim), and each layer's output row [x1, y2] is built in a
 * row buffer ob and gathered straight into the next layer's order (nperm,
 * the next layer's permutation; NULL for the last layer, which writes Y's
 * order directly). One gather before the first layer and one a layer,
 * instead of a gather, a copy and a write. */
static void couple_out_row(int d1, int d2, float c, const int32_t *nperm, const float *h,
			   const float *bias, const float *p, float *ob, float *y)
{
	float *o = nperm ? ob : y;

	memcpy(o, p, (size_t)d1 * sizeof(float));
	for (int j0 = 0; j0 < d2; j0 += ROWBLK)
		couple_fwd_blk(d2 - j0 < ROWBLK ? d2 - j0 : ROWBLK, c, h + j0, bias + j0, h + d2 + j0,
			       bias + d2 + j0, p + d1 + j0, o + d1 + j0);
	if (nperm)
		gather_row(d1 + d2, nperm, ob, y);
}

void fd_flow_infer(const struct fd_flow *f, const float *X, int n, float *Y, float *ws)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2, nl = f->cfg.nlayers;
	float *h = ws, *tmp = h + (size_t)n * 2 * d2;
	float *mws = tmp + (size_t)n * dim, *ob = mws + fd_mlp_infer_ws(f->layer[0].g, n);
	float *src = pass_out(0, nl + 1, Y, tmp);

	for (int i = 0; i < n; i++) /* the first layer's order */
		gather_row(dim, f->layer[0].perm, X + (size_t)i * dim, src + (size_t)i * dim);
	for (int l = 0; l < nl; l++) {
		const struct flow_layer *L = &f->layer[l];
		const int32_t *nperm = l + 1 < nl ? f->layer[l + 1].perm : NULL;
		const float *bias = fd_mlp_last_bias(L->g);
		float *dst = pass_out(l + 1, nl + 1, Y, tmp);

		fd_mlp_infer_ld(L->g, src, dim, n, h, mws, 0);
		for (int i = 0; i < n; i++)
			couple_out_row(d1, d2, f->cfg.clamp, nperm, h + (size_t)i * 2 * d2, bias,
				       src + (size_t)i * dim, ob, dst + (size_t)i * dim);
		src = dst;
	}
}

void fd_flow_inverse(const struct fd_flow *f, const float *Y, int n, float *X, float *ws)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2, nl = f->cfg.nlayers;
	const float c = f->cfg.clamp;
	float *h = ws, *tmp = h + (size_t)n * 2 * d2;
	float *mws = tmp + (size_t)n * dim, *ob = mws + fd_mlp_infer_ws(f->layer[0].g, n);
	const float *src = Y;

	for (int l = nl - 1; l >= 0; l--) {
		const struct flow_layer *L = &f->layer[l];
		const float *bias = fd_mlp_last_bias(L->g);
		float *dst = pass_out(nl - 1 - l, nl, X, tmp);

		fd_mlp_infer_ld(L->g, src, dim, n, h, mws, 0); /* y1 = x1 in place */
		/* p = [y1, (y2 - t) e^{-s}]; x[perm[j]] = p[j], i.e. x[k] = p[pinv[k]] */
		for (int i = 0; i < n; i++) {
			const float *y = src + (size_t)i * dim, *hr = h + (size_t)i * 2 * d2;

			memcpy(ob, y, (size_t)d1 * sizeof(float));
			for (int j0 = 0; j0 < d2; j0 += ROWBLK)
				couple_inv_blk(d2 - j0 < ROWBLK ? d2 - j0 : ROWBLK, c, hr + j0,
					       bias + j0, hr + d2 + j0, bias + d2 + j0, y + d1 + j0,
					       ob + d1 + j0);
			gather_row(dim, L->pinv, ob, dst + (size_t)i * dim);
		}
		src = dst;
	}
}

void fd_flow_zero_grad(struct fd_flow *f)
{
	int l;

	for (l = 0; l < f->cfg.nlayers; l++)
		fd_mlp_zero_grad(f->layer[l].g);
}

int fd_flow_nparams(const struct fd_flow *f)
{
	return f->cfg.nlayers * fd_mlp_nparams(f->layer[0].g);
}

struct fd_param *fd_flow_param(struct fd_flow *f, int i)
{
	int per = fd_mlp_nparams(f->layer[0].g);

	return fd_mlp_param(f->layer[i / per].g, i % per);
}

double fd_flow_train_flops(const struct fd_flow *f, int n)
{
	return f->cfg.nlayers * fd_mlp_train_flops(f->layer[0].g, n);
}
