/* Suite model-standardize: fden_model_fit_standardization sets what
 * fden_model_set_standardization sets with the column means and sample
 * standard deviations computed here (a model given one and a model given
 * the other disentangle the same rows to the same bits); a failed fit
 * leaves the standardisation alone; fden_model_fit_standardization_except
 * sets what a copy of the rows it keeps would. */
#include "../testutil.h"

#define DIM 6
#define ROWS 50

/* Column mean and sample std (n - 1), floored at 1e-6, in double. */
static void reference(const float *z, size_t n, float *mean, float *sd)
{
	for (int j = 0; j < DIM; j++) {
		double m = 0, v = 0;
		for (size_t i = 0; i < n; i++)
			m += z[i * DIM + j];
		m /= (double)n;
		for (size_t i = 0; i < n; i++)
			v += (z[i * DIM + j] - m) * (z[i * DIM + j] - m);
		v = n > 1 ? v / (double)(n - 1) : 1.0;
		mean[j] = (float)m;
		sd[j] = (float)(sqrt(v) > 1e-6 ? sqrt(v) : 1e-6);
	}
}

static struct fden_model *model(void)
{
	struct fden_config *c = tu_small_config(DIM, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL;
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	return m;
}

static void factors(struct fden_model *m, const float *z, float *out)
{
	size_t di = fden_model_ide_dim(m), ds = fden_model_sty_dim(m);
	ck_assert_int_eq(fden_disentangle(m, z, ROWS, out, out + ROWS * di), FDEN_OK);
	(void)ds;
}

START_TEST(fit_equals_reference)
{
	float z[ROWS * DIM], mean[DIM], sd[DIM];
	for (int i = 0; i < ROWS * DIM; i++)
		z[i] = (float)(3.0 * tu_normal() + 10.0 * (i % DIM)); /* far from standard */
	for (int i = 0; i < ROWS; i++)
		z[i * DIM + 4] = 2.5f; /* a constant column: std floored */
	reference(z, ROWS, mean, sd);
	struct fden_model *a = model(), *b = model(), *plain = model();
	size_t w = ROWS * (fden_model_ide_dim(a) + fden_model_sty_dim(a));
	float *fa = malloc(w * sizeof *fa), *fb = malloc(w * sizeof *fb),
	      *fp = malloc(w * sizeof *fp);
	ck_assert_int_eq(fden_model_fit_standardization(a, z, ROWS), FDEN_OK);
	ck_assert_int_eq(fden_model_set_standardization(b, mean, sd), FDEN_OK);
	factors(a, z, fa);
	factors(b, z, fb);
	factors(plain, z, fp);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	ck_assert(memcmp(fa, fp, w * sizeof *fa) != 0); /* standardisation changed something */
	/* one row: std 1 */
	float ones[DIM];
	for (int j = 0; j < DIM; j++)
		ones[j] = 1;
	ck_assert_int_eq(fden_model_fit_standardization(a, z, 1), FDEN_OK);
	ck_assert_int_eq(fden_model_set_standardization(b, z, ones), FDEN_OK);
	factors(a, z, fa);
	factors(b, z, fb);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	/* failures leave it alone */
	ck_assert_int_eq(fden_model_fit_standardization(a, z, ROWS), FDEN_OK);
	factors(a, z, fa);
	ck_assert_int_eq(fden_model_fit_standardization(a, NULL, ROWS), FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_fit_standardization(a, z, 0), FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_fit_standardization(NULL, z, ROWS), FDEN_E_INVALID);
	float bad[ROWS * DIM];
	memcpy(bad, z, sizeof bad);
	bad[7 * DIM + 2] = NAN;
	ck_assert_int_eq(fden_model_fit_standardization(a, bad, ROWS), FDEN_E_NONFINITE);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(a), "column 2"));
	bad[7 * DIM + 2] = INFINITY;
	ck_assert_int_eq(fden_model_fit_standardization(a, bad, ROWS), FDEN_E_NONFINITE);
	factors(a, z, fb);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	free(fa);
	free(fb);
	free(fp);
	fden_model_free(a);
	fden_model_free(b);
	fden_model_free(plain);
}
END_TEST

