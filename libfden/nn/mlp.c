/* The MLP as a set of parameters: creation from a table of layer specs,
 * the parameter block, the training workspace (fd_mlp_reserve), accessors.
 * The training forward and backward are in mlp_train.c, the
 * evaluation-mode forward in mlp_infer.c; the layout is in mlp_int.h. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/dropout.h"
#include "nn/init.h"
#include "nn/mlp.h"
#include "nn/mlp_int.h"

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
				  !cfg ? "cfg" : !init_rng ? "init_rng"
							   : "out");
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

#define ADD_PARAM(PTR, GPTR, N, WHAT) \
	do { \
		p = &m->params[np++]; \
		p->n = (N); \
		p->w = m->block + off; \
		p->g = m->block + sec + off; \
		p->m = m->block + 2 * sec + off; \
		p->v = m->block + 3 * sec + off; \
		PTR = p->w; \
		GPTR = p->g; \
		off += padn(p->n); \
		if (set_name(p->name, name, i, WHAT)) \
			goto toolong; \
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
					       "must fit in 31 characters",
			  name);
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
						     "(%zu floats)",
				  n, need);
	fd_free(alloc_of(m), m->ws);
	m->ws = ws;
	m->cap = n;
	m->nlast = 0;
#define TAKE(PTR, T, N) \
	do { \
		PTR = (T *)(ws + off); \
		off += padn(N); \
	} while (0)
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

int fd_mlp_reserve_group(struct fd_mlp *const *nets, const int *rows, const int *two,
			 int count, struct fd_err *err)
{
	struct fd_mlp *own = NULL;
	size_t need = 0;
	int rc;

	for (int k = 0; k < count; k++) {
		if (!nets[k])
			continue;
		nets[k]->two = two && two[k];
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

int fd_mlp_reserve(struct fd_mlp *m, int n, struct fd_err *err)
{
	if (m->p1 && m->p1 != m->pan_own) { /* leaves a group: panels of its own */
		m->p1 = m->p2 = NULL;
		m->pan_n = 0;
	}
	return fd_mlp_reserve_group(&m, &n, NULL, 1, err);
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

const float *fd_mlp_last_bias(const struct fd_mlp *m)
{
	const struct layer *L = &m->L[m->nlayers - 1];

	return L->bias && !L->bn && L->act == FD_ACT_LINEAR ? L->b : NULL;
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
