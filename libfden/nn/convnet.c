/* The sequential conv net (convnet.h). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "kernels/gemm.h"
#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/conv.h"
#include "nn/convnet.h"
#include "nn/convt.h"
#include "nn/init.h"

#define PAD 16 /* floats: tensors start on 64-byte boundaries */

struct cl {
	struct fd_cl_plan sh;
	int kind, act, bn, bias;
	int rows, cols;       /* per image: the (rows x cols) view of the output */
	size_t in_sz, out_sz; /* floats per image */
	struct fd_conv2d cg;
	struct fd_convt2d tg;
	struct fd_param *pw, *pb, *pgamma, *pbeta;
	float *run_mean, *run_var;
	/* training caches */
	float *col, *xhat, *a, *mean, *inv_std;
	const float *in;
};

struct fd_convnet {
	struct fden_allocator alloc;
	int has_alloc;
	struct fd_convnet_plan plan;
	struct cl L[FD_CONVNET_MAX_LAYERS];
	float slope, bn_momentum, bn_eps;
	int nthreads;
	struct fd_param params[4 * FD_CONVNET_MAX_LAYERS];
	struct fd_buffer bufs[2 * FD_CONVNET_MAX_LAYERS];
	float *block, *bufblock;
	size_t maxsz, maxcol, maxcols; /* per image: largest output, col; widest view */
	/* workspace */
	float *ws, *dA, *dB, *dcol, *bnscr;
	int cap, n;
	int bn_seeded; /* 1: running statistics estimated (first forward done, or loaded) */
};

static size_t padn(size_t n)
{
	return (n + PAD - 1) / PAD * PAD;
}

static const struct fden_allocator *alloc_of(const struct fd_convnet *m)
{
	return m->has_alloc ? &m->alloc : NULL;
}

static int bad(struct fd_err *err, int i, const char *what)
{
	return fd_err_set(err, FDEN_E_INVALID, "convnet: layer %d: %s", i, what);
}

int fd_convnet_plan(const struct fd_convnet_cfg *cfg, struct fd_convnet_plan *plan,
		    struct fd_err *err)
{
	int h, w, c;

	if (!cfg || !plan || !cfg->layers)
		return fd_err_set(err, FDEN_E_INVALID, "convnet: NULL cfg, plan or layers");
	if (cfg->nlayers < 1 || cfg->nlayers > FD_CONVNET_MAX_LAYERS)
		return fd_err_set(err, FDEN_E_INVALID, "convnet: %d layers (1 .. %d)",
				  cfg->nlayers, FD_CONVNET_MAX_LAYERS);
	if (cfg->h < 1 || cfg->w < 1 || cfg->c < 1 || (double)cfg->h * cfg->w * cfg->c > INT_MAX)
		return fd_err_set(err, FDEN_E_INVALID, "convnet: input %d x %d x %d", cfg->h,
				  cfg->w, cfg->c);
	if (!(cfg->leaky_slope >= 0.0f) || !(cfg->bn_eps > 0.0f) ||
	    !(cfg->bn_momentum >= 0.0f && cfg->bn_momentum < 1.0f))
		return fd_err_set(err, FDEN_E_INVALID, "convnet: slope %g, bn eps %g, momentum %g",
				  (double)cfg->leaky_slope, (double)cfg->bn_eps,
				  (double)cfg->bn_momentum);
	memset(plan, 0, sizeof *plan);
	plan->nlayers = cfg->nlayers;
	h = cfg->h;
	w = cfg->w;
	c = cfg->c;
	plan->in = (size_t)h * w * c;
	for (int i = 0; i < cfg->nlayers; i++) {
		const struct fd_cl_spec *s = &cfg->layers[i];
		struct fd_cl_plan *L = &plan->L[i];
		struct fd_conv2d cg;
		struct fd_convt2d tg;
		size_t outsz;

		if (!fd_act_valid(s->act))
			return bad(err, i, "unknown activation");
		if (s->ch < 1)
			return bad(err, i, "ch < 1");
		L->ih = h;
		L->iw = w;
		L->ic = c;
		switch (s->kind) {
		case FD_CL_CONV:
			if (fd_conv2d_init(&cg, h, w, c, s->ch, s->k, s->s, s->p))
				return bad(err, i, "bad convolution geometry");
			L->oh = cg.oh;
			L->ow = cg.ow;
			L->nw = (size_t)s->k * s->k * c * s->ch;
			L->col = fd_conv2d_col_floats(&cg, 1);
			break;
		case FD_CL_CONVT:
			if (fd_convt2d_init(&tg, h, w, c, s->ch, s->k, s->s, s->p, s->opad))
				return bad(err, i, "bad transposed-convolution geometry");
			L->oh = tg.oh;
			L->ow = tg.ow;
			L->nw = (size_t)c * s->k * s->k * s->ch;
			L->col = fd_convt2d_col_floats(&tg, 1);
			break;
		case FD_CL_DENSE:
			L->oh = s->out_h > 0 ? s->out_h : 1;
			L->ow = s->out_w > 0 ? s->out_w : 1;
			if ((double)L->oh * L->ow * s->ch > INT_MAX / 2)
				return bad(err, i, "dense output too wide");
			L->nw = (size_t)h * w * c * ((size_t)L->oh * L->ow * s->ch);
			break;
		default:
			return bad(err, i, "unknown kind");
		}
		L->oc = s->ch;
		outsz = (size_t)L->oh * L->ow * L->oc;
		if ((double)outsz > INT_MAX / 2 || (double)L->nw > 1e10 || (double)L->col > 1e10)
			return bad(err, i, "too large");
		L->has_bn = s->batchnorm != 0;
		L->has_bias = !L->has_bn && s->bias;
		plan->nparams += 1 + L->has_bias + 2 * L->has_bn;
		plan->nbuffers += 2 * L->has_bn;
		{
			size_t wd = s->kind == FD_CL_DENSE ? outsz : (size_t)L->oc;
			plan->param_floats += L->nw + (L->has_bias + 2 * L->has_bn) * wd;
		}
		h = L->oh;
		w = L->ow;
		c = L->oc;
	}
	plan->out = (size_t)h * w * c;
	return FDEN_OK;
}

