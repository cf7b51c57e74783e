/* Matrix products through BLIS (bli_sgemm_ex, explicit strides, so
 * transposed operands are never copied). Row-major float32 everywhere. */
#ifndef FD_KERNELS_GEMM_H
#define FD_KERNELS_GEMM_H

/* C[m x n] = alpha * op(A) op(B) + beta * C
 * op(A) is m x k: A is m x k (lda >= k) or, with ta, k x m (lda >= m).
 * op(B) is k x n: B is k x n (ldb >= n) or, with tb, n x k (ldb >= k).
 * nthreads: BLIS threads for this call (set through a local rntm_t); products
 * with m n k < FD_GEMM_MT_MIN run on one thread whatever nthreads says. */
#define FD_GEMM_MT_MIN 5e5
void fd_gemm(int ta, int tb, int m, int n, int k, float alpha,
	     const float *A, int lda, const float *B, int ldb,
	     float beta, float *C, int ldc, int nthreads);

#endif
