/* MLP from a table of layer specs: dense -> [batch norm] -> act, with
 * inverted dropout before or after each layer (see mlp.h).
 *
 * Memory: one block made at creation holds, each tensor padded to 64 bytes,
 * [all weights][all gradients][all Adam m][all Adam v][running stats]
 * [per-BN-layer batch mean, inv std, 2w scratch]. The training workspace
 * (fd_mlp_reserve) holds the caches of one forward for up to `cap` rows plus
 * two n x maxdim scratch panels for backward. Forward, backward and infer
 * allocate nothing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "kernels/gemm.h"
#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/init.h"
#include "nn/mlp.h"

#define PAD 16 /* floats per 64 bytes */

struct layer {
	int in, out, bias, bn, act;
	float rate;
	int drop_in, drop_out;        /* dropout before / after this layer */
	/* parameters and gradients (in the block) */
	float *W, *b, *gamma, *beta;
	float *dW, *db, *dgamma, *dbeta;
	float *rmean, *rvar;          /* running statistics */
	float *bmean, *binv, *bscr;   /* batch mean, 1/sqrt(var+eps), 2w scratch */
	/* training caches (in the workspace) */
	float *xd, *mask_in;          /* dropped input and its mask (drop_in) */
	float *h;                     /* xhat (bn) */
	float *a;                     /* activation */
	float *y, *mask_out;          /* dropped output and its mask (drop_out) */
	const float *x;               /* input of the dense product, last forward */
};

struct fd_mlp {
	struct fden_allocator alloc;
	int has_alloc;
	int in, out, nlayers, maxdim, maxw;
	float slope, bn_momentum, bn_eps;
	int nthreads;
	struct layer *L;
	struct fd_param *params;
	int nparams;
	struct fd_buffer *bufs;
	int nbufs;
	float *block;
	size_t block_n;
	float *grad0;                 /* start of the gradient section */
	size_t pfloats;               /* floats of one section (padded) */
	float *ws;
	float *s1, *s2;               /* backward panels, cap x maxdim each */
	int cap, nlast;
};

static size_t padn(size_t n)
{
	return (n + PAD - 1) / PAD * PAD;
}

static const struct fden_allocator *alloc_of(const struct fd_mlp *m)
{
	return m->has_alloc ? &m->alloc : NULL;
}

static int check_cfg(const struct fd_mlp_cfg *c, struct fd_err *err)
{
	if (c->in < 1)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: input width %d < 1", c->in);
	if (c->nlayers < 1 || !c->layers)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: needs at least one layer (nlayers %d)",
				  c->nlayers);
	for (int i = 0; i < c->nlayers; i++) {
		const struct fd_layer_spec *s = &c->layers[i];
		if (s->width < 1)
			return fd_err_set(err, FDEN_E_INVALID, "mlp: layer %d width %d < 1", i, s->width);
		if (!(s->dropout >= 0.0f && s->dropout < 1.0f))
			return fd_err_set(err, FDEN_E_INVALID,
					  "mlp: layer %d dropout %g not in [0, 1)", i, (double)s->dropout);
		if (!fd_act_valid(s->act))
			return fd_err_set(err, FDEN_E_INVALID, "mlp: layer %d activation %d unknown",
					  i, s->act);
	}
	if (!(c->leaky_slope >= 0.0f && isfinite(c->leaky_slope)))
		return fd_err_set(err, FDEN_E_INVALID, "mlp: leaky slope %g must be >= 0",
				  (double)c->leaky_slope);
	if (c->init != FD_INIT_TRUNC_NORMAL && c->init != FD_INIT_GLOROT_NORMAL &&
	    c->init != FD_INIT_HE_NORMAL)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: initialiser %d unknown", c->init);
	if (c->init == FD_INIT_TRUNC_NORMAL && !(c->init_sigma > 0.0f && isfinite(c->init_sigma)))
		return fd_err_set(err, FDEN_E_INVALID, "mlp: init sigma %g must be > 0",
				  (double)c->init_sigma);
	if (!(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f))
		return fd_err_set(err, FDEN_E_INVALID, "mlp: batch-norm momentum %g not in [0, 1]",
				  (double)c->bn_momentum);
	if (!(c->bn_eps > 0.0f && isfinite(c->bn_eps)))
		return fd_err_set(err, FDEN_E_INVALID, "mlp: batch-norm eps %g must be > 0",
				  (double)c->bn_eps);
	return FDEN_OK;
}