/* the width batch norm and bias run over: channels, or a dense layer's outputs */
static size_t view_cols(const struct fd_convnet_plan *p, int i, int dense)
{
	const struct fd_cl_plan *L = &p->L[i];

	return dense ? (size_t)L->oh * L->ow * L->oc : (size_t)L->oc;
}

static void desc(const struct fd_convnet_plan *p, const char *prefix, int i, int buffers,
		 char name[32], size_t *n)
{
	static const char *const pn[] = { "w", "b", "gamma", "beta" };
	static const char *const bn[] = { "mean", "var" };

	*n = 0;
	name[0] = 0;
	for (int l = 0; l < p->nlayers; l++) {
		const struct fd_cl_plan *L = &p->L[l];
		int dense = L->col == 0;
		size_t wd = view_cols(p, l, dense);
		const char *which[4];
		size_t size[4];
		int k = 0;

		if (buffers) {
			if (L->has_bn) {
				which[k] = bn[0], size[k++] = wd;
				which[k] = bn[1], size[k++] = wd;
			}
		} else {
			which[k] = pn[0], size[k++] = L->nw;
			if (L->has_bias)
				which[k] = pn[1], size[k++] = wd;
			if (L->has_bn) {
				which[k] = pn[2], size[k++] = wd;
				which[k] = pn[3], size[k++] = wd;
			}
		}
		if (i < k) {
			snprintf(name, 32, "%s%d.%s", prefix ? prefix : "", l, which[i]);
			*n = size[i];
			return;
		}
		i -= k;
	}
}

void fd_convnet_param_desc(const struct fd_convnet_plan *plan, const char *prefix, int i,
			   char name[32], size_t *n)
{
	desc(plan, prefix, i, 0, name, n);
}

void fd_convnet_buffer_desc(const struct fd_convnet_plan *plan, const char *prefix, int i,
			    char name[32], size_t *n)
{
	desc(plan, prefix, i, 1, name, n);
}

void fd_convnet_free(struct fd_convnet *m)
{
	const struct fden_allocator *a;

	if (!m)
		return;
	a = alloc_of(m);
	fd_free(a, m->ws);
	fd_free(a, m->block);
	fd_free(a, m->bufblock);
	fd_free(a, m);
}

static void init_weights(const struct fd_convnet_cfg *cfg, const struct cl *L,
			 struct fd_rng *r, float *w)
{
	double fin, fout, kk;

