/* The handle-owned generator: reproducibility, a known answer computed by
 * an independent implementation of splitmix64 + xoshiro256**, and
 * distribution moments within 5 standard errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/rng.h"
#include "../testutil.h"

#define N 200000

START_TEST(test_same_seed_same_bits)
{
	struct fd_rng a, b;

	fd_rng_seed(&a, 123);
	fd_rng_seed(&b, 123);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(fd_rng_u64(&a), fd_rng_u64(&b));
	for (int i = 0; i < 100; i++) {
		ck_assert_float_eq(fd_rng_normal(&a), fd_rng_normal(&b));
		ck_assert_float_eq(fd_rng_uniform(&a), fd_rng_uniform(&b));
	}
}
END_TEST

START_TEST(test_different_seeds_differ)
{
	struct fd_rng a, b;
	int same = 0;

	fd_rng_seed(&a, 0);
	fd_rng_seed(&b, 1);
	for (int i = 0; i < 64; i++)
		same += fd_rng_u64(&a) == fd_rng_u64(&b);
	ck_assert_int_eq(same, 0);
}
END_TEST

START_TEST(test_known_answer)
{
	/* seed 42: splitmix64 state fill, then xoshiro256** (values from a
	 * separate Python transcription of the reference algorithms) */
	struct fd_rng r;

	fd_rng_seed(&r, 42);
	ck_assert_uint_eq(fd_rng_u64(&r), 0x15780b2e0c2ec716ULL);
	ck_assert_uint_eq(fd_rng_u64(&r), 0x6104d9866d113a7eULL);
	ck_assert_uint_eq(fd_rng_u64(&r), 0xae17533239e499a1ULL);
}
END_TEST

struct moments {
	double mean, var, m4;
	double min, max;
};

static struct moments moments_of(const float *x, int n)
{
	struct moments m = { 0, 0, 0, INFINITY, -INFINITY };

	for (int i = 0; i < n; i++) {
		m.mean += x[i];
		m.min = fmin(m.min, x[i]);
		m.max = fmax(m.max, x[i]);
	}
	m.mean /= n;
	for (int i = 0; i < n; i++) {
		double d = x[i] - m.mean;
		m.var += d * d;
		m.m4 += d * d * d * d;
	}
	m.var /= n;
	m.m4 /= n;
	return m;
}

START_TEST(test_uniform_moments)
{
	struct fd_rng r;
	float *x = malloc(N * sizeof *x);
	struct moments m;

	fd_rng_seed(&r, 7);
	for (int i = 0; i < N; i++)
		x[i] = fd_rng_uniform(&r);
	m = moments_of(x, N);
	fprintf(stderr, "uniform: mean %.5f var %.5f min %g max %g\n", m.mean, m.var, m.min, m.max);
	/* se(mean) = sqrt(1/12 / N) = 6.5e-4; se(var) = 1.7e-4 */
	ck_assert_double_le(fabs(m.mean - 0.5), 5 * 6.5e-4);
	ck_assert_double_le(fabs(m.var - 1.0 / 12), 5 * 1.7e-4);
	ck_assert_double_ge(m.min, 0.0);
	ck_assert_double_lt(m.max, 1.0);
	free(x);
}
END_TEST

START_TEST(test_normal_moments)
{
	struct fd_rng r;
	float *x = malloc(N * sizeof *x);
	struct moments m;

	fd_rng_seed(&r, 8);
	for (int i = 0; i < N; i++)
		x[i] = fd_rng_normal(&r);
	m = moments_of(x, N);
	fprintf(stderr, "normal: mean %.5f var %.5f kurtosis %.4f\n", m.mean, m.var,
		m.m4 / (m.var * m.var));
	/* se(mean) = 1/sqrt(N) = 2.2e-3; se(var) = sqrt(2/N) = 3.2e-3;
	 * se(m4) = sqrt(96/N) = 0.022 */
	ck_assert_double_le(fabs(m.mean), 5 * 2.2e-3);
	ck_assert_double_le(fabs(m.var - 1.0), 5 * 3.2e-3);
	ck_assert_double_le(fabs(m.m4 - 3.0), 5 * 0.022);
	free(x);
}
END_TEST

START_TEST(test_fill_normal_moments)
{
	struct fd_rng r;
	int n = N + 1; /* odd: the unpaired tail is drawn too */
	float *x = malloc((size_t)n * sizeof *x);
	struct moments m;

	fd_rng_seed(&r, 9);
	x[n - 1] = NAN;
	fd_rng_fill_normal(&r, x, (size_t)n, 0.5f);
	ck_assert(isfinite(x[n - 1]));
	m = moments_of(x, n);
	fprintf(stderr, "fill_normal(0.5): mean %.5f var %.5f\n", m.mean, m.var);
	ck_assert_double_le(fabs(m.mean), 5 * 0.5 * 2.2e-3);
	ck_assert_double_le(fabs(m.var - 0.25), 5 * 0.25 * 3.2e-3);
	free(x);
}
END_TEST

