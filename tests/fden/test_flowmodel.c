/* The flow disentangler through the public API: factor widths, an exact
 * round trip z -> (f_ide, f_sty) -> z before and after training, training
 * that lowers L_C, a checkpoint that restores it bit for bit, and the
 * same bits from 1 and 2 threads. */
#include "../testutil.h"
#include "kernels/rng.h"
#include <stdarg.h>

enum { DIM = 8,
       IDE = 3 };

/* A small flow model; the remaining arguments are key, value pairs ending
 * with 0. */
static struct fden_model *flow_model_with(int key, ...)
{
	struct fden_config *c = tu_small_config(DIM, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL;
	va_list ap;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, IDE), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 4), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 16), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 3e-3), FDEN_OK);
	va_start(ap, key);
	for (; key; key = va_arg(ap, int))
		ck_assert_int_eq(fden_config_set(c, key, va_arg(ap, double)), FDEN_OK);
	va_end(ap);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	return m;
}

static struct fden_model *flow_model(void)
{
	return flow_model_with(FDEN_P_XCORR, 0.5, FDEN_P_STY_ADV, 0.5, 0);
}

static double roundtrip_err(struct fden_model *m, const float *z, size_t n)
{
	float *fi = malloc(n * IDE * sizeof *fi), *fs = malloc(n * (DIM - IDE) * sizeof *fs);
	float *back = malloc(n * DIM * sizeof *back);
	double worst = 0;

	ck_assert_int_eq(fden_disentangle(m, z, n, fi, fs), FDEN_OK);
	ck_assert_int_eq(fden_entangle(m, fi, fs, n, back), FDEN_OK);
	for (size_t i = 0; i < n * DIM; i++)
		worst = fmax(worst, fabs(back[i] - z[i]) / fmax(1.0, fabs(z[i])));
	free(fi);
	free(fs);
	free(back);
	return worst;
}

START_TEST(flow_widths_and_config)
{
	struct fden_model *m = flow_model();
	struct fden_config *c = tu_small_config(DIM, 0);
	struct fden_model *bad = NULL;

	ck_assert_uint_eq(fden_model_ide_dim(m), IDE);
	ck_assert_uint_eq(fden_model_sty_dim(m), DIM - IDE);
	/* ide_dim must leave f_sty at least one column */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, DIM), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &bad), FDEN_E_INVALID);
	ck_assert_ptr_null(bad);
	ck_assert(strstr(fden_last_error(), "ide_dim") != NULL);
	/* the MLP disentangler keeps Dim-wide factors */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_MLP), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &bad), FDEN_OK);
	ck_assert_uint_eq(fden_model_ide_dim(bad), DIM);
	ck_assert_uint_eq(fden_model_sty_dim(bad), DIM);
	fden_model_free(bad);
	fden_config_free(c);
	fden_model_free(m);
}
END_TEST

/* ide_dim 0 asks for Dim/2; the model keeps the width it resolved, so its
 * saved configuration splits the same way under any later default. */
START_TEST(flow_default_width_is_stored)
{
	static const int dims[][2] = { { 64, 32 }, { 512, 256 }, { 2, 1 }, { 3, 1 }, { 9, 4 } };

	for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
		struct fden_config *c = tu_small_config(dims[k][0], 0), *got = NULL;
		struct fden_model *m = NULL;
		double v = -1;

		ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 2), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 8), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, 0), FDEN_OK);
		ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
		ck_assert_uint_eq(fden_model_ide_dim(m), dims[k][1]);
		ck_assert_uint_eq(fden_model_sty_dim(m), dims[k][0] - dims[k][1]);
		ck_assert_int_eq(fden_model_config(m, &got), FDEN_OK);
		ck_assert_int_eq(fden_config_get(got, FDEN_P_IDE_DIM, &v), FDEN_OK);
		ck_assert_double_eq(v, dims[k][1]);
		/* the caller's configuration still asks for the default */
		ck_assert_int_eq(fden_config_get(c, FDEN_P_IDE_DIM, &v), FDEN_OK);
		ck_assert_double_eq(v, 0);
		fden_config_free(got);
		fden_config_free(c);
		fden_model_free(m);
	}
}
END_TEST