	kk = L->kind == FD_CL_DENSE ? 1.0 : (double)L->cg.k * L->cg.k;
	switch (L->kind) {
	case FD_CL_CONV:
		fin = kk * L->sh.ic;
		fout = kk * L->sh.oc;
		break;
	case FD_CL_CONVT: /* each output sees c k k / s^2 inputs on average */
		kk = (double)L->tg.k * L->tg.k;
		fin = kk * L->sh.ic / ((double)L->tg.s * L->tg.s);
		fout = kk * L->sh.oc;
		break;
	default:
		fin = (double)L->in_sz;
		fout = (double)L->out_sz;
		break;
	}
	if (fin < 1)
		fin = 1;
	switch (cfg->init) {
	case FD_INIT_HE_NORMAL: /* sigma = sqrt(2 / fan_in) */
		fd_rng_fill_normal(r, w, L->sh.nw, (float)sqrt(2.0 / fin));
		break;
	case FD_INIT_GLOROT_NORMAL: /* sigma = sqrt(2 / (fan_in + fan_out)) */
		fd_rng_fill_normal(r, w, L->sh.nw, (float)sqrt(2.0 / (fin + fout)));
		break;
	default:
		fd_init_trunc_normal(r, w, L->sh.nw, cfg->init_sigma);
		break;
	}
}

int fd_convnet_new(const struct fd_convnet_cfg *cfg, const char *prefix,
		   const struct fden_allocator *alloc, struct fd_rng *init_rng,
		   struct fd_err *err, struct fd_convnet **out)
{
	struct fd_convnet *m;
	struct fd_convnet_plan plan;
	size_t sec = 0, bsec = 0, off = 0, boff = 0;
	int rc, np = 0, nb = 0;

	if (!init_rng || !out)
		return fd_err_set(err, FDEN_E_INVALID, "convnet: NULL %s",
				  !init_rng ? "init_rng" : "out");
	if (alloc && (!alloc->alloc || !alloc->free))
		return fd_err_set(err, FDEN_E_INVALID, "convnet: allocator without alloc/free");
	if ((rc = fd_convnet_plan(cfg, &plan, err)))
		return rc;
	for (int i = 0; i < plan.nparams; i++) {
		char nm[32];
		size_t n;
		fd_convnet_param_desc(&plan, prefix, i, nm, &n);
		sec += padn(n);
	}
	for (int i = 0; i < plan.nbuffers; i++) {
		char nm[32];
		size_t n;
		fd_convnet_buffer_desc(&plan, prefix, i, nm, &n);
		bsec += padn(n);
	}
	m = fd_calloc(alloc, 1, sizeof *m);
	if (!m)
		return fd_err_set(err, FDEN_E_NOMEM, "convnet: no memory for the handle");
	if (alloc) {
		m->alloc = *alloc;
		m->has_alloc = 1;
	}
	m->plan = plan;
	m->slope = cfg->leaky_slope;
	m->bn_momentum = cfg->bn_momentum;
	m->bn_eps = cfg->bn_eps;
	m->nthreads = cfg->nthreads > 0 ? cfg->nthreads : 1;
	m->block = fd_calloc(alloc, 4 * sec, sizeof(float));
	m->bufblock = bsec ? fd_calloc(alloc, bsec, sizeof(float)) : NULL;
	if (!m->block || (bsec && !m->bufblock)) {
		fd_convnet_free(m);
		return fd_err_set(err, FDEN_E_NOMEM, "convnet: no memory for %zu parameter floats",
				  4 * sec);
	}
	for (int i = 0; i < plan.nlayers; i++) {
		const struct fd_cl_spec *s = &cfg->layers[i];
		struct cl *L = &m->L[i];
		size_t wd;

		L->sh = plan.L[i];
		L->kind = s->kind;
		L->act = s->act;
		L->bn = L->sh.has_bn;
		L->bias = L->sh.has_bias;
		L->in_sz = (size_t)L->sh.ih * L->sh.iw * L->sh.ic;
		L->out_sz = (size_t)L->sh.oh * L->sh.ow * L->sh.oc;
		if (s->kind == FD_CL_CONV)
			fd_conv2d_init(&L->cg, L->sh.ih, L->sh.iw, L->sh.ic, s->ch, s->k, s->s, s->p);
		if (s->kind == FD_CL_CONVT)
			fd_convt2d_init(&L->tg, L->sh.ih, L->sh.iw, L->sh.ic, s->ch, s->k, s->s, s->p,
					s->opad);
		L->rows = s->kind == FD_CL_DENSE ? 1 : L->sh.oh * L->sh.ow;
		L->cols = (int)view_cols(&plan, i, s->kind == FD_CL_DENSE);
		wd = (size_t)L->cols;
		if (L->out_sz > m->maxsz)
			m->maxsz = L->out_sz;
		if (L->sh.col > m->maxcol)
			m->maxcol = L->sh.col;
		if (wd > m->maxcols)
			m->maxcols = wd;
		/* tensors in the order of fd_convnet_param_desc */
		for (int t = 0; t < 1 + L->bias + 2 * L->bn; t++) {
			struct fd_param *p = &m->params[np];
			size_t n;

			fd_convnet_param_desc(&plan, prefix, np, p->name, &n);
			p->n = n;
			p->w = m->block + off;
			p->g = m->block + sec + off;
			p->m = m->block + 2 * sec + off;
			p->v = m->block + 3 * sec + off;
			off += padn(n);
			np++;
			if (t == 0)
				L->pw = p;
			else if (L->bias)
				L->pb = p;
			else if (t == 1)
				L->pgamma = p;
			else
				L->pbeta = p;
		}
		init_weights(cfg, L, init_rng, L->pw->w);
		if (L->bn) {
			for (int t = 0; t < 2; t++) {
				struct fd_buffer *b = &m->bufs[nb];
				size_t n;

				fd_convnet_buffer_desc(&plan, prefix, nb, b->name, &n);
				b->n = n;
				b->x = m->bufblock + boff;
				boff += padn(n);
				nb++;
			}
			L->run_mean = m->bufs[nb - 2].x;
			L->run_var = m->bufs[nb - 1].x;
			for (size_t j = 0; j < wd; j++) {
				L->pgamma->w[j] = 1.0f;
				L->run_var[j] = 1.0f;
			}
		}
	}
	*out = m;
	return FDEN_OK;
}