static int set_name(char dst[32], const char *name, int i, const char *what)
{
	int r = snprintf(dst, 32, "%s.%d.%s", name, i, what);
	return r < 0 || r >= 32 ? -1 : 0;
}

void fd_mlp_free(struct fd_mlp *m)
{
	const struct fden_allocator *a;

	if (!m)
		return;
	a = alloc_of(m);
	fd_free(a, m->ws);
	fd_free(a, m->block);
	fd_free(a, m->bufs);
	fd_free(a, m->params);
	fd_free(a, m->L);
	fd_free(a, m);
}

int fd_mlp_new(const struct fd_mlp_cfg *cfg, const char *name,
	       const struct fden_allocator *alloc, struct fd_rng *init_rng,
	       struct fd_err *err, struct fd_mlp **out)
{
	struct fd_mlp *m;
	size_t sec = 0, extra = 0, off, eoff;
	int np = 0, nb = 0, rc, i, in;

	if (!cfg || !init_rng || !out)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: NULL %s",
				  !cfg ? "cfg" : !init_rng ? "init_rng" : "out");
	if (alloc && (!alloc->alloc || !alloc->free))
		return fd_err_set(err, FDEN_E_INVALID, "mlp: allocator without alloc/free");
	rc = check_cfg(cfg, err);
	if (rc)
		return rc;
	if (!name)
		name = "mlp";

	/* count tensors and floats; widths are ints, products fit size_t */
	{
		double est = 0;
		in = cfg->in;
		for (i = 0; i < cfg->nlayers; i++) {
			est += ((double)in + 8) * cfg->layers[i].width + 64;
			in = cfg->layers[i].width;
		}
		if (est * 4 * sizeof(float) > (double)(SIZE_MAX / 2))
			return fd_err_set(err, FDEN_E_OVERFLOW, "mlp: parameter count overflows size_t");
	}
	in = cfg->in;
	for (i = 0; i < cfg->nlayers; i++) {
		const struct fd_layer_spec *s = &cfg->layers[i];
		size_t w = (size_t)s->width;
		sec += padn((size_t)in * w);
		np++;
		if (s->batchnorm) {
			sec += 2 * padn(w);
			np += 2;
			nb += 2;
			extra += 2 * padn(w) + 2 * padn(w) + padn(2 * w);
		} else if (s->bias) {
			sec += padn(w);
			np++;
		}
		in = s->width;
	}

	m = fd_calloc(alloc, 1, sizeof *m);
	if (!m)
		return fd_err_set(err, FDEN_E_NOMEM, "mlp: no memory for the handle");
	if (alloc) {
		m->alloc = *alloc;
		m->has_alloc = 1;
	}
	m->in = cfg->in;
	m->out = cfg->layers[cfg->nlayers - 1].width;
	m->nlayers = cfg->nlayers;
	m->slope = cfg->leaky_slope;
	m->bn_momentum = cfg->bn_momentum;
	m->bn_eps = cfg->bn_eps;
	m->nthreads = cfg->nthreads > 0 ? cfg->nthreads : 1;
	m->nparams = np;
	m->nbufs = nb;
	m->pfloats = sec;
	m->block_n = 4 * sec + extra;
	m->L = fd_calloc(alloc, (size_t)cfg->nlayers, sizeof *m->L);
	m->params = fd_calloc(alloc, (size_t)np, sizeof *m->params);
	m->bufs = nb ? fd_calloc(alloc, (size_t)nb, sizeof *m->bufs) : NULL;
	m->block = fd_calloc(alloc, m->block_n, sizeof(float));
	if (!m->L || !m->params || (nb && !m->bufs) || !m->block) {
		size_t nf = m->block_n;
		fd_mlp_free(m);
		return fd_err_set(err, FDEN_E_NOMEM, "mlp: no memory for %zu parameter floats", nf);
	}
	m->grad0 = m->block + sec;

	/* lay out the tensors and initialise them */
	off = 0;
	eoff = 4 * sec;
	np = nb = 0;
	in = cfg->in;
	m->maxdim = m->maxw = 0;
	if (in > m->maxdim)
		m->maxdim = in;
	for (i = 0; i < cfg->nlayers; i++) {
		const struct fd_layer_spec *s = &cfg->layers[i];
		struct layer *L = &m->L[i];
		int w = s->width;
		struct fd_param *p;

		L->in = in;
		L->out = w;
		L->bn = s->batchnorm != 0;
		L->bias = !L->bn && s->bias;
		L->act = s->act;
		L->rate = s->dropout;
		L->drop_in = s->dropout > 0.0f && cfg->drop_before;
		L->drop_out = s->dropout > 0.0f && !cfg->drop_before;
		if (w > m->maxdim)
			m->maxdim = w;
		if (w > m->maxw)
			m->maxw = w;

#define ADD_PARAM(PTR, GPTR, N, WHAT)                                         \
		do {                                                          \
			p = &m->params[np++];                                 \
			p->n = (N);                                           \
			p->w = m->block + off;                                \
			p->g = m->block + sec + off;                          \
			p->m = m->block + 2 * sec + off;                      \
			p->v = m->block + 3 * sec + off;                      \
			PTR = p->w;                                           \
			GPTR = p->g;                                          \
			off += padn(p->n);                                    \
			if (set_name(p->name, name, i, WHAT))                 \
				goto toolong;                                 \
		} while (0)

		ADD_PARAM(L->W, L->dW, (size_t)in * (size_t)w, "w");
		fd_init_weights(init_rng, cfg->init, cfg->init_sigma, L->W, in, w);
		if (L->bias)
			ADD_PARAM(L->b, L->db, (size_t)w, "b"); /* zeros */
		if (L->bn) {
			struct fd_buffer *bm = &m->bufs[nb++], *bv = &m->bufs[nb++];

			ADD_PARAM(L->gamma, L->dgamma, (size_t)w, "gamma");
			ADD_PARAM(L->beta, L->dbeta, (size_t)w, "beta");
			for (int j = 0; j < w; j++)
				L->gamma[j] = 1.0f; /* gamma 1, beta 0 */
			bm->x = L->rmean = m->block + eoff;
			bm->n = (size_t)w;
			eoff += padn((size_t)w);
			bv->x = L->rvar = m->block + eoff;
			bv->n = (size_t)w;
			eoff += padn((size_t)w);
			for (int j = 0; j < w; j++)
				L->rvar[j] = 1.0f; /* running mean 0, variance 1 */
			if (set_name(bm->name, name, i, "mean") || set_name(bv->name, name, i, "var"))
				goto toolong;
			L->bmean = m->block + eoff;
			eoff += padn((size_t)w);
			L->binv = m->block + eoff;
			eoff += padn((size_t)w);
			L->bscr = m->block + eoff;
			eoff += padn(2 * (size_t)w);
		}
#undef ADD_PARAM
		in = w;
	}
	*out = m;
	return FDEN_OK;

