/* Dense layer: one sgemm forward, two backward (no copies, no transposes
 * materialised: BLIS reads the transposed operands through strides). */
#include "kernels/gemm.h"
#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/dense.h"

void fd_dense_forward(const float *X, int n, int in, int out,
		      const float *W, const float *b, int act, float slope,
		      const float *mask, float *H, float *Y, int nthreads)
{
	/* H = X W */
	fd_gemm(0, 0, n, out, in, 1.0f, X, in, W, out, 0.0f, H, out, nthreads);
	/* H = act(H + b); Y = H * mask */
	fd_act_forward(act, slope, H, b, mask, Y, n, out);
}

void fd_dense_forward_padded(const float *X, int n, int in, int out,
			     const float *W, const float *b, int act, float slope,
			     const float *mask, float *H, float *Y, int nthreads)
{
	/* H = X W */
	fd_gemm_padded(0, 0, n, out, in, 1.0f, X, in, W, out, 0.0f, H, out, nthreads);
	/* H = act(H + b); Y = H * mask */
	fd_act_forward(act, slope, H, b, mask, Y, n, out);
}

void fd_dense_backward_ex(const float *X, const float *dH, int n, int in, int out,
			  const float *W, float beta_w, float *dW, float *db, float *dX,
			  int nthreads, int padded)
{
	void (*mm)(int, int, int, int, int, float, const float *, int, const float *, int,
		   float, float *, int, int) = padded ? fd_gemm_padded : fd_gemm;

	/* dW = X^T dH + beta_w dW */
	mm(1, 0, in, out, n, 1.0f, X, in, dH, out, beta_w, dW, out, nthreads);
	/* db += colsum dH */
	if (db)
		fd_vec_colsum_add(db, dH, n, out);
	/* dX = dH W^T */
	if (dX)
		mm(0, 1, n, in, out, 1.0f, dH, out, W, out, 0.0f, dX, in, nthreads);
}

void fd_dense_backward(const float *X, const float *dH, int n, int in, int out,
		       const float *W, float *dW, float *db, float *dX, int nthreads)
{
	fd_dense_backward_ex(X, dH, n, in, out, W, 1.0f, dW, db, dX, nthreads, 0); /* dW += X^T dH */
}
