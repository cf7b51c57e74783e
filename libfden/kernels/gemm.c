/* C = alpha op(A) op(B) + beta C through bli_sgemm_ex. Row-major operands
 * are described to BLIS by strides (rs = ld, cs = 1); a transposed operand
 * just swaps its strides, so nothing is copied. The thread count is set in a
 * local rntm_t per call: BLIS reads BLIS_NUM_THREADS only once, and a local
 * runtime object keeps concurrent callers independent. */
#include <blis.h>

#include "kernels/gemm.h"

void fd_gemm(int ta, int tb, int m, int n, int k, float alpha,
	     const float *A, int lda, const float *B, int ldb,
	     float beta, float *C, int ldc, int nthreads)
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
	/* BLIS 0.9's small/skinny ("sup") sgemm kernels read past the end of
	 * their operands (flame/blis#635): on a caller's buffer that ends at a
	 * page boundary that is a SIGSEGV in the host. The conventional path
	 * packs its operands and reads exactly what it is given
	 * (tests/invnet/test_guard.c). Measured here it is as fast or faster
	 * from m = 16 up; only m = 1 products lose a little. */
	bli_rntm_disable_l3_sup(&rntm);
	bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
		     (float *)A, rsa, csa, (float *)B, rsb, csb,
		     &beta, C, ldc, 1, NULL, &rntm);
}