toolong:
	fd_mlp_free(m);
	return fd_err_set(err, FDEN_E_INVALID, "mlp: name \"%s\" too long: \"<name>.<layer>.gamma\" "
			  "must fit in 31 characters", name);
}

int fd_mlp_in(const struct fd_mlp *m)
{
	return m->in;
}

int fd_mlp_out(const struct fd_mlp *m)
{
	return m->out;
}

void fd_mlp_set_threads(struct fd_mlp *m, int nthreads)
{
	m->nthreads = nthreads > 0 ? nthreads : 1;
}

int fd_mlp_reserve(struct fd_mlp *m, int n, struct fd_err *err)
{
	size_t need = 0, off = 0, nn;
	float *ws;
	int i;

	if (n < 1)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: reserve for %d rows", n);
	if (n <= m->cap)
		return FDEN_OK;
	nn = (size_t)n;
	{
		/* size in double first: sums of n x width products may overflow */
		double est = 2.0 * n * m->maxdim;
		for (i = 0; i < m->nlayers; i++)
			est += 5.0 * n * ((double)m->L[i].in + m->L[i].out) + 8 * PAD;
		if (est * sizeof(float) > (double)(SIZE_MAX / 2))
			return fd_err_set(err, FDEN_E_OVERFLOW, "mlp: a %d-row workspace "
					  "overflows size_t", n);
	}
	for (i = 0; i < m->nlayers; i++) {
		const struct layer *L = &m->L[i];
		size_t xin = nn * L->in, xout = nn * L->out;
		if (L->drop_in)
			need += 2 * padn(xin);
		if (L->bn)
			need += padn(xout);
		need += padn(xout);
		if (L->drop_out)
			need += 2 * padn(xout);
	}
	need += 2 * padn(nn * m->maxdim); /* backward panels */
	ws = fd_malloc(alloc_of(m), need * sizeof(float));
	if (!ws)
		return fd_err_set(err, FDEN_E_NOMEM, "mlp: no memory for a %d-row workspace "
				  "(%zu floats)", n, need);
	fd_free(alloc_of(m), m->ws);
	m->ws = ws;
	m->cap = n;
	m->nlast = 0;
#define TAKE(PTR, N) do { PTR = ws + off; off += padn(N); } while (0)
	for (i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		size_t xin = nn * L->in, xout = nn * L->out;
		L->xd = L->mask_in = L->h = L->y = L->mask_out = NULL;
		if (L->drop_in) {
			TAKE(L->xd, xin);
			TAKE(L->mask_in, xin);
		}
		if (L->bn)
			TAKE(L->h, xout);
		TAKE(L->a, xout);
		if (L->drop_out) {
			TAKE(L->y, xout);
			TAKE(L->mask_out, xout);
		}
	}
	TAKE(m->s1, nn * m->maxdim);
	TAKE(m->s2, nn * m->maxdim);
#undef TAKE
	return FDEN_OK;
}

