/* C = alpha op(A) op(B) + beta C through bli_sgemm_ex. Row-major operands
 * are described to BLIS by strides (rs = ld, cs = 1); a transposed operand
 * just swaps its strides, so nothing is copied. The thread count is set in a
 * local rntm_t per call: BLIS reads BLIS_NUM_THREADS only once, and a local
 * runtime object keeps concurrent callers independent. */
#include <blis.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/gemm.h"

/* BLIS kernel family (issue 16). BLIS 0.9 picks one family per process at
 * its first initialisation, from cpuid, or from BLIS_ARCH_TYPE (a number,
 * read then, never again). On CPUs it does not know it falls back to an
 * older family: Intel AVX-512 parts newer than its table run the AVX2
 * "haswell" kernels at about half the skx kernels' rate (issue 16: 56-74
 * against 127 GFLOP/s). Before BLIS's first use, fd_gemm_arch_init sets
 * BLIS_ARCH_TYPE for it (and removes it again, so child processes see the
 * environment as it was):
 *   FDEN_BLIS_ARCH unset or "auto": skx on an Intel CPU with AVX-512
 *     (measured faster there); anything else keeps BLIS's own choice
 *     (on AMD Zen 4 BLIS picks zen3, and the skx kernels measured no faster:
 *     bench/README.md);
 *   "blis": BLIS's own choice, always;
 *   "skx", "haswell", "zen3", "zen2", "zen": that family, if this BLIS has
 *     it compiled in and the CPU has the instructions it needs (AVX-512
 *     F/DQ/BW/VL for skx, AVX2 and FMA for the others, with the OS saving
 *     their registers); otherwise BLIS's own choice.
 * A BLIS_ARCH_TYPE set by the user always wins (BLIS reads it itself).
 * Nothing changes once BLIS has been initialised (by the host, or an
 * earlier call): fd_gemm_arch_name() says which family runs. setenv is not
 * safe against other threads reading the environment at the same moment:
 * it runs once, at libfden's first product or model, and only when the
 * family changes. */
struct arch_fam {
	const char *name;
	int id;     /* arch_t */
	int avx512; /* needs AVX-512 F/DQ/BW/VL (else AVX2 + FMA) */
};

static const struct arch_fam arch_fams[] = {
#ifdef BLIS_CONFIG_SKX
	{ "skx", BLIS_ARCH_SKX, 1 },
#endif
#ifdef BLIS_CONFIG_HASWELL
	{ "haswell", BLIS_ARCH_HASWELL, 0 },
#endif
#ifdef BLIS_CONFIG_ZEN3
	{ "zen3", BLIS_ARCH_ZEN3, 0 },
#endif
#ifdef BLIS_CONFIG_ZEN2
	{ "zen2", BLIS_ARCH_ZEN2, 0 },
#endif
#ifdef BLIS_CONFIG_ZEN
	{ "zen", BLIS_ARCH_ZEN, 0 },
#endif
	{ NULL, 0, 0 }
};

/* libgcc's cpu model: avx512* are set only when the OS saves the zmm state */
static int cpu_has(const struct arch_fam *f)
{
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return 0;
	return !f->avx512 || (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
			      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"));
}

static const struct arch_fam *arch_find(const char *name)
{
	for (const struct arch_fam *f = arch_fams; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* The family FDEN_BLIS_ARCH (or its absence) asks for; NULL: BLIS's own. */
static const struct arch_fam *arch_wanted(void)
{
	const char *v = getenv("FDEN_BLIS_ARCH");
	const struct arch_fam *f;

	if (v && !strcmp(v, "blis"))
		return NULL;
	if (v && *v && strcmp(v, "auto")) {
		f = arch_find(v);
		return f && cpu_has(f) ? f : NULL;
	}
	f = arch_find("skx");
	if (f && __builtin_cpu_is("intel") && cpu_has(f))
		return f;
	return NULL;
}

static void arch_init(void)
{
	const struct arch_fam *f;
	char id[16];

	__builtin_cpu_init();
	f = getenv("BLIS_ARCH_TYPE") ? NULL : arch_wanted();
	if (!f) {
		bli_init();
		return;
	}
	snprintf(id, sizeof id, "%d", f->id);
	/* BLIS 0.9 reads it in bli_init (if it has not run yet) and checks it
	 * against its registered families, which f is one of */
	if (setenv("BLIS_ARCH_TYPE", id, 0) == 0) {
		bli_init();
		unsetenv("BLIS_ARCH_TYPE");
	} else {
		bli_init();
	}
}

static pthread_once_t arch_once = PTHREAD_ONCE_INIT;

void fd_gemm_arch_init(void)
{
	pthread_once(&arch_once, arch_init);
}

const char *fd_gemm_arch_name(void)
{
	fd_gemm_arch_init();
	return bli_arch_string(bli_arch_query_id());
}

/* One row (batch-1 inference) of C = alpha a B + beta c, B k x n row-major.
 * BLIS packs all of B for a one-row product and then runs its 6x16 kernel
 * on one live row; a row sweep streams B once at 2-5x the speed, so rows go
 * through here: acc[j] = sum_p a[p] B[p][j] as one fused multiply-add per p
 * in order p = 0, 1, ... from acc = 0, then c = alpha acc (beta 0) or
 * beta c + alpha acc. That is BLIS's own order for a row while k fits one
 * of its k blocks (bit-identical for k <= 64 with n a multiple of 16,
 * tests/kernels/test_fastpath.c); for longer k BLIS's result depends on its
 * blocking, which differs between its paths and batch sizes anyway. Reads
 * exactly k x n of B and k of a (no over-read). AVX2+FMA, chosen at run
 * time; anything else goes to BLIS. */
#define ROW_NB 512

__attribute__((target("avx2,fma"))) static void row_nn(int n, int k, float alpha, const float *x, int incx,
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
				acc[j] = fmaf(x3, b3[j], fmaf(x2, b2[j], fmaf(x1, b1[j], fmaf(x0, b0[j], acc[j]))));
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
		else /* c = beta c + alpha acc */
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
	fd_gemm_arch_init(); /* once: a load and a branch after that */
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
	else if (nthreads > fd_threads_max()) /* the entry points refuse more; never here */
		nthreads = fd_threads_max();
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

#ifndef NDEBUG
static atomic_ulong padded_strays;

/* bytes of a rows x cols operand stored rows ld floats apart */
static size_t span(int rows, int cols, int ld)
{
	return rows < 1 || cols < 1 ? 0 : ((size_t)(rows - 1) * (size_t)ld + (size_t)cols) * sizeof(float);
}
#endif

void fd_gemm_padded(int ta, int tb, int m, int n, int k, float alpha,
		    const float *A, int lda, const float *B, int ldb,
		    float beta, float *C, int ldc, int nthreads)
{
	int sup = 1;

#ifndef NDEBUG
	/* The padding rule: sup reads past the operands, so each must lie in
	 * one fd_malloc block. One that does not is a library bug: count it
	 * (tests assert the count stays 0) and take the exact path. */
	if (m > 0 && n > 0 &&
	    (!fd_alloc_is_library(C, span(m, n, ldc)) ||
	     (k > 0 && (!fd_alloc_is_library(A, span(ta ? k : m, ta ? m : k, lda)) ||
			!fd_alloc_is_library(B, span(tb ? n : k, tb ? k : n, ldb)))))) {
		atomic_fetch_add(&padded_strays, 1);
		sup = 0;
	}
#endif
	gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, nthreads, sup);
}

unsigned long fd_gemm_padded_strays(void)
{
#ifndef NDEBUG
	return atomic_load(&padded_strays);
#else
	return 0;
#endif
}
