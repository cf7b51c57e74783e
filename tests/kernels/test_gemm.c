/* fd_gemm against a naive triple loop in double: all four transpose
 * combinations, odd sizes, padded leading dimensions, alpha/beta, k = 0,
 * empty outputs, and BLIS thread counts 1 and 2. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rng.h"
#include "../testutil.h"

/* C = alpha op(A) op(B) + beta C in double */
static void naive(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
		  const float *B, int ldb, float beta, const float *C0, double *R, int ldc)
{
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double s = 0.0;
			for (int p = 0; p < k; p++) {
				double a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
				double b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
				s += a * b;
			}
			R[(size_t)i * ldc + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)C0[(size_t)i * ldc + j]);
		}
}

static float *randm(struct fd_rng *r, size_t n)
{
	float *x = malloc(n * sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < n; i++)
		x[i] = 2.0f * fd_rng_uniform(r) - 1.0f;
	return x;
}

/* Max |C - ref| over the m x n block; also checks the padding columns of C
 * (beyond n, up to ldc) were not touched. */
static double run_case(int ta, int tb, int m, int n, int k, float alpha, float beta, int nt)
{
	struct fd_rng r;
	int pad = 3;
	int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
	int arows = ta ? k : m, brows = tb ? n : k;
	float *A, *B, *C, *C0;
	double *R, err = 0.0;

	fd_rng_seed(&r, (uint64_t)(m * 1000003 + n * 1009 + k * 7 + ta * 2 + tb));
	A = randm(&r, (size_t)(arows > 0 ? arows : 1) * lda);
	B = randm(&r, (size_t)(brows > 0 ? brows : 1) * ldb);
	C = randm(&r, (size_t)(m > 0 ? m : 1) * ldc);
	C0 = malloc((size_t)(m > 0 ? m : 1) * ldc * sizeof *C0);
	R = malloc((size_t)(m > 0 ? m : 1) * ldc * sizeof *R);
	ck_assert_ptr_nonnull(C0);
	ck_assert_ptr_nonnull(R);
	for (size_t i = 0; i < (size_t)(m > 0 ? m : 1) * ldc; i++)
		C0[i] = C[i];
	naive(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C0, R, ldc);
	fd_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, nt);
	for (int i = 0; i < m; i++) {
		for (int j = 0; j < n; j++)
			err = fmax(err, fabs(C[(size_t)i * ldc + j] - R[(size_t)i * ldc + j]));
		for (int j = n; j < ldc; j++)
			if (C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j])
				err = INFINITY; /* padding touched */
	}
	free(A);
	free(B);
	free(C);
	free(C0);
	free(R);
	return err;
}

/* Sizes chosen odd and around BLIS micro-kernel edges (6/16, 8/...). */
static const int sizes[][3] = {
	{ 1, 1, 1 }, { 1, 7, 3 }, { 7, 1, 5 }, { 3, 5, 1 }, { 13, 17, 19 }, { 33, 9, 65 }, { 65, 31, 7 }, { 100, 129, 37 }, { 2, 300, 11 }, { 101, 203, 67 }, /* above FD_GEMM_MT_MIN: really threaded */
};

START_TEST(test_gemm_combos)
{
	int ta = _i >> 1, tb = _i & 1;
	double worst = 0.0;

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (int nt = 1; nt <= 2; nt++) {
			int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
			double e1 = run_case(ta, tb, m, n, k, 1.0f, 0.0f, nt);
			double e2 = run_case(ta, tb, m, n, k, -0.75f, 0.5f, nt);
			/* float32 accumulation over k terms of |a b| <= 1: rounding
			 * stays below k * 2^-24 * small factor; 1e-6 * (k + 1) bounds it */
			double tol = 1e-6 * (k + 1) * 4.0;
			ck_assert_msg(e1 <= tol && e2 <= tol,
				      "ta %d tb %d m %d n %d k %d nt %d: err %g %g > %g",
				      ta, tb, m, n, k, nt, e1, e2, tol);
			worst = fmax(worst, fmax(e1, e2));
		}
	fprintf(stderr, "gemm ta=%d tb=%d: max |C - naive| = %.3g\n", ta, tb, worst);
}
END_TEST

START_TEST(test_gemm_k0_beta)
{
	float C[6] = { 1, 2, 3, 4, 5, 6 }, A[1] = { 9 }, B[1] = { 9 };

	/* k == 0: C = beta C */
	fd_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, 1);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(C[i], 0.5f * (float)(i + 1));
	/* beta 0 overwrites even NaN */
	C[2] = NAN;
	fd_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3, 1);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(C[i], 0.0f);
	/* m or n == 0: nothing touched */
	C[0] = 7.0f;
	fd_gemm(0, 0, 0, 3, 2, 1.0f, A, 1, B, 3, 0.0f, C, 3, 1);
	fd_gemm(0, 0, 2, 0, 2, 1.0f, A, 1, B, 3, 0.0f, C, 3, 1);
	ck_assert_float_eq(C[0], 7.0f);
}
END_TEST

START_TEST(test_gemm_beta0_ignores_nan)
{
	/* beta 0 must overwrite C, not propagate NaN from old contents */
	float A[4] = { 1, 2, 3, 4 }, B[4] = { 1, 0, 0, 1 }, C[4] = { NAN, NAN, NAN, NAN };

	fd_gemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2, 1);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq(C[i], A[i]);
}
END_TEST

START_TEST(test_gemm_threads_agree)
{
	/* 1 and 2 threads on a larger product agree to rounding */
	struct fd_rng r;
	int m = 96, n = 160, k = 128;
	float *A, *B, *C1, *C2;
	double e = 0.0;

	fd_rng_seed(&r, 5);
	A = randm(&r, (size_t)m * k);
	B = randm(&r, (size_t)k * n);
	C1 = calloc((size_t)m * n, sizeof *C1);
	C2 = calloc((size_t)m * n, sizeof *C2);
	fd_gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 0.0f, C1, n, 1);
	fd_gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 0.0f, C2, n, 2);
	for (size_t i = 0; i < (size_t)m * n; i++)
		e = fmax(e, fabs(C1[i] - C2[i]));
	ck_assert_msg(e <= 1e-4, "1 vs 2 threads differ by %g", e);
	free(A);
	free(B);
	free(C1);
	free(C2);
}
END_TEST

/* FDEN_BLIS_ARCH names a family this CPU can run: BLIS runs that one (the
 * suites run once per family, tests/kernels/meson.build); one it cannot run, or
 * a name it does not know, leaves BLIS's own choice, never a crash. */
START_TEST(test_gemm_arch_selected)
{
	const char *want = getenv("FDEN_BLIS_ARCH"), *got = fd_gemm_arch_name();
	int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");

	ck_assert_ptr_nonnull(got);
	if (!want || getenv("BLIS_ARCH_TYPE"))
		return;
	if ((!strcmp(want, "skx") && avx512) ||
	    ((!strcmp(want, "haswell") || !strcmp(want, "zen3")) && avx2))
		ck_assert_str_eq(got, want);
}
END_TEST

static Suite *gemm_suite(void)
{
	Suite *s = suite_create("gemm");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_gemm_combos, 0, 4);
	tcase_add_test(tc, test_gemm_k0_beta);
	tcase_add_test(tc, test_gemm_beta0_ignores_nan);
	tcase_add_test(tc, test_gemm_threads_agree);
	tcase_add_test(tc, test_gemm_arch_selected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(gemm_suite(), 0);
}
