/* C = alpha op(A) op(B) + beta C through bli_sgemm_ex. Row-major operands
 * are described to BLIS by strides (rs = ld, cs = 1); a transposed operand
 * just swaps its strides, so nothing is copied. The thread count is set in a
 * local rntm_t per call: BLIS reads BLIS_NUM_THREADS only once, and a local
 * runtime object keeps concurrent callers independent. */
#include <blis.h>
#include <math.h>

#include "kernels/gemm.h"

/* One row (batch-1 inference) of C = alpha a B + beta c, B k x n row-major.
 * BLIS packs all of B for a one-row product and then runs its 6x16 kernel
 * on one live row; a row sweep streams B once at 2-5x the speed, so rows go
 * through here: acc[j] = sum_p a[p] B[p][j] as one fused multiply-add per p
 * in order p = 0, 1, ... from acc = 0, then c = alpha acc (beta 0) or
 * beta c + alpha acc. That is BLIS's own order for a row while k fits one
 * of its k blocks (bit-identical for k <= 64 with n a multiple of 16,
 * tests/nn/test_fastpath.c); for longer k BLIS's result depends on its
 * blocking, which differs between its paths and batch sizes anyway. Reads
 * exactly k x n of B and k of a (no over-read). AVX2+FMA, chosen at run
 * time; anything else goes to BLIS. */
#define ROW_NB 512

__attribute__((target("avx2,fma")))
static void row_nn(int n, int k, float alpha, const float *x, int incx,
		   const float *B, int ldb, float beta, float *c)
{
	float acc[ROW_NB] __attribute__((aligned(64)));

	for (int j0 = 0; j0 < n; j0 += ROW_NB) {
		int nb = n - j0 < ROW_NB ? n - j0 : ROW_NB, p = 0;
		const float *b = B + j0;

		for (int j = 0; j < nb; j++)
			acc[j] = 0.0f;
		for (; p + 4 <= k; p += 4) { /* 4 rows of B per sweep of acc */
			const float *restrict b0 = b + (size_t)p * ldb, *restrict b1 = b0 + ldb;
			const float *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;
			float x0 = x[(size_t)p * incx], x1 = x[(size_t)(p + 1) * incx];
			float x2 = x[(size_t)(p + 2) * incx], x3 = x[(size_t)(p + 3) * incx];

			for (int j = 0; j < nb; j++) /* acc += x_p B[p] for p..p+3, in order */
				acc[j] = fmaf(x3, b3[j], fmaf(x2, b2[j], fmaf(x1, b1[j],
						fmaf(x0, b0[j], acc[j]))));
		}
		for (; p < k; p++) {
			const float *restrict b0 = b + (size_t)p * ldb;
			float x0 = x[(size_t)p * incx];

			for (int j = 0; j < nb; j++)
				acc[j] = fmaf(x0, b0[j], acc[j]);
		}
		if (beta == 0.0f) /* c = alpha acc, old c never read */
			for (int j = 0; j < nb; j++)
				c[j0 + j] = alpha * acc[j];
		else              /* c = beta c + alpha acc */
			for (int j = 0; j < nb; j++)
				c[j0 + j] = fmaf(beta, c[j0 + j], alpha * acc[j]);
	}
}

/* Where BLIS's sup kernels beat its conventional path (zen3, 1 thread,
 * bench/README.md): plain products (X W) at every size sup takes; B
 * transposed (dH W^T) up to k = 512; A transposed (X^T dH, the weight
 * gradients, k = rows) only for narrow outputs, n <= 64: wider ones run
 * 10-50% slower through sup. Larger products BLIS sends to its conventional
 * path by itself. */
static int sup_pays(int ta, int tb, int n, int k)
{
	if (ta)
		return n <= 64;
	if (tb)
		return k <= 512;
	return 1;
}

/* cpu features were read by libgcc's constructor: a load and a bit test */
static int row_kernel_ok(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void gemm(int ta, int tb, int m, int n, int k, float alpha,
		 const float *A, int lda, const float *B, int ldb,
		 float beta, float *C, int ldc, int nthreads, int sup)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	inc_t rsa, csa, rsb, csb;
	int i, j;

	if (m <= 0 || n <= 0)
		return;
	if (k <= 0 || alpha == 0.0f) {
		/* C = beta C; beta 0 overwrites (no NaN from old C) */
		for (i = 0; i < m; i++) {
			float *c = C + (size_t)i * ldc;
			if (beta == 0.0f)
				for (j = 0; j < n; j++)
					c[j] = 0.0f;
			else if (beta != 1.0f)
				for (j = 0; j < n; j++)
					c[j] *= beta;
		}
		return;
	}
	/* op(A) = A (m x k, rows lda apart) or A^T (A is k x m) */
	rsa = ta ? 1 : lda;
	csa = ta ? lda : 1;
	rsb = tb ? 1 : ldb;
	csb = tb ? ldb : 1;
	/* below ~1 MFLOP a thread team costs more than it saves */
	if (nthreads < 1 || (double)m * n * k < FD_GEMM_MT_MIN)
		nthreads = 1;
	bli_rntm_set_num_threads(nthreads, &rntm);
	/* one row: the sweep, whatever nthreads (no thread team pays off) */
	if (m == 1 && !tb && n % 16 == 0 && row_kernel_ok()) {
		row_nn(n, k, alpha, A, (int)csa, B, ldb, beta, C);
		return;
	}
	/* BLIS 0.9's small/skinny ("sup") sgemm kernels read past the end of
	 * their operands (flame/blis#635): on a caller's buffer that ends at a
	 * page boundary that is a SIGSEGV in the host. The conventional path
	 * packs its operands and reads exactly what it is given
	 * (tests/invnet/test_guard.c). Measured here it is as fast or faster
	 * from m = 16 up; only m = 1 products lose a little. fd_gemm_padded
	 * keeps sup for operands in padded library memory. */
	if (sup && lda <= FD_GEMM_PAD_LD && ldb <= FD_GEMM_PAD_LD && ldc <= FD_GEMM_PAD_LD &&
	    sup_pays(ta, tb, n, k))
		bli_rntm_enable_l3_sup(&rntm);
	else
		bli_rntm_disable_l3_sup(&rntm);
	bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
		     (float *)A, rsa, csa, (float *)B, rsb, csb,
		     &beta, C, ldc, 1, NULL, &rntm);
}

void fd_gemm(int ta, int tb, int m, int n, int k, float alpha,
	     const float *A, int lda, const float *B, int ldb,
	     float beta, float *C, int ldc, int nthreads)
{
	gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, nthreads, 0);
}

void fd_gemm_padded(int ta, int tb, int m, int n, int k, float alpha,
		    const float *A, int lda, const float *B, int ldb,
		    float beta, float *C, int ldc, int nthreads)
{
	gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, nthreads, 1);
}
