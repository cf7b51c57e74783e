/* Affine coupling flow: see flow.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/flow.h"

#define FLOW_MAX_LAYERS 64
#define FLOW_PERM_SEED 0xf10f10f10ull

struct flow_layer {
	struct fd_mlp *g;  /* d1 -> ... -> 2 d2 */
	int32_t *perm;     /* p[j] = x[perm[j]] */
	float *x1, *x2;    /* training caches: n x d1, n x d2 (permuted input) */
	float *s;          /* n x d2, clamped log-scale */
};

struct fd_flow {
	struct fden_allocator alloc;
	int has_alloc;
	struct fd_flow_cfg cfg;
	int d1, d2, cap;
	int n;              /* rows of the last training forward */
	double logdet;      /* sum over rows and layers of s: log|det dY/dX| of that forward */
	struct flow_layer layer[FLOW_MAX_LAYERS];
	float *y;          /* n x dim: output of the last training forward */
	float *dcur, *dnext; /* n x dim: backward buffers */
	float *dh;         /* n x 2 d2 */
	float *dx1;        /* n x d1 */
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
		if (!L->perm) {
			fd_flow_free(f);
			return fd_err_set(err, FDEN_E_NOMEM, "flow: out of memory");
		}
		fd_rng_perm(&prng, L->perm, cfg->dim);
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
	for (l = 0; l < f->cfg.nlayers; l++) {
		struct flow_layer *L = &f->layer[l];

		rc = fd_mlp_reserve(L->g, n, err);
		if (rc)
			return rc;
		L->x1 = fd_malloc(a, (size_t)n * f->d1 * sizeof(float));
		L->x2 = fd_malloc(a, (size_t)n * f->d2 * sizeof(float));
		L->s = fd_malloc(a, (size_t)n * f->d2 * sizeof(float));
		if (!L->x1 || !L->x2 || !L->s)
			goto nomem;
	}
	f->y = fd_malloc(a, nd * sizeof(float));
	f->dcur = fd_malloc(a, nd * sizeof(float));
	f->dnext = fd_malloc(a, nd * sizeof(float));
	f->dh = fd_malloc(a, (size_t)n * 2 * f->d2 * sizeof(float));
	f->dx1 = fd_malloc(a, (size_t)n * f->d1 * sizeof(float));
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

/* y2 = x2 * exp(s) + t, s = c tanh(r / c); h = [r, t]; s_out may be NULL.
 * Returns sum_j s_j, the row's log|det| of this coupling. */
static double couple_row(int d2, float c, const float *h, const float *x2, float *y2, float *s_out)
{
	double ld = 0;
	int j;

	for (j = 0; j < d2; j++) {
		float s = c * tanhf(h[j] / c);

		if (s_out)
			s_out[j] = s;
		ld += s;
		y2[j] = x2[j] * expf(s) + h[d2 + j];
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

			for (j = 0; j < d2; j++) {
				float e = expf(s[j]), q = s[j] / c;

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

size_t fd_flow_ws(const struct fd_flow *f, int n)
{
	const struct flow_layer *L = &f->layer[0];

	/* x1, h, plus the coupling net's own workspace, plus one row block */
	return (size_t)n * (f->d1 + 2 * f->d2 + f->cfg.dim) + fd_mlp_infer_ws(L->g, n) + 64;
}

void fd_flow_infer(const struct fd_flow *f, const float *X, int n, float *Y, float *ws)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2;
	float *x1 = ws, *h = x1 + (size_t)n * d1, *tmp = h + (size_t)n * 2 * d2;
	float *mws = tmp + (size_t)n * dim;
	int l, i;

	memcpy(tmp, X, (size_t)n * dim * sizeof(float));
	for (l = 0; l < f->cfg.nlayers; l++) {
		const struct flow_layer *L = &f->layer[l];

		for (i = 0; i < n; i++) {
			const float *x = tmp + (size_t)i * dim;
			float *y = Y + (size_t)i * dim;

			split_row(L->perm, d1, d2, x, x1 + (size_t)i * d1, y + d1);
		}
		fd_mlp_infer(L->g, x1, n, h, mws);
		for (i = 0; i < n; i++) {
			float *y = Y + (size_t)i * dim;

			memcpy(y, x1 + (size_t)i * d1, (size_t)d1 * sizeof(float));
			(void)couple_row(d2, f->cfg.clamp, h + (size_t)i * 2 * d2, y + d1, y + d1, NULL);
		}
		if (l + 1 < f->cfg.nlayers)
			memcpy(tmp, Y, (size_t)n * dim * sizeof(float));
	}
}

void fd_flow_inverse(const struct fd_flow *f, const float *Y, int n, float *X, float *ws)
{
	const int dim = f->cfg.dim, d1 = f->d1, d2 = f->d2;
	const float c = f->cfg.clamp;
	float *y1 = ws, *h = y1 + (size_t)n * d1, *tmp = h + (size_t)n * 2 * d2;
	float *mws = tmp + (size_t)n * dim;
	int l, i, j;

	memcpy(tmp, Y, (size_t)n * dim * sizeof(float));
	for (l = f->cfg.nlayers - 1; l >= 0; l--) {
		const struct flow_layer *L = &f->layer[l];

		for (i = 0; i < n; i++)
			memcpy(y1 + (size_t)i * d1, tmp + (size_t)i * dim, (size_t)d1 * sizeof(float));
		fd_mlp_infer(L->g, y1, n, h, mws);
		/* x2 = (y2 - t) e^{-s}; x[perm[j]] = p[j] */
		for (i = 0; i < n; i++) {
			const float *y = tmp + (size_t)i * dim, *hr = h + (size_t)i * 2 * d2;
			float *x = X + (size_t)i * dim;

			for (j = 0; j < d1; j++)
				x[L->perm[j]] = y[j];
			for (j = 0; j < d2; j++) {
				float s = c * tanhf(hr[j] / c);

				x[L->perm[d1 + j]] = (y[d1 + j] - hr[d2 + j]) * expf(-s);
			}
		}
		if (l > 0)
			memcpy(tmp, X, (size_t)n * dim * sizeof(float));
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