START_TEST(flow_trains_and_stays_exact)
{
	struct fden_model *m = flow_model(), *m2 = NULL;
	struct tu_episodes t;
	struct fden_step_stats st = { .struct_size = sizeof st };
	const char *path = "test-flowmodel.ckpt";
	double first = 0, last = 0, e0, e1;
	float mean[DIM], sd[DIM];
	float *a = malloc(24 * DIM * sizeof *a), *b = malloc(24 * DIM * sizeof *b);
	int i;

	for (i = 0; i < DIM; i++) {
		mean[i] = 0.1f * i;
		sd[i] = 1.0f + 0.2f * i;
	}
	ck_assert_int_eq(fden_model_set_standardization(m, mean, sd), FDEN_OK);
	tu_episodes_make(&t, 4, 3, 2, 2, DIM);
	e0 = roundtrip_err(m, t.z, 48);
	for (i = 0; i < 150; i++) {
		ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
		ck_assert(st.l_r == 0.0);
		if (i < 10)
			first += st.l_c / 10;
		if (i >= 140)
			last += st.l_c / 10;
	}
	e1 = roundtrip_err(m, t.z, 48);
	fprintf(stderr, "flow model: L_C %.3f -> %.3f; round-trip error %.2g -> %.2g; xcorr %.3f, sty-adv %.3f\n",
		first, last, e0, e1, st.l_xcorr, st.l_sty_adv);
	ck_assert(last < 0.8 * first);
	ck_assert(e0 < 1e-5 && e1 < 1e-4);
	/* checkpoint: same outputs bit for bit, same next step */
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &m2), FDEN_OK);
	ck_assert_uint_eq(fden_model_ide_dim(m2), IDE);
	ck_assert_int_eq(fden_disentangle(m, t.z, 24, a, NULL), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(m2, t.z, 24, b, NULL), FDEN_OK);
	ck_assert(memcmp(a, b, 24 * IDE * sizeof *a) == 0);
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
	first = st.loss;
	ck_assert_int_eq(fden_train_step(m2, &t.ep, &st), FDEN_OK);
	ck_assert(first == st.loss);
	remove(path);
	free(a);
	free(b);
	tu_episodes_free(&t);
	fden_model_free(m);
	fden_model_free(m2);
}
END_TEST

/* 1 and 2 threads train to the same bits: BLIS splits a product's rows
 * and columns between threads, never its inner sums, and the sweeps run
 * on one thread. Dim 64, 480 rows a step, so the products are past
 * FD_GEMM_MT_MIN and really run on 2 threads. */
START_TEST(flow_threads_same_bits)
{
	enum { D = 64 };
	struct tu_episodes t;
	struct fden_step_stats st = { .struct_size = sizeof st };
	float *out[2];
	double loss[2];

	tu_episodes_make(&t, 4, 20, 1, 5, D);
	for (int k = 0; k < 2; k++) {
		struct fden_config *c = tu_small_config(D, FDEN_ALIGN_PROTOTYPICAL);
		struct fden_model *m = NULL;

		ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, 32), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 3), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 32), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_NLL, 1.0), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, k + 1), FDEN_OK);
		ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
		fden_config_free(c);
		for (int i = 0; i < 5; i++)
			ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
		loss[k] = st.loss;
		out[k] = malloc(480 * 32 * sizeof(float));
		ck_assert_int_eq(fden_disentangle(m, t.z, 480, out[k], NULL), FDEN_OK);
		fden_model_free(m);
	}
	fprintf(stderr, "flow threads: loss after 5 steps %.9g (1 thread), %.9g (2)\n", loss[0],
		loss[1]);
	ck_assert(loss[0] == loss[1]);
	ck_assert(memcmp(out[0], out[1], 480 * 32 * sizeof(float)) == 0);
	free(out[0]);
	free(out[1]);
	tu_episodes_free(&t);
}
END_TEST

/* Largest |C - I| over the covariance C of [f_ide, f_sty] on n rows;
 * *var: the mean of C's diagonal. */
