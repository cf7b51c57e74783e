/* MLP from a table of layer specs: dense -> [batch norm] -> act, with
 * inverted dropout before or after each layer (see mlp.h).
 *
 * Memory: one block made at creation holds, each tensor padded to 64 bytes,
 * [all weights][all gradients][all Adam m][all Adam v][running stats]
 * [per-BN-layer batch mean, inv std, 2w scratch]. The training workspace
 * (fd_mlp_reserve) keeps, for up to `cap` rows, ONE float cache per layer -
 * xhat for a batch-norm layer, the activation a otherwise - plus the dropout
 * decisions as bits; everything else backward needs (a of a batch-norm
 * layer, a layer's dropped input) is recomputed from those with the
 * forward's own expressions, so the bits are the forward's. A last layer
 * that is linear, without batch norm, with dropout after it keeps only its
 * dropped output. Two cap x maxdim panels carry the transient values (the
 * dropped outputs in forward, the gradients and recomputed inputs in
 * backward); nets trained one after another share one pair of panels
 * (fd_mlp_reserve_group). Forward, backward and infer allocate nothing. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* vector blends for the keep selects */
#endif
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

#define FD_INLINE static inline __attribute__((always_inline))

#define PAD 16 /* floats per 64 bytes */

struct layer {
	int in, out, bias, bn, act;
	float rate, kscale;           /* dropout rate, 1/(1 - rate) */
	int drop_in, drop_out;        /* dropout before / after this layer */
	/* parameters and gradients (in the block) */
	float *W, *b, *gamma, *beta;
	float *dW, *db, *dgamma, *dbeta;
	int pw;                       /* index of W's fd_param; b or gamma, beta follow */
	float *rmean, *rvar;          /* running statistics */
	float *bmean, *binv, *bscr;   /* batch mean, 1/sqrt(var+eps), 2w scratch */
	/* training caches (in the workspace), cap x width each */
	float *c;                     /* xhat (bn) or activation a; NULL when not needed */
	float *y;                     /* last layer: the output when c cannot be it */
	unsigned char *kin, *kout;    /* dropout keep bits (drop_in: in wide, drop_out: out) */
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
	float *ws;                    /* caches, owned */
	float *pan_own;               /* panels this net allocated (shared with its group) */
	size_t pan_own_n;             /* floats of each panel in pan_own */
	float *p1, *p2;               /* the two panels in use (own or a group's) */
	size_t pan_n;                 /* floats of each panel in use */
	const float *X;               /* input of the last forward */
	/* fd_mlp_forward_pair: the two inputs and the shuffle (X is NULL) */
	const float *pa, *pb;
	const int32_t *perm;
	int ia, pn;
	unsigned char *kb1, *kb2;     /* maxdim-byte rows: keep bits spread to bytes */
	int cap, nlast;
	int two;                      /* panels for fd_mlp_backward_two (2 cap rows) */
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
	fd_free(a, m->pan_own);
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
		L->kscale = (float)(1.0 / (1.0 - (double)s->dropout)); /* as fd_dropout_mask */
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