const float *fd_mlp_forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng)
{
	const float *x = X;
	int i;

	if (n < 1 || n > m->cap || !X)
		return NULL;
	for (i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		if ((L->drop_in || L->drop_out) && !rng)
			return NULL;
	}
	for (i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		size_t xin = (size_t)n * L->in, xout = (size_t)n * L->out;

		if (L->drop_in) { /* xd = x * mask */
			fd_dropout_forward(rng, L->rate, x, L->mask_in, L->xd, xin);
			x = L->xd;
		}
		L->x = x;
		if (L->drop_out)
			fd_dropout_mask(rng, L->rate, L->mask_out, xout);
		if (L->bn) {
			/* h = x W; xhat, a = act(gamma xhat + beta), y = a mask */
			fd_dense_forward_padded(x, n, L->in, L->out, L->W, NULL, FD_ACT_LINEAR, 0.0f,
						NULL, L->h, NULL, m->nthreads);
			fd_bn_forward_train(L->h, n, L->out, L->gamma, L->beta, m->bn_eps,
					    m->bn_momentum, L->rmean, L->rvar, L->bmean, L->binv,
					    L->act, m->slope, L->mask_out, L->a, L->y);
		} else {
			/* a = act(x W + b), y = a mask */
			fd_dense_forward_padded(x, n, L->in, L->out, L->W, L->b, L->act, m->slope,
						L->mask_out, L->a, L->y, m->nthreads);
		}
		x = L->drop_out ? L->y : L->a;
	}
	m->nlast = n;
	return x;
}

/* set: gradients are overwritten (dW product with beta 0, the small bias and
 * BN vectors cleared first) instead of accumulated */
