/* Matrix products through BLIS (bli_sgemm_ex, explicit strides, so
 * transposed operands are never copied). Row-major float32 everywhere. */
#ifndef FD_KERNELS_GEMM_H
#define FD_KERNELS_GEMM_H

#include "core/alloc.h" /* FD_GEMM_PAD */

/* C[m x n] = alpha * op(A) op(B) + beta * C
 * op(A) is m x k: A is m x k (lda >= k) or, with ta, k x m (lda >= m).
 * op(B) is k x n: B is k x n (ldb >= n) or, with tb, n x k (ldb >= k).
 * nthreads: BLIS threads for this call (set through a local rntm_t); products
 * with m n k < FD_GEMM_MT_MIN run on one thread whatever nthreads says. */
#define FD_GEMM_MT_MIN 5e5
void fd_gemm(int ta, int tb, int m, int n, int k, float alpha,
	     const float *A, int lda, const float *B, int ldb,
	     float beta, float *C, int ldc, int nthreads);

/* The same product, allowed to take BLIS's small-matrix ("sup") kernels
 * (16x512x512: 95 GFLOP/s against 63 without). Those read past the end of
 * their operands, so every one of A, B and C must be library memory
 * (inside an fd_malloc block: FD_GEMM_PAD readable bytes follow it, see
 * core/alloc.h), never a caller's buffer. Measured over-read (BLIS 0.9,
 * haswell/zen sup kernels, bench/sup_probe.c): at most one row of the
 * operand's own leading dimension (4 ld bytes) for A and B, 12 bytes for C,
 * nothing before the start, no write outside C's m x n. Products with a
 * leading dimension above FD_GEMM_PAD_LD take the conventional path. Same
 * results as fd_gemm up to the order of the sums.
 * Checked: debug builds (NDEBUG undefined) look every operand up among the
 * live fd_malloc blocks (fd_alloc_is_library); a product with one outside
 * them takes the conventional path and counts in fd_gemm_padded_strays(),
 * which the suites assert stays 0 across training and inference. */
void fd_gemm_padded(int ta, int tb, int m, int n, int k, float alpha,
		    const float *A, int lda, const float *B, int ldb,
		    float beta, float *C, int ldc, int nthreads);

/* Products fd_gemm_padded was given with an operand outside library memory,
 * since the process started (debug builds; always 0 under NDEBUG). */
unsigned long fd_gemm_padded_strays(void);

/* Choose BLIS's kernel family before its first use (FDEN_BLIS_ARCH: auto,
 * blis, skx, haswell, zen3, zen2, zen; see gemm.c), once per process;
 * every fd_gemm calls it. fd_gemm_arch_name: the family BLIS runs. */
void fd_gemm_arch_init(void);
const char *fd_gemm_arch_name(void);

#endif