		L->pw = np;
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

/* Which caches layer i keeps (see the top of the file). */
static int keeps_c(const struct fd_mlp *m, int i)
{
	const struct layer *L = &m->L[i];

	return L->bn || L->act != FD_ACT_LINEAR || i < m->nlayers - 1 || !L->drop_out;
}

static int keeps_y(const struct fd_mlp *m, int i)
{
	const struct layer *L = &m->L[i];

	return i == m->nlayers - 1 && (L->drop_out || L->bn);
}

/* caches of one net for n rows, in floats (keep bytes rounded up) */
static size_t cache_floats(const struct fd_mlp *m, size_t n)
{
	size_t need = 0;

	for (int i = 0; i < m->nlayers; i++) {
		const struct layer *L = &m->L[i];
		if (keeps_c(m, i))
			need += padn(n * L->out);
		if (keeps_y(m, i))
			need += padn(n * L->out);
		if (L->drop_in)
			need += padn((n * fd_keep_stride(L->in) + 3) / 4);
		if (L->drop_out)
			need += padn((n * fd_keep_stride(L->out) + 3) / 4);
	}
	return need + 2 * padn(((size_t)m->maxdim + 3) / 4); /* kb1, kb2 */
}

static int reserve_caches(struct fd_mlp *m, int n, struct fd_err *err)
{
	size_t need, off = 0, nn = (size_t)n;
	float *ws;
	double est = 0;

	if (n < 1)
		return fd_err_set(err, FDEN_E_INVALID, "mlp: reserve for %d rows", n);
	if (n <= m->cap)
		return FDEN_OK;
	/* size in double first: sums of n x width products may overflow */
	for (int i = 0; i < m->nlayers; i++)
		est += 4.0 * n * ((double)m->L[i].in + m->L[i].out) + 8 * PAD;
	est += 2.0 * n * m->maxdim + 2 * PAD;
	if (est * sizeof(float) > (double)(SIZE_MAX / 2))
		return fd_err_set(err, FDEN_E_OVERFLOW, "mlp: a %d-row workspace overflows size_t", n);
	need = cache_floats(m, nn);
	ws = fd_malloc(alloc_of(m), (need ? need : 1) * sizeof(float));
	if (!ws)
		return fd_err_set(err, FDEN_E_NOMEM, "mlp: no memory for a %d-row workspace "
				  "(%zu floats)", n, need);
	fd_free(alloc_of(m), m->ws);
	m->ws = ws;
	m->cap = n;
	m->nlast = 0;
#define TAKE(PTR, T, N) do { PTR = (T *)(ws + off); off += padn(N); } while (0)
	for (int i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		size_t xout = nn * L->out;
		L->c = L->y = NULL;
		L->kin = L->kout = NULL;
		if (keeps_c(m, i))
			TAKE(L->c, float, xout);
		if (keeps_y(m, i))
			TAKE(L->y, float, xout);
		if (L->drop_in)
			TAKE(L->kin, unsigned char, (nn * fd_keep_stride(L->in) + 3) / 4);
		if (L->drop_out)
			TAKE(L->kout, unsigned char, (nn * fd_keep_stride(L->out) + 3) / 4);
	}
	TAKE(m->kb1, unsigned char, ((size_t)m->maxdim + 3) / 4);
	TAKE(m->kb2, unsigned char, ((size_t)m->maxdim + 3) / 4);
#undef TAKE
	return FDEN_OK;
}

int fd_mlp_reserve_group(struct fd_mlp *const *nets, const int *rows, int count,
			 struct fd_err *err)
{
	struct fd_mlp *own = NULL;
	size_t need = 0;
	int rc;

