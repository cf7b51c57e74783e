/* Dense layer on a batch: Y = X W + b, X n x in, W in x out, row-major.
 * Every product goes through fd_gemm; bias, activation and dropout are one
 * sweep after it. */
#ifndef FD_NN_DENSE_H
#define FD_NN_DENSE_H

/* H = act(X W + b) (b may be NULL; act an enum fd_act, FD_ACT_LINEAR for a
 * plain dense layer); when mask is not NULL also Y = H * mask (dropout
 * after the layer; H keeps the activation for backward). */
void fd_dense_forward(const float *X, int n, int in, int out,
		      const float *W, const float *b, int act, float slope,
		      const float *mask, float *H, float *Y, int nthreads);
/* The same when X, W and H all lie in library memory (fd_malloc blocks):
 * the product may take BLIS's small-matrix kernels (fd_gemm_padded). */
void fd_dense_forward_padded(const float *X, int n, int in, int out,
			     const float *W, const float *b, int act, float slope,
			     const float *mask, float *H, float *Y, int nthreads);

/* Given dH = dL/d(X W + b): dW += X^T dH; db += colsum dH (db may be NULL);
 * dX = dH W^T (dX may be NULL). */
void fd_dense_backward(const float *X, const float *dH, int n, int in, int out,
		       const float *W, float *dW, float *db, float *dX, int nthreads);
/* The same with dW = X^T dH + beta_w dW (beta_w 0 overwrites dW; db still
 * adds); padded: every operand (X, dH, W, dW, dX) is library memory, so the
 * products may take fd_gemm_padded. */
void fd_dense_backward_ex(const float *X, const float *dH, int n, int in, int out,
			  const float *W, float beta_w, float *dW, float *db, float *dX,
			  int nthreads, int padded);

#endif