static double cov_dev(struct fden_model *m, const float *z, size_t n, double *var)
{
	float *fi = malloc(n * IDE * sizeof *fi), *fs = malloc(n * (DIM - IDE) * sizeof *fs);
	double F[DIM], mean[DIM] = { 0 }, C[DIM][DIM] = { { 0 } }, worst = 0;

	ck_assert_int_eq(fden_disentangle(m, z, n, fi, fs), FDEN_OK);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			for (int d = 0; d < DIM; d++)
				F[d] = d < IDE ? fi[i * IDE + d] : fs[i * (DIM - IDE) + d - IDE];
			for (int a = 0; a < DIM; a++) {
				if (!pass)
					mean[a] += F[a] / (double)n;
				else
					for (int b = 0; b < DIM; b++)
						C[a][b] += (F[a] - mean[a]) * (F[b] - mean[b]) / (double)n;
			}
		}
	*var = 0;
	for (int a = 0; a < DIM; a++) {
		*var += C[a][a] / DIM;
		for (int b = 0; b < DIM; b++)
			worst = fmax(worst, fabs(C[a][b] - (a == b)));
	}
	free(fi);
	free(fs);
	return worst;
}

/* The density term alone (FDEN_P_FLOW_NLL, other losses off) turns skewed,
 * correlated, badly scaled latents towards a standard normal: L_N falls and
 * the factors' covariance approaches the identity. A wrong log-det sign
 * would shrink the outputs instead (covariance towards 0). */
START_TEST(flow_density_gaussianizes)
{
	struct fden_model *m = flow_model_with(FDEN_P_BETA, 0.0, FDEN_P_GAMMA, 0.0, FDEN_P_XCORR, 0.0,
					       FDEN_P_STY_ADV, 0.0, FDEN_P_FLOW_NLL, 1.0, 0);
	struct tu_episodes t;
	struct fden_step_stats st = { .struct_size = sizeof st };
	struct fd_rng r;
	double first = 0, last = 0, d0, d1, v0, v1;
	const size_t n = 48;
	int i;

	tu_episodes_make(&t, 4, 3, 2, 2, DIM);
	/* z: scales 0.3..3, a squared (skewed) column, correlated neighbours */
	fd_rng_seed(&r, 99);
	for (size_t k = 0; k < n; k++) {
		float u[DIM];
		for (int d = 0; d < DIM; d++)
			u[d] = fd_rng_normal(&r);
		for (int d = 0; d < DIM; d++)
			t.z[k * DIM + d] = (0.3f + 0.4f * d) * u[d] + (d ? 0.8f * u[d - 1] : 0) +
					   (d == 2 ? u[0] * u[0] : 0);
	}
	d0 = cov_dev(m, t.z, n, &v0);
	for (i = 0; i < 400; i++) {
		ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
		ck_assert(st.l_nll != 0);
		if (i < 10)
			first += st.l_nll / 10;
		if (i >= 390)
			last += st.l_nll / 10;
	}
	d1 = cov_dev(m, t.z, n, &v1);
	fprintf(stderr, "flow density: L_N %.3f -> %.3f; max |cov - I| %.3f -> %.3f; mean variance %.3f -> %.3f\n",
		first, last, d0, d1, v0, v1);
	ck_assert_msg(last < first - 0.2, "L_N %g -> %g", first, last);
	/* 48 rows: the flow fits them closely but not exactly */
	ck_assert_msg(d1 < 0.2 * d0, "|cov - I| %g -> %g", d0, d1);
	ck_assert_msg(v1 > 0.6 && v1 < 1.5, "mean variance %g -> %g", v0, v1);
	ck_assert(roundtrip_err(m, t.z, n) < 1e-4);
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flowmodel");
	TCase *tc = tcase_create("flowmodel");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, flow_widths_and_config);
	tcase_add_test(tc, flow_default_width_is_stored);
	tcase_add_test(tc, flow_trains_and_stays_exact);
	tcase_add_test(tc, flow_density_gaussianizes);
	tcase_add_test(tc, flow_threads_same_bits);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
