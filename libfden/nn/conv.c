/* Convolution as im2col + one product (conv.h). */
#include <limits.h>
#include <string.h>

#include "kernels/gemm.h"
#include "nn/conv.h"

int fd_conv2d_init(struct fd_conv2d *g, int h, int w, int c, int oc, int k, int s, int p)
{
	if (h < 1 || w < 1 || c < 1 || oc < 1 || k < 1 || s < 1 || p < 0 || p >= k)
		return -1;
	if (h + 2 * p < k || w + 2 * p < k)
		return -1;
	if ((double)h * w * c > INT_MAX || (double)k * k * c > INT_MAX ||
	    (double)h * w * oc > INT_MAX || (double)k * k * oc > INT_MAX)
		return -1;
	g->h = h;
	g->w = w;
	g->c = c;
	g->oc = oc;
	g->k = k;
	g->s = s;
	g->p = p;
	g->oh = (h + 2 * p - k) / s + 1; /* floor((h + 2p - k) / s) + 1 */
	g->ow = (w + 2 * p - k) / s + 1;
	return 0;
}

size_t fd_conv2d_in_floats(const struct fd_conv2d *g)
{
	return (size_t)g->h * g->w * g->c;
}

size_t fd_conv2d_out_floats(const struct fd_conv2d *g)
{
	return (size_t)g->oh * g->ow * g->oc;
}

size_t fd_conv2d_col_floats(const struct fd_conv2d *g, int n)
{
	return (size_t)n * g->oh * g->ow * ((size_t)g->k * g->k * g->c);
}

struct fd_patch_geom fd_conv2d_patches(const struct fd_conv2d *g)
{
	struct fd_patch_geom pg = { g->h, g->w, g->c, g->oh, g->ow, g->k, g->s, g->p };

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

void fd_conv2d_forward(const struct fd_conv2d *g, const float *X, int n, const float *W,
		       float *col, float *Z, int nthreads, int padded)
{
	struct fd_patch_geom pg = fd_conv2d_patches(g);
	int rows = n * g->oh * g->ow, kkc = g->k * g->k * g->c;

	fd_im2col(X, n, &pg, col);
	/* Z (rows x oc) = col (rows x kkc) W (kkc x oc) */
	gemm(padded, 0, 0, rows, g->oc, kkc, col, kkc, W, g->oc, 0.0f, Z, g->oc, nthreads);
}

void fd_conv2d_backward(const struct fd_conv2d *g, const float *col, const float *dZ, int n,
			const float *W, float beta_w, float *dW, float *dcol, float *dX,
			int nthreads, int padded)
{
	struct fd_patch_geom pg = fd_conv2d_patches(g);
	int rows = n * g->oh * g->ow, kkc = g->k * g->k * g->c;

	/* dW (kkc x oc) = col^T dZ + beta_w dW */
	gemm(padded, 1, 0, kkc, g->oc, rows, col, kkc, dZ, g->oc, beta_w, dW, g->oc, nthreads);
	if (!dX)
		return;
	/* dcol (rows x kkc) = dZ W^T; dX = col2im(dcol) */
	gemm(padded, 0, 1, rows, kkc, g->oc, dZ, g->oc, W, g->oc, 0.0f, dcol, kkc, nthreads);
	memset(dX, 0, (size_t)n * fd_conv2d_in_floats(g) * sizeof(float));
	fd_col2im(dcol, n, &pg, dX);
}
