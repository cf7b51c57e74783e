/* Element-wise ops and reductions against plain double loops, on lengths
 * around the 8-lane blocking (0, 1, 7, 8, 9, 1000003). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/rng.h"
#include "kernels/vec.h"

static const size_t lens[] = { 0, 1, 7, 8, 9, 1000003 };

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
	ck_assert_int_eq(fd_vec_all_finite(x, n), 1);
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
	fd_vec_axpy(z, 0.5f, x, 9);                   /* z += 0.5 x */
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
	fd_vec_colsum_add(cs, X, 3, 4);               /* cs += colsum X */
	ck_assert_float_eq(cs[0], 10.0f + 0 + 4 + 8);
	ck_assert_float_eq(cs[3], 3.0f + 7 + 11);
	fd_vec_add_rows(X, b, 3, 4);                  /* X[i,:] += b */
	ck_assert_float_eq(X[0], 1.0f);
	ck_assert_float_eq(X[11], 15.0f);
}
END_TEST

static Suite *vec_suite(void)
{
	Suite *s = suite_create("vec");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reductions, 0, sizeof lens / sizeof lens[0]);
	tcase_add_test(tc, test_elementwise);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vec_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