	for (int k = 0; k < count; k++) {
		if (!nets[k])
			continue;
		rc = reserve_caches(nets[k], rows[k], err);
		if (rc)
			return rc;
		if (!own)
			own = nets[k];
		size_t r = (size_t)nets[k]->cap * (nets[k]->two ? 2 : 1);
		if (r * nets[k]->maxdim > need)
			need = r * nets[k]->maxdim;
	}
	if (!own)
		return FDEN_OK;
	need = padn(need);
	if (own->pan_own_n < need) {
		float *p = fd_malloc(alloc_of(own), 2 * need * sizeof(float));
		if (!p)
			return fd_err_set(err, FDEN_E_NOMEM, "mlp: no memory for 2 x %zu-float panels",
					  need);
		fd_free(alloc_of(own), own->pan_own);
		own->pan_own = p;
		own->pan_own_n = need;
	}
	for (int k = 0; k < count; k++) {
		struct fd_mlp *m = nets[k];
		if (!m)
			continue;
		if (m != own && m->pan_own) { /* joins the group: its own panels go */
			fd_free(alloc_of(m), m->pan_own);
			m->pan_own = NULL;
			m->pan_own_n = 0;
		}
		m->p1 = own->pan_own;
		m->p2 = own->pan_own + own->pan_own_n;
		m->pan_n = own->pan_own_n;
	}
	return FDEN_OK;
}

void fd_mlp_want_two(struct fd_mlp *m)
{
	m->two = 1;
}

int fd_mlp_reserve(struct fd_mlp *m, int n, struct fd_err *err)
{
	if (m->p1 && m->p1 != m->pan_own) { /* leaves a group: panels of its own */
		m->p1 = m->p2 = NULL;
		m->pan_n = 0;
	}
	return fd_mlp_reserve_group(&m, &n, 1, err);
}

FD_INLINE float keep_f(unsigned char k, float s)
{
	return (float)k * s; /* 0 or 1/(1 - rate): fd_dropout_mask's value, exactly */
}

/* The element-wise sweeps below are instantiated per activation and per
 * (bias, keep) combination, so each inner loop is branch-free and
 * vectorises: FD_SWEEP(f, act, ...) dispatches on act at run time. */
#define FD_SWEEP(F, ACT, ...)                                                    \
	do {                                                                     \
		switch (ACT) {                                                   \
		case FD_ACT_LEAKY: F(FD_ACT_LEAKY, __VA_ARGS__); break;          \
		case FD_ACT_SIGMOID: F(FD_ACT_SIGMOID, __VA_ARGS__); break;      \
		case FD_ACT_TANH: F(FD_ACT_TANH, __VA_ARGS__); break;            \
		default: F(FD_ACT_LINEAR, __VA_ARGS__); break;                   \
		}                                                                \
	} while (0)

/* x = act(x + b) in place; with keep also y = x * mask (y may be x) */
FD_INLINE void act_fwd_t(int act, int hb, int hk, float slope, float *x, const float *restrict b,
			 const unsigned char *restrict keep, float ks, unsigned char *restrict kb,
			 float *y, size_t rows, int cols, size_t ld)
{
	for (size_t i = 0; i < rows; i++) {
		float *xr = x + i * ld;

		for (int j = 0; j < cols; j++)
			xr[j] = fd_act_f(act, hb ? xr[j] + b[j] : xr[j], slope); /* act(x + b) */
		if (hk) {
			const unsigned char *restrict kr = kb;
			float *yr = y + i * ld;

			fd_keep_expand(keep + i * fd_keep_stride(cols), cols, kb);
			for (int j = 0; j < cols; j++)
				yr[j] = xr[j] * keep_f(kr[j], ks);               /* y = a mask */
		}
	}
}

/* x and y rows ld floats apart */
FD_INLINE void act_fwd(int act, float slope, float *x, const float *b,
		       const unsigned char *keep, float ks, unsigned char *kb, float *y,
		       size_t rows, int cols, size_t ld)
{
	if (b && keep)
		act_fwd_t(act, 1, 1, slope, x, b, keep, ks, kb, y, rows, cols, ld);
	else if (b)
		act_fwd_t(act, 1, 0, slope, x, b, keep, ks, kb, y, rows, cols, ld);
	else if (keep)
		act_fwd_t(act, 0, 1, slope, x, b, keep, ks, kb, y, rows, cols, ld);
	else if (act != FD_ACT_LINEAR)
		act_fwd_t(act, 0, 0, slope, x, b, keep, ks, kb, y, rows, cols, ld);
}

static void act_fwd_any(int act, float slope, float *x, const float *b,
			const unsigned char *keep, float ks, unsigned char *kb, float *y,
			size_t rows, int cols, size_t ld)
{
	FD_SWEEP(act_fwd, act, slope, x, b, keep, ks, kb, y, rows, cols, ld);
}

/* batch-norm layer: h = xhat in place; y = act(gamma xhat + beta) [* mask] */
FD_INLINE void bn_fwd_t(int act, int hk, float slope, float *restrict h, int w,
			const float *restrict mean, const float *restrict inv,
			const float *restrict gamma, const float *restrict beta,
			const unsigned char *restrict keep, float ks, unsigned char *restrict kb,
			float *restrict y, size_t rows)
{
	for (size_t i = 0; i < rows; i++) {
		float *restrict hr = h + i * w, *restrict yr = y + i * w;
		const unsigned char *restrict kr = kb;

		if (hk)
			fd_keep_expand(keep + i * fd_keep_stride(w), w, kb);

		for (int j = 0; j < w; j++) {
			float xh = (hr[j] - mean[j]) * inv[j];                 /* xhat */
			float a = fd_act_f(act, gamma[j] * xh + beta[j], slope); /* act(g xhat + b) */
			hr[j] = xh;
			yr[j] = hk ? a * keep_f(kr[j], ks) : a;                /* y = a mask */
		}
	}
}

FD_INLINE void bn_fwd(int act, float slope, float *h, const struct layer *L,
		      const unsigned char *keep, unsigned char *kb, float *y, size_t rows)
{
	if (keep)
		bn_fwd_t(act, 1, slope, h, L->out, L->bmean, L->binv, L->gamma, L->beta, keep,
			 L->kscale, kb, y, rows);
	else
		bn_fwd_t(act, 0, slope, h, L->out, L->bmean, L->binv, L->gamma, L->beta, keep,
			 L->kscale, kb, y, rows);
}

static void bn_fwd_any(int act, float slope, float *h, const struct layer *L,
		       const unsigned char *keep, unsigned char *kb, float *y, size_t rows)
{
	FD_SWEEP(bn_fwd, act, slope, h, L, keep, kb, y, rows);
}

/* The input layer i saw in the last forward, rebuilt into dst: the previous
 * layer's output - a = act(gamma xhat + beta) for batch norm - times its
 * keep mask, times layer i's input keep mask (layer 0: X times its input
 * mask). The forward's own expressions, so the same bits. */
FD_INLINE void rebuild_t(int act, int bn, int hko, int hki, float slope, const float *restrict src,
			 const float *restrict gamma, const float *restrict beta,
			 const unsigned char *restrict ko, float kso,
			 const unsigned char *restrict ki, float ksi, unsigned char *restrict kb1,
			 unsigned char *restrict kb2, float *restrict dst, size_t rows, int cols)
{
	size_t st = fd_keep_stride(cols);

	for (size_t i = 0; i < rows; i++) {
		const float *restrict sr = src + i * cols;
		const unsigned char *restrict kor = kb1, *restrict kir = kb2;
		float *restrict dr = dst + i * cols;

		if (hko)
			fd_keep_expand(ko + i * st, cols, kb1);
		if (hki)
			fd_keep_expand(ki + i * st, cols, kb2);

		for (int j = 0; j < cols; j++) {
			float a = bn ? fd_act_f(act, gamma[j] * sr[j] + beta[j], slope) : sr[j];
			if (hko)
				a = a * keep_f(kor[j], kso); /* y = a mask */
			if (hki)
				a = a * keep_f(kir[j], ksi); /* xd = x mask */
			dr[j] = a;
		}
	}
}

FD_INLINE void rebuild(int act, float slope, const struct layer *P, const float *src,
		       const unsigned char *ki, float ksi, unsigned char *kb1, unsigned char *kb2,
		       float *dst, size_t rows, int cols)
{
	const float *g = P ? P->gamma : NULL, *b = P ? P->beta : NULL;
	const unsigned char *ko = P ? P->kout : NULL;
	float kso = P ? P->kscale : 1.0f;

	if (P && P->bn) {
		if (ko && !ki)
			rebuild_t(act, 1, 1, 0, slope, src, g, b, ko, kso, ki, ksi, kb1, kb2, dst, rows, cols);
		else if (!ko && !ki)
			rebuild_t(act, 1, 0, 0, slope, src, g, b, ko, kso, ki, ksi, kb1, kb2, dst, rows, cols);
		else
			rebuild_t(act, 1, ko != NULL, 1, slope, src, g, b, ko ? ko : ki, kso, ki, ksi,
				  kb1, kb2, dst, rows, cols);
	} else if (ko && !ki) {
		rebuild_t(FD_ACT_LINEAR, 0, 1, 0, slope, src, g, b, ko, kso, ki, ksi, kb1, kb2, dst, rows, cols);
	} else {
		rebuild_t(FD_ACT_LINEAR, 0, ko != NULL, ki != NULL, slope, src, g, b, ko ? ko : ki,
			  kso, ki ? ki : ko, ksi, kb1, kb2, dst, rows, cols);
	}
}

static const float *layer_input(const struct fd_mlp *m, int i, float *dst, size_t n)
{
	const struct layer *L = &m->L[i], *P = i > 0 ? &m->L[i - 1] : NULL;
	const float *src = P ? P->c : m->X;
	int act = P && P->bn ? P->act : FD_ACT_LINEAR;

	if (!L->drop_in && (!P || (!P->bn && !P->drop_out)))
		return src; /* the cache itself */
	FD_SWEEP(rebuild, act, m->slope, P, src, L->kin, L->kscale, m->kb1, m->kb2, dst, n, L->in);
	return dst;
}

/* The paired inputs of fd_mlp_forward_pair */
struct pair {
	const float *A, *B;
	const int32_t *perm;
	int ia, n;
};

/* H (2n x out, rows ld apart) = [A_i ++ B_i ; A_i ++ B_perm[i]] W as
 * H_i = A_i W_top + B_i W_bot, H_{n+i} = A_i W_top + B_perm[i] W_bot: two
 * n-row products instead of one of 2n rows over the whole width. B W_bot
 * goes through the second panel, free until the layer's sweep writes it. */
static void pair_product(struct fd_mlp *m, const struct pair *p, float *H, int ld)
{
	const struct layer *L = &m->L[0];
	int out = L->out, ib = L->in - p->ia;
	float *Bw = m->p2;

	fd_gemm_padded(0, 0, p->n, out, p->ia, 1.0f, p->A, p->ia, L->W, out, 0.0f, H, ld,
		       m->nthreads);
	fd_gemm_padded(0, 0, p->n, out, ib, 1.0f, p->B, ib, L->W + (size_t)p->ia * out, out, 0.0f,
		       Bw, out, m->nthreads);
	for (int i = 0; i < p->n; i++) {
		const float *a = H + (size_t)i * ld, *bs = Bw + (size_t)p->perm[i] * out;
		const float *b = Bw + (size_t)i * out;
		float *hj = H + (size_t)i * ld, *hm = H + (size_t)(p->n + i) * ld;

		for (int j = 0; j < out; j++) { /* a is hj: the shuffled row first */
			hm[j] = a[j] + bs[j];
			hj[j] = a[j] + b[j];
		}
	}
}

/* Y: the last layer writes its output there (rows ldy apart) when it keeps
 * no cache of its own, else it is copied there; NULL: the workspace. pair:
 * X is NULL, n = 2 pair->n rows. */
static const float *forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng,
			    float *Y, int ldy, const struct pair *pair)
{
	const float *x = X;
	size_t nn = (size_t)n;
	int i;

	if (n < 1 || n > m->cap || (!X && !pair) || !m->p1 || nn * m->maxdim > m->pan_n)
		return NULL;
	for (i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		if ((L->drop_in || L->drop_out) && !rng)
			return NULL;
	}
	m->X = X;
	m->pa = NULL;
	for (i = 0; i < m->nlayers; i++) {
		struct layer *L = &m->L[i];
		int last = i == m->nlayers - 1, direct = last && Y && !L->c;
		size_t ld = direct ? (size_t)ldy : (size_t)L->out;
		/* the second panel: backward's first one stays short (fewer resident pages) */
		float *H = direct ? Y : L->c ? L->c : L->y, *nx = direct ? Y : last ? L->y : m->p2;

		if (L->drop_in) { /* xd = x * mask, into the panel (x may be the panel) */
			fd_dropout_keep_bits(rng, L->rate, L->kin, nn, L->in);
			x = layer_input(m, i, m->p2, nn);
		}
		if (L->drop_out)
			fd_dropout_keep_bits(rng, L->rate, L->kout, nn, L->out);
		/* H = x W (x is no longer needed after it) */
		if (i == 0 && pair)
			pair_product(m, pair, H, (int)ld);
		else
			fd_gemm_padded(0, 0, n, L->out, L->in, 1.0f, x, L->in, L->W, L->out, 0.0f,
				       H, (int)ld, m->nthreads);
		if (L->bn) {
			/* xhat in place, y = act(gamma xhat + beta) [* mask] */
			fd_bn_stats(H, n, L->out, m->bn_eps, m->bn_momentum, L->rmean, L->rvar,
				    L->bmean, L->binv);
			bn_fwd_any(L->act, m->slope, H, L, L->kout, m->kb1, nx, nn);
			x = nx;
		} else {
			/* a = act(x W + b) in place; y = a mask */
			act_fwd_any(L->act, m->slope, H, L->bias ? L->b : NULL, L->kout, L->kscale,
				    m->kb1, L->kout ? nx : NULL, nn, L->out, ld);
			x = L->kout ? nx : H;
		}
	}
	m->nlast = n;
	if (pair) {
		m->pa = pair->A;
		m->pb = pair->B;
		m->perm = pair->perm;
		m->ia = pair->ia;
		m->pn = pair->n;
	}
	if (Y && x != Y) { /* the output lives in a cache: copy it out */
		for (size_t r = 0; r < nn; r++)
			memcpy(Y + r * (size_t)ldy, x + r * (size_t)m->out, (size_t)m->out * sizeof *x);
		x = Y;
	}
	return x;
}

