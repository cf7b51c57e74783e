/* Transposed convolution as one product + col2im (convt.h). */
#include <limits.h>
#include <string.h>

#include "kernels/gemm.h"
#include "nn/convt.h"

int fd_convt2d_init(struct fd_convt2d *g, int h, int w, int c, int oc, int k, int s, int p,
		    int opad)
{
	double oh, ow;

	if (h < 1 || w < 1 || c < 1 || oc < 1 || k < 1 || s < 1 || p < 0 || p >= k ||
	    opad < 0 || opad >= s)
		return -1;
	oh = (double)(h - 1) * s - 2.0 * p + k + opad; /* (h - 1) s - 2p + k + opad */
	ow = (double)(w - 1) * s - 2.0 * p + k + opad;
	if (oh < 1 || ow < 1 || oh * ow * oc > INT_MAX || (double)h * w * c > INT_MAX ||
	    (double)k * k * oc > INT_MAX)
		return -1;
	g->h = h;
	g->w = w;
	g->c = c;
	g->oc = oc;
	g->k = k;
	g->s = s;
	g->p = p;
	g->opad = opad;
	g->oh = (int)oh;
	g->ow = (int)ow;
	return 0;
}

size_t fd_convt2d_in_floats(const struct fd_convt2d *g)
{
	return (size_t)g->h * g->w * g->c;
}

size_t fd_convt2d_out_floats(const struct fd_convt2d *g)
{
	return (size_t)g->oh * g->ow * g->oc;
}

size_t fd_convt2d_col_floats(const struct fd_convt2d *g, int n)
{
	return (size_t)n * g->h * g->w * ((size_t)g->k * g->k * g->oc);
}

struct fd_patch_geom fd_convt2d_patches(const struct fd_convt2d *g)
{
	struct fd_patch_geom pg = { g->oh, g->ow, g->oc, g->h, g->w, g->k, g->s, g->p };

	return pg;
}

static void gemm(int padded, int ta, int tb, int m, int n, int k, const float *A, int lda,
		 const float *B, int ldb, float beta, float *C, int ldc, int nthreads)
{
	if (padded)
		fd_gemm_padded(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc, nthreads);
	else
		fd_gemm(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc, nthreads);
}

void fd_convt2d_forward(const struct fd_convt2d *g, const float *X, int n, const float *W,
			float *col, float *Z, int nthreads, int padded)
{
	struct fd_patch_geom pg = fd_convt2d_patches(g);
	int rows = n * g->h * g->w, kko = g->k * g->k * g->oc;

	/* col (rows x kko) = X (rows x c) W (c x kko); Z = col2im(col) */
	gemm(padded, 0, 0, rows, kko, g->c, X, g->c, W, kko, 0.0f, col, kko, nthreads);
	memset(Z, 0, (size_t)n * fd_convt2d_out_floats(g) * sizeof(float));
	fd_col2im(col, n, &pg, Z);
}

void fd_convt2d_backward(const struct fd_convt2d *g, const float *X, const float *dZ, int n,
			 const float *W, float beta_w, float *dW, float *dcol, float *dX,
			 int nthreads, int padded)
{
	struct fd_patch_geom pg = fd_convt2d_patches(g);
	int rows = n * g->h * g->w, kko = g->k * g->k * g->oc;

	fd_im2col(dZ, n, &pg, dcol);
	/* dW (c x kko) = X^T dcol + beta_w dW */
	gemm(padded, 1, 0, g->c, kko, rows, X, g->c, dcol, kko, beta_w, dW, kko, nthreads);
	if (dX) /* dX (rows x c) = dcol W^T */
		gemm(padded, 0, 1, rows, g->c, kko, dcol, kko, W, kko, 0.0f, dX, g->c, nthreads);
}