/* _except: the rows not excluded give what a copy of them gives to
 * fden_model_fit_standardization (bits of the factors), whatever the
 * excluded rows hold; nothing excluded gives what z gives. */
START_TEST(fit_except_equals_fit_of_copy)
{
	float z[ROWS * DIM], kept[ROWS * DIM] = { 0 };
	int32_t lab[ROWS];
	const int32_t excl[] = { 4, 1, 4, 99 }; /* unsorted, a duplicate, an absent label */
	size_t m = 0;
	for (int i = 0; i < ROWS * DIM; i++)
		z[i] = (float)(3.0 * tu_normal() + 10.0 * (i % DIM));
	for (int i = 0; i < ROWS; i++) {
		lab[i] = (i * 7) % 5; /* row 0 (label 0) kept; row 2 (label 4) excluded */
		if (lab[i] == 1 || lab[i] == 4) {
			for (int j = 0; j < DIM; j++) /* excluded rows far off, one not finite */
				z[i * DIM + j] = i == 2 && j == 3 ? NAN : 1e6f;
			continue;
		}
		memcpy(kept + m++ * DIM, z + i * DIM, DIM * sizeof *z);
	}
	lab[0] = 4; /* the first row excluded too: the shift is the first row kept */
	for (int j = 0; j < DIM; j++)
		z[j] = -1e6f;
	memmove(kept, kept + DIM, --m * DIM * sizeof *kept);
	struct fden_model *a = model(), *b = model();
	size_t w = ROWS * (fden_model_ide_dim(a) + fden_model_sty_dim(a));
	float *fa = malloc(w * sizeof *fa), *fb = malloc(w * sizeof *fb);
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, lab, ROWS, excl, 4), FDEN_OK);
	ck_assert_int_eq(fden_model_fit_standardization(b, kept, m), FDEN_OK);
	factors(a, kept, fa); /* ROWS rows of kept: m used, the rest zeros */
	factors(b, kept, fb);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	/* nothing excluded (labels NULL allowed): fden_model_fit_standardization */
	ck_assert_int_eq(fden_model_fit_standardization_except(a, kept, NULL, m, NULL, 0), FDEN_OK);
	factors(a, kept, fa);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	ck_assert_int_eq(fden_model_fit_standardization_except(a, kept, lab, m, excl, 0), FDEN_OK);
	factors(a, kept, fa);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	/* failures leave it alone and say why */
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, NULL, ROWS, excl, 4),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(a), "labels is NULL"));
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, lab, ROWS, NULL, 4),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(a), "exclude is NULL"));
	const int32_t every[] = { 0, 1, 2, 3, 4 };
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, lab, ROWS, every, 5),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(a), "every one of the 50 rows"));
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, lab, 0, excl, 4),
			 FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_fit_standardization_except(a, NULL, lab, ROWS, excl, 4),
			 FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_fit_standardization_except(NULL, z, lab, ROWS, excl, 4),
			 FDEN_E_INVALID);
	const int32_t one[] = { 1 }; /* row 2's NaN is kept now */
	ck_assert_int_eq(fden_model_fit_standardization_except(a, z, lab, ROWS, one, 1),
			 FDEN_E_NONFINITE);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(a), "column 3"));
	factors(a, kept, fa);
	ck_assert_mem_eq(fa, fb, w * sizeof *fa);
	free(fa);
	free(fb);
	fden_model_free(a);
	fden_model_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model-standardize");
	TCase *tc = tcase_create("standardize");
	tcase_add_test(tc, fit_equals_reference);
	tcase_add_test(tc, fit_except_equals_fit_of_copy);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