const float *fd_mlp_forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng)
{
	return forward(m, X, n, rng, NULL, 0, NULL);
}

const float *fd_mlp_forward_to(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng,
			       float *Y, int ldy)
{
	if (!Y || ldy < m->out)
		return NULL;
	return forward(m, X, n, rng, Y, ldy, NULL);
}

const float *fd_mlp_forward_pair(struct fd_mlp *m, const float *A, int ia, const float *B,
				 const int32_t *perm, int n, struct fd_rng *rng)
{
	struct pair p = { A, B, perm, ia, n };

	if (!A || !B || !perm || ia < 1 || ia >= m->in || m->L[0].drop_in || n < 1 ||
	    n > m->cap / 2)
		return NULL;
	return forward(m, NULL, 2 * n, rng, NULL, 0, &p);
}

/* dz = dy [* mask] act'(a), a the cached activation (not read when linear),
 * dz may be dy; db += colsum dz when db is not NULL */
FD_INLINE void act_bwd_t(int act, int hk, float slope, const float *a, const float *dy,
			 const unsigned char *restrict keep, float ks, unsigned char *restrict kb,
			 float *dz, float *restrict db, size_t rows, int cols)
{
	for (size_t i = 0; i < rows; i++) {
		const float *g = dy + i * cols, *ar = a ? a + i * cols : NULL;
		const unsigned char *restrict kr = kb;
		float *d = dz + i * cols;

		if (hk)
			fd_keep_expand(keep + i * fd_keep_stride(cols), cols, kb);

		for (int j = 0; j < cols; j++) {
			float v = hk ? g[j] * keep_f(kr[j], ks) : g[j];             /* dy mask */
			d[j] = act == FD_ACT_LINEAR ? v : v * fd_act_dfy(act, ar[j], slope); /* act'(a) */
		}
		if (db) /* db += colsum dz */
			for (int j = 0; j < cols; j++)
				db[j] += d[j];
	}
}