const struct fd_convnet_plan *fd_convnet_get_plan(const struct fd_convnet *m)
{
	return &m->plan;
}

void fd_convnet_set_threads(struct fd_convnet *m, int nthreads)
{
	m->nthreads = nthreads > 0 ? nthreads : 1;
}

int fd_convnet_reserve(struct fd_convnet *m, int n, struct fd_err *err)
{
	const struct fden_allocator *a = alloc_of(m);
	size_t total = 0, off = 0;
	double est = 0;
	float *ws;

	if (n < 1)
		return fd_err_set(err, FDEN_E_INVALID, "convnet: reserve %d rows", n);
	if (n <= m->cap)
		return FDEN_OK;
	/* caches: col, xhat, a, mean, inv_std per layer; dA, dB, dcol, bn scratch */
	for (int i = 0; i < m->plan.nlayers; i++) {
		const struct cl *L = &m->L[i];
		est += (double)n * L->sh.col + (L->bn ? 2.0 : 1.0) * n * L->out_sz + 2 * L->cols + 64;
	}
	est += 2.0 * n * (double)(m->maxsz > m->plan.in ? m->maxsz : m->plan.in) +
	       (double)n * m->maxcol + 2.0 * m->maxcols + 64;
	if (est * sizeof(float) > (double)(SIZE_MAX / 4) || (double)n * m->maxsz > INT_MAX ||
	    (double)n * m->maxcol / 1 > 1e12)
		return fd_err_set(err, FDEN_E_OVERFLOW, "convnet: a %d-row workspace overflows", n);
	for (int i = 0; i < m->plan.nlayers; i++) {
		const struct cl *L = &m->L[i];
		total += padn((size_t)n * L->sh.col) + padn((size_t)n * L->out_sz);
		if (L->bn)
			total += padn((size_t)n * L->out_sz) + 2 * padn((size_t)L->cols);
	}
	{
		size_t big = m->maxsz > m->plan.in ? m->maxsz : m->plan.in;
		total += 2 * padn((size_t)n * big) + padn((size_t)n * m->maxcol) +
			 padn(2 * m->maxcols);
	}
	ws = fd_malloc(a, total * sizeof(float));
	if (!ws)
		return fd_err_set(err, FDEN_E_NOMEM, "convnet: no memory for a %d-row workspace "
						     "(%zu floats)",
				  n, total);
	fd_free(a, m->ws);
	m->ws = ws;
	m->cap = n;
	for (int i = 0; i < m->plan.nlayers; i++) {
		struct cl *L = &m->L[i];
		L->col = L->sh.col ? ws + off : NULL;
		off += padn((size_t)n * L->sh.col);
		L->a = ws + off;
		off += padn((size_t)n * L->out_sz);
		if (L->bn) {
			L->xhat = ws + off;
			off += padn((size_t)n * L->out_sz);
			L->mean = ws + off;
			off += padn((size_t)L->cols);
			L->inv_std = ws + off;
			off += padn((size_t)L->cols);
		} else {
			L->xhat = NULL;
		}
	}
	{
		size_t big = m->maxsz > m->plan.in ? m->maxsz : m->plan.in;
		m->dA = ws + off;
		off += padn((size_t)n * big);
		m->dB = ws + off;
		off += padn((size_t)n * big);
		m->dcol = ws + off;
		off += padn((size_t)n * m->maxcol);
		m->bnscr = ws + off;
	}
	return FDEN_OK;
}

