/* The style classifier behind the GRL: see stycls.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/indep.h"
#include "fden/stycls.h"
#include "kernels/gemm.h"
#include "kernels/rng.h"

int fd_stycls_new(struct fd_stycls *c, int d, int h, int k, uint64_t seed,
		  const struct fden_allocator *a)
{
	static const char *names[4] = { "W1", "b1", "W2", "b2" };
	int o1 = h > 0 ? h : k;
	size_t n[4] = { (size_t)d * o1, (size_t)o1, (size_t)h * k, (size_t)k }, tot = 0, off = 0;
	struct fd_rng r;

	memset(c, 0, sizeof *c);
	c->np = h > 0 ? 4 : 2;
	for (int i = 0; i < c->np; i++)
		tot += 4 * ((n[i] + 15) / 16 * 16);
	c->blk = fd_calloc(a, tot, sizeof(float));
	if (!c->blk) {
		c->np = 0;
		return -1;
	}
	c->d = d;
	c->h = h > 0 ? h : 0;
	c->k = k;
	for (int i = 0; i < c->np; i++) {
		size_t s = (n[i] + 15) / 16 * 16;
		struct fd_param *p = &c->p[i];

		p->w = c->blk + off;
		p->g = p->w + s;
		p->m = p->g + s;
		p->v = p->m + s;
		p->n = n[i];
		snprintf(p->name, sizeof p->name, "stycls.%s", names[i]);
		off += 4 * s;
	}
	fd_rng_seed(&r, seed ^ 0x5c1a55c1a55ULL); /* its own stream: the model's rng untouched */
	if (c->h) {
		float s1 = sqrtf(2.0f / (float)d), s2 = sqrtf(1.0f / (float)c->h);

		for (size_t j = 0; j < c->p[0].n; j++)
			c->p[0].w[j] = s1 * fd_rng_normal(&r);
		for (size_t j = 0; j < c->p[2].n; j++)
			c->p[2].w[j] = s2 * fd_rng_normal(&r);
	}
	return 0;
}

void fd_stycls_free(struct fd_stycls *c, const struct fden_allocator *a)
{
	fd_free(a, c->blk);
	memset(c, 0, sizeof *c);
}

static size_t up16(size_t n)
{
	return (n + 15) / 16 * 16;
}

size_t fd_stycls_ws(const struct fd_stycls *c, int n)
{
	/* X, dX (n x d), sd (d), H, dH (n x h), Z (n x k) */
	return 2 * up16((size_t)n * c->d) + up16((size_t)c->d) + 2 * up16((size_t)n * c->h) +
	       up16((size_t)n * c->k) + 64;
}

/* Y[r] += b for each of n rows of width w */
static void add_bias(float *Y, const float *b, int n, int w)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < w; j++)
			Y[(size_t)i * w + j] += b[j];
}

/* g = column sums of dY (n x w) */
static void col_sum(const float *dY, int n, int w, float *g)
{
	for (int j = 0; j < w; j++)
		g[j] = 0.0f;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < w; j++)
			g[j] += dY[(size_t)i * w + j];
}

/* Z (n x k) -> dL/dZ = (softmax(Z) - onehot(y)) / n in place; returns the
 * summed CE and counts the rows whose largest logit is y. */
static double softmax_ce(float *Z, int n, int k, const int32_t *y, size_t *right)
{
	double L = 0;

	for (int i = 0; i < n; i++) {
		float *z = Z + (size_t)i * k, mx = z[0];
		double s = 0;
		int am = 0;

		for (int j = 1; j < k; j++)
			if (z[j] > mx) {
				mx = z[j];
				am = j;
			}
		*right += am == y[i];
		for (int j = 0; j < k; j++)
			s += exp((double)z[j] - mx);
		L += log(s) - ((double)z[y[i]] - mx);
		for (int j = 0; j < k; j++)
			z[j] = (float)(exp((double)z[j] - mx) / s / n);
		z[y[i]] -= 1.0f / (float)n;
	}
	return L;
}

double fd_stycls_loss(const struct fd_stycls *c, const float *F, int n, const int32_t *y,
		      float gin, float *dF, double *acc, float *ws, int nth)
{
	const int d = c->d, h = c->h, k = c->k;
	float *X = ws, *dX = X + up16((size_t)n * d), *sd = dX + up16((size_t)n * d);
	float *H = sd + up16((size_t)d), *dH = H + up16((size_t)n * h), *Z = dH + up16((size_t)n * h);
	const struct fd_param *W1 = &c->p[0], *b1 = &c->p[1], *W2 = &c->p[2], *b2 = &c->p[3];
	size_t right = 0;
	double L;

	fd_standardize_cols(F, n, d, X, sd);
	if (h) { /* H = relu(X W1 + b1); Z = H W2 + b2 */
		fd_gemm(0, 0, n, h, d, 1.0f, X, d, W1->w, h, 0.0f, H, h, nth);
		add_bias(H, b1->w, n, h);
		for (size_t j = 0; j < (size_t)n * h; j++)
			H[j] = H[j] > 0 ? H[j] : 0.0f;
		fd_gemm(0, 0, n, k, h, 1.0f, H, h, W2->w, k, 0.0f, Z, k, nth);
		add_bias(Z, b2->w, n, k);
	} else {
		fd_gemm(0, 0, n, k, d, 1.0f, X, d, W1->w, k, 0.0f, Z, k, nth);
		add_bias(Z, b1->w, n, k);
	}
	L = softmax_ce(Z, n, k, y, &right) / n; /* Z is dL/dZ now */
	if (acc)
		*acc = (double)right / n;
	if (h) {
		/* dW2 = H^T dZ, db2; dH = dZ W2^T (H > 0); dW1 = X^T dH, db1; dX = dH W1^T */
		fd_gemm(1, 0, h, k, n, 1.0f, H, h, Z, k, 0.0f, W2->g, k, nth);
		col_sum(Z, n, k, b2->g);
		fd_gemm(0, 1, n, h, k, 1.0f, Z, k, W2->w, k, 0.0f, dH, h, nth);
		for (size_t j = 0; j < (size_t)n * h; j++)
			dH[j] = H[j] > 0 ? dH[j] : 0.0f;
		fd_gemm(1, 0, d, h, n, 1.0f, X, d, dH, h, 0.0f, W1->g, h, nth);
		col_sum(dH, n, h, b1->g);
		if (dF)
			fd_gemm(0, 1, n, d, h, gin, dH, h, W1->w, h, 0.0f, dX, d, nth);
	} else {
		fd_gemm(1, 0, d, k, n, 1.0f, X, d, Z, k, 0.0f, W1->g, k, nth);
		col_sum(Z, n, k, b1->g);
		if (dF)
			fd_gemm(0, 1, n, d, k, gin, Z, k, W1->w, k, 0.0f, dX, d, nth);
	}
	if (dF)
		fd_standardize_cols_backward(X, dX, sd, n, d, dF);
	return L;
}