FD_INLINE void act_bwd(int act, float slope, const float *a, const float *dy,
		       const unsigned char *keep, float ks, unsigned char *kb, float *dz,
		       float *db, size_t rows, int cols)
{
	if (keep)
		act_bwd_t(act, 1, slope, a, dy, keep, ks, kb, dz, db, rows, cols);
	else
		act_bwd_t(act, 0, slope, a, dy, keep, ks, kb, dz, db, rows, cols);
}

static void act_bwd_any(int act, float slope, const float *a, const float *dy,
			const unsigned char *keep, float ks, unsigned char *kb, float *dz,
			float *db, size_t rows, int cols)
{
	FD_SWEEP(act_bwd, act, slope, a, dy, keep, ks, kb, dz, db, rows, cols);
}

/* set: gradients are overwritten (dW product with beta 0, the small bias and
 * BN vectors cleared first) instead of accumulated. The two panels take
 * turns: the gradient g arrives in one, becomes s1 = dL/d(x W + b) in
 * place, the layer input is rebuilt into the other, which then receives
 * dX = s1 W^T (after dW = x^T s1 has read the input). */
struct hook {
	void (*fn)(void *ctx, struct fd_param *p, float *g);
	void (*fn2)(void *ctx, struct fd_param *p, float *g1, float *g2); /* two gradients */
	void *ctx;
	float *tmp;
};

