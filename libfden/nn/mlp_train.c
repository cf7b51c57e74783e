/* The MLP's training forward and backward (fd_mlp_forward,
 * fd_mlp_backward): the layer products through fd_gemm_padded and the
 * element-wise sweeps between them, instantiated per activation so each
 * inner loop is branch-free. The caches they read and write are laid out
 * by fd_mlp_reserve (mlp.c, mlp_int.h). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* vector blends for the keep selects */
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/mlp.h"
#include "nn/mlp_int.h"

#define FD_INLINE static inline __attribute__((always_inline))

FD_INLINE float keep_f(unsigned char k, float s)
{
	return (float)k * s; /* 0 or 1/(1 - rate): fd_dropout_mask's value, exactly */
}

/* The element-wise sweeps below are instantiated per activation and per
 * (bias, keep) combination, so each inner loop is branch-free and
 * vectorises: FD_SWEEP(f, act, ...) dispatches on act at run time. */
#define FD_SWEEP(F, ACT, ...) \
	do { \
		switch (ACT) { \
		case FD_ACT_LEAKY: F(FD_ACT_LEAKY, __VA_ARGS__); break; \
		case FD_ACT_SIGMOID: F(FD_ACT_SIGMOID, __VA_ARGS__); break; \
		case FD_ACT_TANH: F(FD_ACT_TANH, __VA_ARGS__); break; \
		default: F(FD_ACT_LINEAR, __VA_ARGS__); break; \
		} \
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
				yr[j] = xr[j] * keep_f(kr[j], ks); /* y = a mask */
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
			float xh = (hr[j] - mean[j]) * inv[j];                   /* xhat */
			float a = fd_act_f(act, gamma[j] * xh + beta[j], slope); /* act(g xhat + b) */
			hr[j] = xh;
			yr[j] = hk ? a * keep_f(kr[j], ks) : a; /* y = a mask */
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

/* The paired inputs of a forward (fd_mlp_fwd.pair_b) */
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
		float *H = direct ? Y : L->c ? L->c
					     : L->y,
		      *nx = direct ? Y : last ? L->y
					      : m->p2;

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

const float *fd_mlp_forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng,
			    const struct fd_mlp_fwd *opt)
{
	float *Y = opt ? opt->y : NULL;
	int ldy = opt ? opt->ldy : 0;
	struct pair p;

	if (!X || (Y && ldy < m->out))
		return NULL;
	if (!opt || !opt->pair_b)
		return forward(m, X, n, rng, Y, ldy, NULL);
	p = (struct pair){ X, opt->pair_b, opt->pair_perm, opt->pair_ia, n };
	if (!p.perm || p.ia < 1 || p.ia >= m->in || m->L[0].drop_in || n < 1 || n > m->cap / 2)
		return NULL;
	return forward(m, NULL, 2 * n, rng, Y, ldy, &p);
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
			float v = hk ? g[j] * keep_f(kr[j], ks) : g[j];                      /* dy mask */
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

/* The first layer after a paired forward, from s1 (2n x out): with
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

/* One backward run, its options resolved. The two panels take turns: the
 * gradient g arrives in one, becomes s1 = dL/d(x W + b) in place, the layer
 * input is rebuilt into the other, which then receives dX = s1 W^T (after
 * dW = x^T s1 has read the input). With H = 2 (fd_mlp_bwd.two) g, s1, the
 * panels and dX hold 2n rows, the first n for the first gradient. */
struct bwd {
	float *dX, *dX2; /* input gradients (dX2: B's after a paired forward) */
	int set;         /* gradients overwritten (beta 0, vectors cleared) */
	int add;         /* dX += */
	int H;           /* output gradients at once: 1 or 2 */
	size_t n, hw;    /* rows of one gradient; floats of a tmp half (0: no tmp) */
	const struct fd_mlp_bwd *o;
};

/* Where layer L's gradients go, for each of the H gradients: its params'
 * g, or the halves of the hook's scratch (the W part, then the two
 * vectors: b or gamma, then beta). */
static void grads_at(const struct layer *L, const struct bwd *b, float *gW[2], float *gv1[2],
		     float *gv2[2])
{
	gW[0] = L->dW;
	gv1[0] = L->bn ? L->dgamma : L->db;
	gv2[0] = L->dbeta;
	gW[1] = gv1[1] = gv2[1] = NULL;
	for (int h = 0; h < b->H && b->hw; h++) {
		gW[h] = b->o->tmp + h * b->hw;
		gv1[h] = gW[h] + padn((size_t)L->in * L->out);
		gv2[h] = gv1[h] + padn((size_t)L->out);
	}
}

/* s1 = dL/d(x W + b) from g, half by half, through the output dropout, the
 * activation and batch norm; the bias or gamma and beta gradients on the
 * way. Returns s1, or, with in_place (g is library memory: a panel, or
 * dY under fd_mlp_bwd.dy_lib), g itself for a linear layer without batch
 * norm or output dropout, where s1 = g: no copy (a 2n x 512 gradient is
 * 7.8 MB, a pass through memory), the bias gradient summed from g. A
 * caller's dY is never read in place: the products would read past it. */
static const float *sweep_back(struct fd_mlp *m, const struct layer *L, const struct bwd *b,
			       const float *g, float *s1, float *gv1[2], float *gv2[2], int in_place)
{
	size_t lo = b->n * L->out; /* floats of one half of g and s1 */

	if (in_place && !L->bn && !L->kout && L->act == FD_ACT_LINEAR) {
		for (int h = 0; h < b->H && L->bias; h++) {
			if (b->set)
				fd_vec_zero(gv1[h], (size_t)L->out);
			fd_vec_colsum_add(gv1[h], g + h * lo, (int)b->n, L->out); /* act_bwd_t's order */
		}
		return g;
	}
	for (int h = 0; h < b->H; h++) {
		if (L->bn) {
			if (b->set) {
				fd_vec_zero(gv1[h], (size_t)L->out);
				fd_vec_zero(gv2[h], (size_t)L->out);
			}
			fd_bn_backward_x(L->c, g + h * lo, L->kout, L->kscale, m->kb1, (int)b->n,
					 L->out, L->gamma, L->beta, L->binv, L->act, m->slope, gv1[h],
					 gv2[h], s1 + h * lo, L->bscr);
		} else {
			if (b->set && L->bias)
				fd_vec_zero(gv1[h], (size_t)L->out);
			act_bwd_any(L->act, m->slope, L->c, g + h * lo, L->kout, L->kscale, m->kb1,
				    s1 + h * lo, L->bias ? gv1[h] : NULL, b->n, L->out);
		}
	}
	return s1;
}

/* Layer i's products: dW (+)= x^T s1 per half, dst = s1 W^T (both halves:
 * one product), x the layer's input rebuilt into `other`. Returns dst, the
 * input gradient before the input dropout: `other` (layers above the first,
 * or dX += later), dX, or NULL (no dX, or a paired first layer, whose
 * input gradients are complete). */
static float *products_back(struct fd_mlp *m, int i, const struct bwd *b, const float *s1,
			    float *other, float *gW[2])
{
	const struct layer *L = &m->L[i];
	size_t lo = b->n * L->out;
	float *dst;
	const float *x;

	if (i == 0 && m->pa) {
		pair_backward(m, s1, other, b->set ? 0.0f : 1.0f, gW[0], b->dX, b->dX2);
		return NULL;
	}
	x = layer_input(m, i, other, b->n);
	dst = i > 0 || (b->add && b->dX) ? other : b->dX; /* add: dX += other later */
	for (int h = 0; h < b->H; h++)
		fd_dense_backward_ex(x, s1 + h * lo, (int)b->n, L->in, L->out, L->W,
				     b->set ? 0.0f : 1.0f, gW[h], NULL, b->H == 1 ? dst : NULL,
				     m->nthreads, 1);
	if (b->H == 2 && dst)
		fd_gemm_padded(0, 1, (int)(2 * b->n), L->in, L->out, 1.0f, s1, L->out, L->W, L->out,
			       0.0f, dst, L->in, m->nthreads);
	return dst;
}

/* Layer L's gradients are complete (in tmp or in g): each tensor to the
 * hook, W, then b or gamma and beta. */
static void hand_over(struct fd_mlp *m, const struct layer *L, const struct bwd *b, float *gW[2],
		      float *gv1[2], float *gv2[2])
{
	float *const *gt[3] = { gW, gv1, gv2 };
	int nt = L->bn ? 3 : L->bias ? 2
				     : 1;

	for (int k = 0; k < nt; k++)
		b->o->hook(b->o->ctx, &m->params[L->pw + k], gt[k][0], gt[k][1]); /* [1]: H 2 */
}

/* The first layer's input gradient dxd (in `other`, rows of L->in) through
 * its input dropout: dX += dxd [* mask] (add). */
static void add_dx(struct fd_mlp *m, const struct layer *L, const struct bwd *b,
		   const float *other)
{
	const unsigned char *restrict k = m->kb1;

	for (size_t r = 0; r < b->H * b->n; r++) {
		float *restrict dr = b->dX + r * L->in;
		const float *restrict o = other + r * L->in;
		if (L->drop_in) { /* row r saw input row r mod n */
			fd_keep_expand(L->kin + (r % b->n) * fd_keep_stride(L->in), L->in, m->kb1);
			for (int j = 0; j < L->in; j++)
				dr[j] += o[j] * keep_f(k[j], L->kscale);
		} else {
			for (int j = 0; j < L->in; j++)
				dr[j] += o[j];
		}
	}
}

/* dst = dxd mask in place: a layer's input gradient through its input
 * dropout. */
static void drop_in_back(struct fd_mlp *m, const struct layer *L, const struct bwd *b, float *dst)
{
	const unsigned char *restrict k = m->kb1;

	for (size_t r = 0; r < b->H * b->n; r++) {
		float *restrict dr = dst + r * L->in;
		fd_keep_expand(L->kin + (r % b->n) * fd_keep_stride(L->in), L->in, m->kb1);
		for (int j = 0; j < L->in; j++)
			dr[j] = dr[j] * keep_f(k[j], L->kscale);
	}
}

/* The backward of a resolved run, last layer first. -1 (nothing done)
 * without a forward or when the panels are too small. */
static int backward(struct fd_mlp *m, const float *dY, int ldy, struct bwd *b)
{
	float *pan[2] = { m->p1, m->p2 };
	const float *g = dY;
	int cur = 0;

	if (m->nlast < 1 || !dY || !m->p1 || ldy < m->out)
		return -1;
	b->n = (size_t)m->nlast;
	if (b->H == 2 && (2 * b->n * m->maxdim > m->pan_n || m->pa))
		return -1;
	if (ldy != m->out) { /* strided rows: gather into the first panel */
		for (size_t r = 0; r < b->H * b->n; r++)
			memcpy(pan[0] + r * m->out, dY + r * ldy, (size_t)m->out * sizeof *dY);
		g = pan[0];
	}
	for (int i = m->nlayers - 1; i >= 0; i--) {
		struct layer *L = &m->L[i];
		float *other = pan[cur ^ 1], *dst;
		float *gW[2], *gv1[2], *gv2[2];
		const float *s1;

		grads_at(L, b, gW, gv1, gv2);
		s1 = sweep_back(m, L, b, g, pan[cur], gv1, gv2, g != dY || b->o->dy_lib);
		dst = products_back(m, i, b, s1, other, gW);
		if (b->o->hook)
			hand_over(m, L, b, gW, gv1, gv2);
		if (i == 0 && b->add && b->dX && dst)
			add_dx(m, L, b, other);
		else if (dst && L->drop_in)
			drop_in_back(m, L, b, dst);
		g = other;
		cur ^= 1;
	}
	return 0;
}

int fd_mlp_backward(struct fd_mlp *m, const float *dY, float *dX, const struct fd_mlp_bwd *opt)
{
	static const struct fd_mlp_bwd plain;
	const struct fd_mlp_bwd *o = opt ? opt : &plain;
	struct bwd b = {
		.dX = dX,
		.dX2 = o->dx2,
		.add = o->add_dx,
		.H = o->two ? 2 : 1,
		.o = o,
		.set = o->set || o->tmp, /* gradients made in tmp are always set there */
		.hw = o->tmp ? fd_mlp_hook_ws(m) : 0,
	};

	if ((o->two && !o->tmp) || (o->tmp && !o->hook))
		return FDEN_E_INVALID;
	if (m->pa ? o->two || o->add_dx : o->dx2 != NULL)
		return FDEN_E_INVALID;
	return backward(m, dY, o->ldy ? o->ldy : m->out, &b) ? FDEN_E_INVALID : FDEN_OK;
}