START_TEST(test_trunc_normal_moments)
{
	struct fd_rng r;
	float *x = malloc(N * sizeof *x);
	struct moments m;
	float sigma = 0.02f;

	fd_rng_seed(&r, 10);
	for (int i = 0; i < N; i++)
		x[i] = fd_rng_trunc_normal(&r, sigma);
	m = moments_of(x, N);
	fprintf(stderr, "trunc_normal(0.02): mean %.3g var/sigma^2 %.5f range [%g, %g]\n",
		m.mean, m.var / (sigma * sigma), m.min, m.max);
	/* Var of N(0,1) truncated to [-2, 2] = 1 - 4 phi(2) / (2 Phi(2) - 1)
	 * = 0.773741; se(var) < sqrt(1.5 / N) = 2.7e-3 (in sigma^2 units) */
	ck_assert_double_le(fabs(m.var / (sigma * sigma) - 0.773741), 5 * 2.7e-3);
	ck_assert_double_le(fabs(m.mean / sigma), 5 * 2.0e-3);
	ck_assert_double_le(m.max, 2.0 * sigma);
	ck_assert_double_ge(m.min, -2.0 * sigma);
	/* and the tails are really populated up to the cut */
	ck_assert_double_gt(m.max, 1.9 * sigma);
	free(x);
}
END_TEST

START_TEST(test_below_uniform)
{
	struct fd_rng r;
	int cnt[7] = { 0 };
	int n = 70000;
	double chi2 = 0.0;

	fd_rng_seed(&r, 11);
	for (int i = 0; i < n; i++) {
		uint32_t v = fd_rng_below(&r, 7);
		ck_assert_uint_lt(v, 7);
		cnt[v]++;
	}
	for (int k = 0; k < 7; k++)
		chi2 += (cnt[k] - n / 7.0) * (cnt[k] - n / 7.0) / (n / 7.0);
	/* chi-square, 6 degrees of freedom: P(> 27.9) = 1e-4 */
	fprintf(stderr, "below(7): chi2 %.2f\n", chi2);
	ck_assert_double_lt(chi2, 27.9);
	for (int i = 0; i < 100; i++) {
		ck_assert_uint_eq(fd_rng_below(&r, 1), 0);
		ck_assert_uint_lt(fd_rng_below(&r, 3000000000u), 3000000000u);
	}
}
END_TEST

START_TEST(test_perm_is_permutation)
{
	struct fd_rng r;
	int n = 1000;
	int32_t *p = malloc((size_t)n * sizeof *p);
	char *seen = calloc((size_t)n, 1);
	int fixed = 0;

	fd_rng_seed(&r, 12);
	fd_rng_perm(&r, p, n);
	for (int i = 0; i < n; i++) {
		ck_assert_int_ge(p[i], 0);
		ck_assert_int_lt(p[i], n);
		ck_assert_int_eq(seen[p[i]], 0);
		seen[p[i]] = 1;
		fixed += p[i] == i;
	}
	/* expected 1 fixed point (Poisson(1)); 10 or more has p < 1e-7 */
	ck_assert_int_lt(fixed, 10);
	fd_rng_perm(&r, p, 1);
	ck_assert_int_eq(p[0], 0);
	fd_rng_perm(&r, p, 0); /* no-op */
	free(p);
	free(seen);
}
END_TEST

START_TEST(test_perm_uniform)
{
	/* all 6 permutations of 3 elements equally likely */
	struct fd_rng r;
	int cnt[6] = { 0 }, n = 60000;
	double chi2 = 0.0;

	fd_rng_seed(&r, 13);
	for (int i = 0; i < n; i++) {
		int32_t p[3];
		fd_rng_perm(&r, p, 3);
		cnt[p[0] * 2 + (p[1] > p[2])]++;
	}
	for (int k = 0; k < 6; k++)
		chi2 += (cnt[k] - n / 6.0) * (cnt[k] - n / 6.0) / (n / 6.0);
	/* 5 degrees of freedom: P(> 25.7) = 1e-4 */
	fprintf(stderr, "perm(3): chi2 %.2f\n", chi2);
	ck_assert_double_lt(chi2, 25.7);
}
END_TEST

static Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_same_seed_same_bits);
	tcase_add_test(tc, test_different_seeds_differ);
	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_uniform_moments);
	tcase_add_test(tc, test_normal_moments);
	tcase_add_test(tc, test_fill_normal_moments);
	tcase_add_test(tc, test_trunc_normal_moments);
	tcase_add_test(tc, test_below_uniform);
	tcase_add_test(tc, test_perm_is_permutation);
	tcase_add_test(tc, test_perm_uniform);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(rng_suite(), 0);
}