/* The first layer after fd_mlp_forward_pair, from s1 (2n x out): with
 * S_a = s1_j + s1_m and S_b[perm[i]] = s1_j[perm[i]] + s1_m[i] (in the
 * panel `S`), dW_top (+)= A^T S_a, dW_bot (+)= B^T S_b, dA = S_a W_top^T,
 * dB = S_b W_bot^T (NULL: not computed): the input gradients summed over
 * the joint and the shuffled rows, each a product of n rows. */
static void pair_backward(struct fd_mlp *m, const float *s1, float *S, float beta, float *gW,
			  float *dA, float *dB)
{
	const struct layer *L = &m->L[0];
	int n = m->pn, ia = m->ia, ib = L->in - ia, out = L->out;
	float *Sa = S, *Sb = S + (size_t)n * out;
	const float *Wb = L->W + (size_t)ia * out;

	for (int i = 0; i < n; i++) {
		const float *sj = s1 + (size_t)i * out, *sm = s1 + (size_t)(n + i) * out;
		const float *sjp = s1 + (size_t)m->perm[i] * out;
		float *a = Sa + (size_t)i * out, *b = Sb + (size_t)m->perm[i] * out;

		for (int j = 0; j < out; j++) {
			a[j] = sj[j] + sm[j];
			b[j] = sjp[j] + sm[j];
		}
	}
	fd_gemm_padded(1, 0, ia, out, n, 1.0f, m->pa, ia, Sa, out, beta, gW, out, m->nthreads);
	fd_gemm_padded(1, 0, ib, out, n, 1.0f, m->pb, ib, Sb, out, beta, gW + (size_t)ia * out,
		       out, m->nthreads);
	if (dA)
		fd_gemm_padded(0, 1, n, ia, out, 1.0f, Sa, out, L->W, out, 0.0f, dA, ia, m->nthreads);
	if (dB)
		fd_gemm_padded(0, 1, n, ib, out, 1.0f, Sb, out, Wb, out, 0.0f, dB, ib, m->nthreads);
}