/* Z = the layer's product of n images at X (Z: n out_sz floats) */
static void product(const struct fd_convnet *m, const struct cl *L, const float *X, int n,
		    float *col, float *Z, int padded)
{
	int in = (int)L->in_sz, out = (int)L->out_sz;

	switch (L->kind) {
	case FD_CL_CONV:
		fd_conv2d_forward(&L->cg, X, n, L->pw->w, col, Z, m->nthreads, 1);
		break;
	case FD_CL_CONVT:
		fd_convt2d_forward(&L->tg, X, n, L->pw->w, col, Z, m->nthreads, padded);
		break;
	default: /* Z (n x out) = X (n x in) W (in x out) */
		if (padded)
			fd_gemm_padded(0, 0, n, out, in, 1.0f, X, in, L->pw->w, out, 0.0f, Z, out,
				       m->nthreads);
		else
			fd_gemm(0, 0, n, out, in, 1.0f, X, in, L->pw->w, out, 0.0f, Z, out,
				m->nthreads);
		break;
	}
}

const float *fd_convnet_forward(struct fd_convnet *m, const float *X, int n)
{
	const float *in = X;

	if (n < 1 || n > m->cap)
		return NULL;
	m->n = n;
	for (int i = 0; i < m->plan.nlayers; i++) {
		struct cl *L = &m->L[i];
		float *z = L->bn ? L->xhat : L->a;
		int rows = n * L->rows;

		L->in = in;
		product(m, L, in, n, L->col, z, 1);
		if (L->bn) /* xhat = (z - mean) / sqrt(var + eps); a = act(gamma xhat + beta) */
			fd_bn_forward_train(z, rows, L->cols, L->pgamma->w, L->pbeta->w, m->bn_eps,
					    m->bn_seeded ? m->bn_momentum : 0.0f, L->run_mean,
					    L->run_var, L->mean, L->inv_std, L->act, m->slope, NULL,
					    L->a, NULL);
		else /* a = act(z + b) */
			fd_act_forward(L->act, m->slope, z, L->bias ? L->pb->w : NULL, NULL, NULL,
				       rows, L->cols);
		in = L->a;
	}
	m->bn_seeded = 1;
	return in;
}

void fd_convnet_bn_keep(struct fd_convnet *m)
{
	m->bn_seeded = 1;
}