static void backward(struct fd_mlp *m, const float *dY, float *dX, int set)
{
	float *s1 = m->s1, *s2 = m->s2;
	const float *g = dY;
	int n = m->nlast, i;

	if (n < 1 || !dY)
		return;
	for (i = m->nlayers - 1; i >= 0; i--) {
		struct layer *L = &m->L[i];
		float *dst;

		/* s1 = dL/d(x W + b) */
		if (L->bn) {
			if (set) {
				fd_vec_zero(L->dgamma, (size_t)L->out);
				fd_vec_zero(L->dbeta, (size_t)L->out);
			}
			fd_bn_backward(L->h, L->a, g, L->mask_out, n, L->out, L->gamma, L->binv,
				       L->act, m->slope, L->dgamma, L->dbeta, s1, L->bscr);
		} else {
			if (set && L->bias)
				fd_vec_zero(L->db, (size_t)L->out);
			fd_act_backward(L->act, m->slope, L->a, g, L->mask_out, s1,
					L->bias ? L->db : NULL, n, L->out);
		}
		dst = i > 0 ? s2 : dX;
		/* dW (+)= x^T s1; dst = s1 W^T */
		fd_dense_backward_ex(L->x, s1, n, L->in, L->out, L->W, set ? 0.0f : 1.0f, L->dW,
				     NULL, dst, m->nthreads, 1);
		if (dst && L->drop_in) /* through the input dropout */
			fd_dropout_backward(L->mask_in, dst, dst, (size_t)n * L->in);
		g = s2;
	}
}

void fd_mlp_backward(struct fd_mlp *m, const float *dY, float *dX)
{
	backward(m, dY, dX, 0);
}

void fd_mlp_backward_set(struct fd_mlp *m, const float *dY, float *dX)
{
	backward(m, dY, dX, 1);
}

size_t fd_mlp_infer_ws(const struct fd_mlp *m, int n)
{
	size_t nn = n > 0 ? (size_t)n : 1;

	return 2 * padn(nn * m->maxw) + 2 * padn((size_t)m->maxw);
}

void fd_mlp_infer(const struct fd_mlp *m, const float *X, int n, float *Y, float *ws)
{
	float *buf[2], *scr;
	const float *x = X;
	int i;

	if (n < 1)
		return;
	buf[0] = ws;
	buf[1] = ws + padn((size_t)n * m->maxw);
	scr = buf[1] + padn((size_t)n * m->maxw);
	for (i = 0; i < m->nlayers; i++) {
		const struct layer *L = &m->L[i];
		float *dst = i == m->nlayers - 1 ? Y : buf[i & 1];
		/* X and Y may be the caller's: only products between ws buffers pad */
		void (*fwd)(const float *, int, int, int, const float *, const float *, int, float,
			    const float *, float *, float *, int) =
			i > 0 && i < m->nlayers - 1 ? fd_dense_forward_padded : fd_dense_forward;

		if (L->bn) {
			/* h = x W; y = act(gamma (h - mean) / sqrt(var + eps) + beta) */
			fwd(x, n, L->in, L->out, L->W, NULL, FD_ACT_LINEAR, 0.0f, NULL, dst, NULL,
			    m->nthreads);
			fd_bn_infer(dst, n, L->out, L->gamma, L->beta, L->rmean, L->rvar,
				    m->bn_eps, L->act, m->slope, dst, scr);
		} else {
			fwd(x, n, L->in, L->out, L->W, L->b, L->act, m->slope, NULL, dst, NULL,
			    m->nthreads);
		}
		x = dst;
	}
}

void fd_mlp_zero_grad(struct fd_mlp *m)
{
	fd_vec_zero(m->grad0, m->pfloats);
}

int fd_mlp_nparams(const struct fd_mlp *m)
{
	return m->nparams;
}

struct fd_param *fd_mlp_param(struct fd_mlp *m, int i)
{
	return i >= 0 && i < m->nparams ? &m->params[i] : NULL;
}

int fd_mlp_nbuffers(const struct fd_mlp *m)
{
	return m->nbufs;
}

struct fd_buffer *fd_mlp_buffer(struct fd_mlp *m, int i)
{
	return i >= 0 && i < m->nbufs ? &m->bufs[i] : NULL;
}

double fd_mlp_train_flops(const struct fd_mlp *m, int n)
{
	double f = 0.0;

	/* 2 n in out per product, three products per dense layer */
	for (int i = 0; i < m->nlayers; i++)
		f += 6.0 * (double)n * m->L[i].in * m->L[i].out;
	return f;
}