/* dX2: the second input gradient after fd_mlp_forward_pair (dX is the
 * first). With hk->fn2, two backward passes at once (H = 2): dY, the
 * panels and dX hold 2n rows, the first n for the first gradient; the
 * sweeps run per half on the same caches, the weight products per half
 * into the two halves of hk->tmp, the input gradient is one 2n-row
 * product. Returns -1 (nothing done) when the panels are too small. */
static int backward(struct fd_mlp *m, const float *dY, int ldy, float *dX, float *dX2, int set,
		    int add, const struct hook *hk)
{
	float *pan[2] = { m->p1, m->p2 };
	const float *g = dY;
	size_t nn, hw = hk && hk->tmp ? fd_mlp_hook_ws(m) : 0, rows; /* hw: a scratch half */
	int n = m->nlast, cur = 0, i, H = hk && hk->fn2 ? 2 : 1;

	if (n < 1 || !dY || !m->p1 || ldy < m->out)
		return -1;
	nn = (size_t)n;
	rows = (size_t)H * nn;
	if (H == 2 && (rows * m->maxdim > m->pan_n || m->pa || !hk->tmp))
		return -1;
	if (ldy != m->out) { /* strided rows: gather into the first panel */
		for (size_t r = 0; r < rows; r++)
			memcpy(pan[0] + r * m->out, dY + r * ldy, (size_t)m->out * sizeof *dY);
		g = pan[0];
	}
	for (i = m->nlayers - 1; i >= 0; i--) {
		struct layer *L = &m->L[i];
		float *s1 = pan[cur], *other = pan[cur ^ 1], *dst;
		const float *x;
		size_t lo = nn * L->out; /* floats of one half of g and s1 */
		/* where this layer's gradients go: the params, or the hook's scratch */
		float *gW[2] = { L->dW, NULL }, *gv1[2] = { L->bn ? L->dgamma : L->db, NULL };
		float *gv2[2] = { L->dbeta, NULL };

		for (int h = 0; h < H && hk && hk->tmp; h++) {
			gW[h] = hk->tmp + h * hw;
			gv1[h] = gW[h] + padn((size_t)L->in * L->out);
			gv2[h] = gv1[h] + padn((size_t)L->out);
		}
		/* s1 = dL/d(x W + b), half by half */
		for (int h = 0; h < H; h++) {
			if (L->bn) {
				if (set) {
					fd_vec_zero(gv1[h], (size_t)L->out);
					fd_vec_zero(gv2[h], (size_t)L->out);
				}
				fd_bn_backward_x(L->c, g + h * lo, L->kout, L->kscale, m->kb1, n, L->out,
						 L->gamma, L->beta, L->binv, L->act, m->slope, gv1[h],
						 gv2[h], s1 + h * lo, L->bscr);
			} else {
				if (set && L->bias)
					fd_vec_zero(gv1[h], (size_t)L->out);
				act_bwd_any(L->act, m->slope, L->c, g + h * lo, L->kout, L->kscale, m->kb1,
					    s1 + h * lo, L->bias ? gv1[h] : NULL, nn, L->out);
			}
		}
		if (i == 0 && m->pa) {
			pair_backward(m, s1, other, set ? 0.0f : 1.0f, gW[0], dX, dX2);
			dst = NULL;
		} else {
			x = layer_input(m, i, other, nn);
			dst = i > 0 || (add && dX) ? other : dX; /* add: dX += other below */
			/* dW (+)= x^T s1; dst = s1 W^T (both halves: one product) */
			for (int h = 0; h < H; h++)
				fd_dense_backward_ex(x, s1 + h * lo, n, L->in, L->out, L->W,
						     set ? 0.0f : 1.0f, gW[h], NULL, H == 1 ? dst : NULL,
						     m->nthreads, 1);
			if (H == 2 && dst)
				fd_gemm_padded(0, 1, (int)rows, L->in, L->out, 1.0f, s1, L->out, L->W,
					       L->out, 0.0f, dst, L->in, m->nthreads);
		}
		if (hk) { /* this layer's gradients are complete (in tmp or in g): W,
			   * then b or gamma and beta */
			float *const *gt[3] = { gW, gv1, gv2 };
			int nt = L->bn ? 3 : L->bias ? 2 : 1;
			for (int k = 0; k < nt; k++) {
				struct fd_param *p = &m->params[L->pw + k];
				if (H == 2)
					hk->fn2(hk->ctx, p, gt[k][0], gt[k][1]);
				else
					hk->fn(hk->ctx, p, gt[k][0]);
			}
		}
		if (i == 0 && add && dX) { /* dX += dxd [* mask] */
			const unsigned char *restrict k = m->kb1;
			for (size_t r = 0; r < rows; r++) {
				float *restrict dr = dX + r * L->in;
				const float *restrict o = other + r * L->in;
				if (L->drop_in) { /* row r saw input row r mod n */
					fd_keep_expand(L->kin + (r % nn) * fd_keep_stride(L->in), L->in,
						       m->kb1);
					for (int j = 0; j < L->in; j++)
						dr[j] += o[j] * keep_f(k[j], L->kscale);
				} else {
					for (int j = 0; j < L->in; j++)
						dr[j] += o[j];
				}
			}
		} else if (dst && L->drop_in) { /* through the input dropout: dx = dxd mask */
			const unsigned char *restrict k = m->kb1;
			for (size_t r = 0; r < rows; r++) {
				float *restrict dr = dst + r * L->in;
				fd_keep_expand(L->kin + (r % nn) * fd_keep_stride(L->in), L->in, m->kb1);
				for (int j = 0; j < L->in; j++)
					dr[j] = dr[j] * keep_f(k[j], L->kscale);
			}
		}
		g = other;
		cur ^= 1;
	}
	return 0;
}