void fd_convnet_backward(struct fd_convnet *m, const float *dY, int ldy, float *dX)
{
	const int n = m->n, last = m->plan.nlayers - 1;
	const float *g = dY;
	size_t out = m->plan.out;

	if (ldy != (int)out) { /* gather the strided rows */
		for (int r = 0; r < n; r++)
			memcpy(m->dA + (size_t)r * out, dY + (size_t)r * ldy, out * sizeof(float));
		g = m->dA;
	}
	for (int i = last; i >= 0; i--) {
		struct cl *L = &m->L[i];
		int rows = n * L->rows, in = (int)L->in_sz, o = (int)L->out_sz;
		float *dz = g == dY ? m->dA : (float *)g; /* in place once it is ours */
		float *dx = i == 0 ? dX : (dz == m->dA ? m->dB : m->dA);

		if (L->bn) /* dz = dy act'(a); dgamma, dbeta; dz = d(pre-norm) */
			fd_bn_backward(L->xhat, L->a, g, NULL, rows, L->cols, L->pgamma->w,
				       L->inv_std, L->act, m->slope, L->pgamma->g, L->pbeta->g, dz,
				       m->bnscr);
		else /* dz = dy act'(a); db += colsum dz */
			fd_act_backward(L->act, m->slope, L->a, g, NULL, dz,
					L->bias ? L->pb->g : NULL, rows, L->cols);
		switch (L->kind) {
		case FD_CL_CONV:
			fd_conv2d_backward(&L->cg, L->col, dz, n, L->pw->w, 1.0f, L->pw->g, m->dcol,
					   dx, m->nthreads, 1);
			break;
		case FD_CL_CONVT:
			fd_convt2d_backward(&L->tg, L->in, dz, n, L->pw->w, 1.0f, L->pw->g, m->dcol,
					    dx, m->nthreads, 1);
			break;
		default: /* dW += X^T dz; dX = dz W^T */
			fd_gemm_padded(1, 0, in, o, n, 1.0f, L->in, in, dz, o, 1.0f, L->pw->g, o,
				       m->nthreads);
			if (dx)
				fd_gemm_padded(0, 1, n, in, o, 1.0f, dz, o, L->pw->w, o, 0.0f, dx, in,
					       m->nthreads);
			break;
		}
		g = dx;
	}
}

void fd_convnet_zero_grad(struct fd_convnet *m)
{
	for (int i = 0; i < m->plan.nparams; i++)
		fd_vec_zero(m->params[i].g, m->params[i].n);
}

size_t fd_convnet_infer_ws(const struct fd_convnet *m, int n)
{
	return 2 * padn((size_t)n * m->maxsz) + padn((size_t)n * m->maxcol) + padn(2 * m->maxcols);
}

void fd_convnet_infer(const struct fd_convnet *m, const float *X, int n, float *Y, float *ws)
{
	float *bufA = ws, *bufB = ws + padn((size_t)n * m->maxsz);
	float *col = bufB + padn((size_t)n * m->maxsz);
	float *scr = col + padn((size_t)n * m->maxcol);
	const float *in = X;

	for (int i = 0; i < m->plan.nlayers; i++) {
		const struct cl *L = &m->L[i];
		float *o = i % 2 ? bufB : bufA;
		int rows = n * L->rows;

		product(m, L, in, n, col, o, i > 0); /* X may be the caller's */
		if (L->bn)                           /* y = act(gamma (z - run_mean) / sqrt(run_var + eps) + beta) */
			fd_bn_infer(o, rows, L->cols, L->pgamma->w, L->pbeta->w, L->run_mean,
				    L->run_var, m->bn_eps, L->act, m->slope, o, scr);
		else
			fd_act_forward(L->act, m->slope, o, L->bias ? L->pb->w : NULL, NULL, NULL,
				       rows, L->cols);
		in = o;
	}
	memcpy(Y, in, (size_t)n * m->plan.out * sizeof(float));
}

int fd_convnet_nparams(const struct fd_convnet *m)
{
	return m->plan.nparams;
}

struct fd_param *fd_convnet_param(struct fd_convnet *m, int i)
{
	return &m->params[i];
}

int fd_convnet_nbuffers(const struct fd_convnet *m)
{
	return m->plan.nbuffers;
}

struct fd_buffer *fd_convnet_buffer(struct fd_convnet *m, int i)
{
	return &m->bufs[i];
}

double fd_convnet_train_flops(const struct fd_convnet *m, int n)
{
	double f = 0;

	for (int i = 0; i < m->plan.nlayers; i++) {
		const struct cl *L = &m->L[i];
		/* one product's 2 m n k = 2 n in_sz out_sz for dense; for conv
		 * 2 (n oh ow) (k k c) oc; convT the same with input and output swapped */
		double p = L->kind == FD_CL_DENSE ? 2.0 * n * L->in_sz * L->out_sz
						  : 2.0 * n * (double)L->pw->n *
							    (L->kind == FD_CL_CONV ? L->sh.oh * L->sh.ow
										   : L->sh.ih * L->sh.iw);
		f += 3 * p;
	}
	return f;
}
