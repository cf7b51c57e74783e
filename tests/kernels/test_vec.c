/* Element-wise ops and reductions against plain double loops, on lengths
 * around the 8-lane and 1024-float blockings (0, 1, 7, 8, 9, 1023, 1024,
 * 1025, 1000003). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/rng.h"
#include "kernels/vec.h"
#include "../testutil.h"

static const size_t lens[] = { 0, 1, 7, 8, 9, 1023, 1024, 1025, 1000003 };

START_TEST(test_reductions)
{
	size_t n = lens[_i];
	float *x = malloc((n + 1) * 4), *y = malloc((n + 1) * 4);
	struct fd_rng r;
	double d = 0, q = 0, s = 0;

	fd_rng_seed(&r, n);
	fd_rng_fill_normal(&r, x, n, 1.0f);
	fd_rng_fill_normal(&r, y, n, 1.0f);
	for (size_t i = 0; i < n; i++) {
		d += (double)x[i] * y[i];
		q += (double)x[i] * x[i];
		s += x[i];
	}
	ck_assert_double_le(fabs(fd_vec_dot(x, y, n) - d), 1e-9 * (1 + q));
	ck_assert_double_le(fabs(fd_vec_sumsq(x, n) - q), 1e-9 * (1 + q));
	ck_assert_double_le(fabs(fd_vec_sum(x, n) - s), 1e-9 * (1 + q));
	/* float block sums: about 1e-6 relative (measured 1e-7 at n = 1e6) */
	ck_assert_double_le(fabs(fd_vec_sumsq_fast(x, n) - q), 1e-5 * (1 + q));
	{ /* two at once */
		double qy = 0, sy, sx = fd_vec_sumsq2_fast(x, y, n, &sy);
		for (size_t i = 0; i < n; i++)
			qy += (double)y[i] * y[i];
		ck_assert_double_le(fabs(sx - q), 1e-5 * (1 + q));
		ck_assert_double_le(fabs(sy - qy), 1e-5 * (1 + qy));
	}
	ck_assert_int_eq(fd_vec_all_finite(x, n), 1);
	if (n) {
		/* not finite iff an element is not: 1e20 squares past FLT_MAX in
		 * a float block sum, the double sum takes it (whatever block) */
		float keep = x[n / 2];
		x[n / 2] = 1e20f;
		ck_assert(isfinite(fd_vec_sumsq_fast(x, n)));
		ck_assert_double_ge(fd_vec_sumsq_fast(x, n), 0.99e40);
		ck_assert(isfinite(fd_vec_sumsq2_fast(y, x, n, &q)) && isfinite(q));
		x[n / 2] = INFINITY;
		ck_assert(!isfinite(fd_vec_sumsq_fast(x, n)));
		fd_vec_sumsq2_fast(y, x, n, &q);
		ck_assert(!isfinite(q));
		x[n / 2] = NAN;
		ck_assert(isnan(fd_vec_sumsq_fast(x, n)));
		x[n / 2] = keep;
	}
	if (n) {
		x[n - 1] = INFINITY;
		ck_assert_int_eq(fd_vec_all_finite(x, n), 0);
		x[n - 1] = NAN;
		ck_assert_int_eq(fd_vec_all_finite(x, n), 0);
		x[n - 1] = -3e38f;
		ck_assert_int_eq(fd_vec_all_finite(x, n), 1);
		x[0] = -INFINITY;
		ck_assert_int_eq(fd_vec_all_finite(x, n), 0);
	}
	free(x);
	free(y);
}
END_TEST

START_TEST(test_elementwise)
{
	float x[9], y[9], z[9], X[3 * 4], b[4] = { 1, 2, 3, 4 }, cs[4] = { 10, 0, 0, 0 };

	for (int i = 0; i < 9; i++) {
		x[i] = (float)i;
		y[i] = 2.0f - (float)i;
	}
	fd_vec_mul(z, x, y, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_float_eq(z[i], x[i] * y[i]);
	fd_vec_axpy(z, 0.5f, x, 9); /* z += 0.5 x */
	for (int i = 0; i < 9; i++)
		ck_assert_float_eq(z[i], x[i] * y[i] + 0.5f * x[i]);
	fd_vec_copy(z, x, 9);
	fd_vec_scale(z, 9, -2.0f);
	for (int i = 0; i < 9; i++)
		ck_assert_float_eq(z[i], -2.0f * x[i]);
	fd_vec_zero(z, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_float_eq(z[i], 0.0f);
	for (int i = 0; i < 12; i++)
		X[i] = (float)i;
	fd_vec_colsum_add(cs, X, 3, 4); /* cs += colsum X */
	ck_assert_float_eq(cs[0], 10.0f + 0 + 4 + 8);
	ck_assert_float_eq(cs[3], 3.0f + 7 + 11);
	fd_vec_add_rows(X, b, 3, 4); /* X[i,:] += b */
	ck_assert_float_eq(X[0], 1.0f);
	ck_assert_float_eq(X[11], 15.0f);
}
END_TEST

/* [A, B] <-> F row by row, widths 2 and 3, and split with one side unwanted */
START_TEST(test_cols)
{
	float A[4 * 2], B[4 * 3], F[4 * 5], A2[4 * 2], B2[4 * 3];

	for (int i = 0; i < 8; i++)
		A[i] = (float)i;
	for (int i = 0; i < 12; i++)
		B[i] = 100.0f + (float)i;
	fd_cols_join(F, A, B, 4, 2, 3);
	for (int r = 0; r < 4; r++)
		for (int j = 0; j < 5; j++)
			ck_assert_float_eq(F[r * 5 + j], j < 2 ? A[r * 2 + j] : B[r * 3 + j - 2]);
	fd_cols_split(A2, B2, F, 4, 2, 3);
	ck_assert_mem_eq(A2, A, sizeof A);
	ck_assert_mem_eq(B2, B, sizeof B);
	fd_vec_zero(B2, 12);
	fd_cols_split(NULL, B2, F, 4, 2, 3);
	ck_assert_mem_eq(B2, B, sizeof B);
}
END_TEST

static Suite *vec_suite(void)
{
	Suite *s = suite_create("vec");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reductions, 0, sizeof lens / sizeof lens[0]);
	tcase_add_test(tc, test_elementwise);
	tcase_add_test(tc, test_cols);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(vec_suite(), 0);
}
