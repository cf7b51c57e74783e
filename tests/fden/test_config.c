/* The configuration handle: defaults, presets, bounds, names, errors. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "../testutil.h"

START_TEST(defaults_and_presets)
{
	struct fden_config *c = NULL;
	double v;

	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_DIM, &v), FDEN_OK);
	ck_assert_double_eq(v, 256);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_DROPOUT, &v), FDEN_OK);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_ALIGN_HEAD, &v), FDEN_OK);
	ck_assert_double_eq(v, FDEN_ALIGN_PROTOTYPICAL);
	/* a cosine schedule (horizon 0: whoever trains sets it) and a weight average */
	ck_assert_int_eq(fden_config_get(c, FDEN_P_LR_DECAY, &v), FDEN_OK);
	ck_assert_double_eq(v, FDEN_LR_COSINE);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_LR_DECAY_STEPS, &v), FDEN_OK);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_LR_DECAY_FACTOR, &v), FDEN_OK);
	ck_assert_double_eq_tol(v, 0.1, 1e-15);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_EMA, &v), FDEN_OK);
	ck_assert_double_eq_tol(v, 0.999, 1e-15);
	ck_assert_int_eq(fden_config_preset(c, FDEN_PRESET_PAPER), FDEN_OK);
	/* the paper: a constant rate, no average */
	ck_assert_int_eq(fden_config_get(c, FDEN_P_LR_DECAY, &v), FDEN_OK);
	ck_assert_double_eq(v, FDEN_LR_CONSTANT);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_EMA, &v), FDEN_OK);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_DROPOUT, &v), FDEN_OK);
	ck_assert_double_eq_tol(v, 0.2, 1e-12);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_INIT, &v), FDEN_OK);
	ck_assert_double_eq(v, FDEN_INIT_TRUNC_NORMAL);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_INIT_SIGMA, &v), FDEN_OK);
	ck_assert_double_eq_tol(v, 0.001, 1e-15);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_STAT_WIDTH1, &v), FDEN_OK);
	ck_assert_double_eq(v, 1024);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_GAMMA, &v), FDEN_OK);
	ck_assert_double_eq(v, 0.5);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_ADAM_BETA1, &v), FDEN_OK);
	ck_assert_double_eq(v, 0.5);
	ck_assert_int_eq(fden_config_preset(c, 7), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "preset"));
	fden_config_free(c);
	fden_config_free(NULL);
}
END_TEST

START_TEST(bounds_and_errors)
{
	struct fden_config *c = NULL;
	double lo, hi, v;

	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DROPOUT, 1.5), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "dropout"));
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, 10.5), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "integer"));
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, 0), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, NAN), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(c, 0, 1), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "unknown key"));
	ck_assert_int_eq(fden_config_set(c, 9999, 1), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_get(c, 9999, &v), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_bounds(9999, &lo, &hi), FDEN_E_INVALID);
	ck_assert_ptr_null(fden_config_key_name(9999));
	ck_assert_ptr_null(fden_config_key_name(0));
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, 32), FDEN_OK);
	ck_assert_int_eq(fden_config_get(c, FDEN_P_DIM, &v), FDEN_OK);
	ck_assert_double_eq(v, 32);
	/* every key: a name, a sane range, its current value inside it, lo and hi accepted */
	for (int k = FDEN_P_DIM; k <= fden_config_key_count(); k++) {
		const char *name = fden_config_key_name(k);
		ck_assert_ptr_nonnull(name);
		for (int j = FDEN_P_DIM; j < k; j++)
			ck_assert_str_ne(name, fden_config_key_name(j));
		ck_assert_int_eq(fden_config_bounds(k, &lo, &hi), FDEN_OK);
		ck_assert(lo <= hi);
		ck_assert_int_eq(fden_config_get(c, k, &v), FDEN_OK);
		ck_assert_msg(v >= lo && v <= hi, "key %s default %g outside [%g, %g]", name, v, lo, hi);
		ck_assert_int_eq(fden_config_set(c, k, lo), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, k, hi), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, k, hi + fmax(1, fabs(hi))), FDEN_E_INVALID);
	}
	ck_assert_int_eq(fden_config_set_allocator(c, NULL), FDEN_OK);
	struct fden_allocator bad = { 0 };
	ck_assert_int_eq(fden_config_set_allocator(c, &bad), FDEN_E_INVALID);
	fden_config_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, defaults_and_presets);
	tcase_add_test(tc, bounds_and_errors);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