void fd_mlp_backward(struct fd_mlp *m, const float *dY, float *dX)
{
	backward(m, dY, m->out, dX, NULL, 0, 0, NULL);
}

void fd_mlp_backward_set(struct fd_mlp *m, const float *dY, float *dX)
{
	backward(m, dY, m->out, dX, NULL, 1, 0, NULL);
}

void fd_mlp_backward_set_ex(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx)
{
	backward(m, dY, ldy, dX, NULL, 1, add_dx, NULL);
}

void fd_mlp_backward_hook(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx,
			  float *tmp, void (*fn)(void *ctx, struct fd_param *p, float *g),
			  void *ctx)
{
	struct hook hk = { fn, NULL, ctx, tmp };

	backward(m, dY, ldy, dX, NULL, 1, add_dx, &hk);
}

int fd_mlp_backward_two(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx,
			float *tmp,
			void (*fn)(void *ctx, struct fd_param *p, float *g1, float *g2), void *ctx)
{
	struct hook hk = { NULL, fn, ctx, tmp };

	if (!fn)
		return -1;
	return backward(m, dY, ldy, dX, NULL, 1, add_dx, &hk);
}

void fd_mlp_backward_pair(struct fd_mlp *m, const float *dY, float *dA, float *dB,
			  void (*fn)(void *ctx, struct fd_param *p, float *g), void *ctx)
{
	struct hook hk = { fn, NULL, ctx, NULL };

	if (m->pa)
		backward(m, dY, m->out, dA, dB, 1, 0, fn ? &hk : NULL);
}

size_t fd_mlp_hook_ws(const struct fd_mlp *m)
{
	size_t w = 0;

	for (int i = 0; i < m->nlayers; i++) {
		size_t k = padn((size_t)m->L[i].in * m->L[i].out) + 2 * padn((size_t)m->L[i].out);
		if (k > w)
			w = k;
	}
	return w;
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
