/* Suite model-standardize: fden_model_fit_standardization sets what
 * fden_model_set_standardization sets with the column means and sample
 * standard deviations computed here (a model given one and a model given
 * the other disentangle the same rows to the same bits); a failed fit
 * leaves the standardisation alone. */
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

int main(void)
{
	Suite *s = suite_create("model-standardize");
	TCase *tc = tcase_create("standardize");
	tcase_add_test(tc, fit_equals_reference);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
