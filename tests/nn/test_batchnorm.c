/* Batch norm: batch statistics in training, running statistics (updated
 * with momentum and the unbiased variance) in evaluation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/rng.h"
#include "nn/batchnorm.h"
#include "nn/mlp.h"
#include "../testutil.h"

#define N 16
#define W 6

static void ref_stats(const float *h, int n, int w, int j, double *mean, double *var)
{
	double m = 0, v = 0;

	for (int i = 0; i < n; i++)
		m += h[i * w + j];
	m /= n;
	for (int i = 0; i < n; i++)
		v += (h[i * w + j] - m) * (h[i * w + j] - m);
	*mean = m;
	*var = v / n; /* biased */
}

static void make_batch(float *h, uint64_t seed)
{
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < W; j++)
			h[i * W + j] = 3.0f * (float)j - 2.0f + (0.5f + (float)j) * fd_rng_normal(&r);
}

START_TEST(test_train_normalises)
{
	float h[N * W], h0[N * W], a[N * W], gamma[W], beta[W], mean[W], inv[W];
	float rm[W], rv[W];

	make_batch(h, 1);
	memcpy(h0, h, sizeof h);
	for (int j = 0; j < W; j++) {
		gamma[j] = 1.0f;
		beta[j] = 0.0f;
		rm[j] = 0.0f;
		rv[j] = 1.0f;
	}
	/* momentum 0: running = batch statistics (variance unbiased) */
	fd_bn_forward_train(h, N, W, gamma, beta, 1e-3f, 0.0f, rm, rv, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a, NULL);
	for (int j = 0; j < W; j++) {
		double m, v, om, ov;
		ref_stats(h0, N, W, j, &m, &v);
		ck_assert_double_le(fabs(mean[j] - m), 1e-5 * (1 + fabs(m)));
		ck_assert_double_le(fabs(inv[j] - 1.0 / sqrt(v + 1e-3)), 1e-5 / sqrt(v));
		ck_assert_double_le(fabs(rm[j] - m), 1e-5 * (1 + fabs(m)));
		ck_assert_double_le(fabs(rv[j] - v * N / (N - 1)), 1e-5 * v);
		/* output columns: mean 0, variance v / (v + eps) */
		ref_stats(a, N, W, j, &om, &ov);
		ck_assert_double_le(fabs(om), 1e-5);
		ck_assert_double_le(fabs(ov - v / (v + 1e-3)), 1e-5);
		/* h now holds xhat = a (gamma 1, beta 0) */
		for (int i = 0; i < N; i++)
			ck_assert_float_eq_tol(h[i * W + j], a[i * W + j], 1e-6f);
	}
}
END_TEST

START_TEST(test_running_momentum)
{
	/* two steps with momentum 0.9 on batches B1, B2, from (0, 1):
	 * run_mean = 0.9 (0.9 * 0 + 0.1 m1) + 0.1 m2, same for the variance */
	float h1[N * W], h2[N * W], c1[N * W], c2[N * W], a[N * W], gamma[W], beta[W];
	float mean[W], inv[W], rm[W], rv[W];

	make_batch(h1, 2);
	make_batch(h2, 3);
	memcpy(c1, h1, sizeof h1);
	memcpy(c2, h2, sizeof h2);
	for (int j = 0; j < W; j++) {
		gamma[j] = 1.0f;
		beta[j] = 0.0f;
		rm[j] = 0.0f;
		rv[j] = 1.0f;
	}
	fd_bn_forward_train(h1, N, W, gamma, beta, 1e-3f, 0.9f, rm, rv, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a, NULL);
	fd_bn_forward_train(h2, N, W, gamma, beta, 1e-3f, 0.9f, rm, rv, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a, NULL);
	for (int j = 0; j < W; j++) {
		double m1, v1, m2, v2, u = (double)N / (N - 1);
		ref_stats(c1, N, W, j, &m1, &v1);
		ref_stats(c2, N, W, j, &m2, &v2);
		ck_assert_double_le(fabs(rm[j] - (0.9 * 0.1 * m1 + 0.1 * m2)), 1e-5 * (1 + fabs(m1)));
		ck_assert_double_le(fabs(rv[j] - (0.81 + 0.9 * 0.1 * v1 * u + 0.1 * v2 * u)),
				    1e-5 * (1 + v1 + v2));
	}
}
END_TEST

START_TEST(test_eval_uses_running_stats)
{
	float h[N * W], y[N * W], y1[W], gamma[W], beta[W], rm[W], rv[W], scr[2 * W];

	make_batch(h, 4);
	for (int j = 0; j < W; j++) {
		gamma[j] = 0.5f + 0.25f * (float)j;
		beta[j] = -1.0f + 0.3f * (float)j;
		rm[j] = 1.0f - (float)j;
		rv[j] = 0.5f + (float)j;
	}
	/* y = act(gamma (h - rm) / sqrt(rv + eps) + beta), leaky 0.1 */
	fd_bn_infer(h, N, W, gamma, beta, rm, rv, 1e-3f, FD_ACT_LEAKY, 0.1f, y, scr);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < W; j++) {
			double z = gamma[j] * (h[i * W + j] - rm[j]) / sqrt(rv[j] + 1e-3) + beta[j];
			double ref = z > 0 ? z : 0.1 * z;
			ck_assert_double_le(fabs(y[i * W + j] - ref), 1e-5 * (1 + fabs(ref)));
		}
	/* batch independent: one row alone gives the same; and in place */
	fd_bn_infer(h + 5 * W, 1, W, gamma, beta, rm, rv, 1e-3f, FD_ACT_LEAKY, 0.1f, y1, scr);
	for (int j = 0; j < W; j++)
		ck_assert_float_eq(y1[j], y[5 * W + j]);
	fd_bn_infer(h, N, W, gamma, beta, rm, rv, 1e-3f, FD_ACT_LEAKY, 0.1f, h, scr);
	ck_assert_int_eq(memcmp(h, y, sizeof y), 0);
}
END_TEST

START_TEST(test_train_depends_on_batch)
{
	/* training output of row 0 changes when another row changes;
	 * evaluation output does not */
	float h[N * W], a1[N * W], a2[N * W], gamma[W], beta[W], mean[W], inv[W];

	for (int j = 0; j < W; j++) {
		gamma[j] = 1.0f;
		beta[j] = 0.0f;
	}
	make_batch(h, 5);
	fd_bn_forward_train(h, N, W, gamma, beta, 1e-3f, 0.9f, NULL, NULL, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a1, NULL);
	make_batch(h, 5);
	h[7 * W + 2] += 5.0f;
	fd_bn_forward_train(h, N, W, gamma, beta, 1e-3f, 0.9f, NULL, NULL, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a2, NULL);
	ck_assert_float_ne(a1[0 * W + 2], a2[0 * W + 2]);
	ck_assert_float_eq(a1[0 * W + 1], a2[0 * W + 1]); /* other columns unaffected */
}
END_TEST

START_TEST(test_single_row)
{
	/* n = 1: zero variance, xhat 0, output beta; running variance gets the
	 * batch variance (0) without the n/(n-1) factor; nothing is NaN */
	float h[W], a[W], gamma[W], beta[W], mean[W], inv[W], rm[W], rv[W];

	for (int j = 0; j < W; j++) {
		h[j] = (float)j;
		gamma[j] = 2.0f;
		beta[j] = 0.5f * (float)j;
		rm[j] = 0.0f;
		rv[j] = 1.0f;
	}
	fd_bn_forward_train(h, 1, W, gamma, beta, 1e-3f, 0.5f, rm, rv, mean, inv,
			    FD_ACT_LINEAR, 0.0f, NULL, a, NULL);
	for (int j = 0; j < W; j++) {
		ck_assert_float_eq(a[j], beta[j]);
		ck_assert_float_eq_tol(rv[j], 0.5f, 1e-7f);
		ck_assert_float_eq_tol(rm[j], 0.5f * (float)j, 1e-6f);
	}
}
END_TEST

START_TEST(test_mlp_train_vs_eval)
{
	/* one BN layer, linear: after a forward with momentum 0 the running
	 * statistics are the batch ones, so evaluation differs from training
	 * only by the unbiased variance: y_eval = y_train sqrt((v + e) / (u v + e)) */
	static const struct fd_layer_spec l[1] = { { W, 0, 1, 0.0f, FD_ACT_LINEAR } };
	struct fd_mlp_cfg cfg = {
		.in = 4,
		.nlayers = 1,
		.layers = l,
		.leaky_slope = 0.0f,
		.drop_before = 0,
		.init = FD_INIT_GLOROT_NORMAL,
		.bn_momentum = 0.0f,
		.bn_eps = 1e-3f,
		.nthreads = 1,
	};
	struct fd_mlp *m;
	struct fd_rng r;
	struct fd_err err;
	float X[N * 4], Yt[N * W], Ye[N * W], *ws;
	const float *Y;
	const float *rv;

	fd_rng_seed(&r, 6);
	ck_assert_int_eq(fd_mlp_new(&cfg, "bn", NULL, &r, &err, &m), 0);
	ck_assert_int_eq(fd_mlp_reserve(m, N, &err), 0);
	fd_rng_fill_normal(&r, X, N * 4, 2.0f);
	Y = fd_mlp_forward(m, X, N, &r, NULL);
	ck_assert_ptr_nonnull(Y);
	memcpy(Yt, Y, sizeof Yt);
	ws = malloc(fd_mlp_infer_ws(m, N) * sizeof(float));
	fd_mlp_infer(m, X, N, Ye, ws);
	rv = fd_mlp_buffer(m, 1)->x;
	for (int j = 0; j < W; j++) {
		double v = rv[j] * (N - 1.0) / N;
		double k = sqrt((v + 1e-3) / (rv[j] + 1e-3));
		for (int i = 0; i < N; i++)
			ck_assert_double_le(fabs(Ye[i * W + j] - Yt[i * W + j] * k), 1e-4);
	}
	/* and evaluation is deterministic */
	fd_mlp_infer(m, X, N, Yt, ws);
	ck_assert_int_eq(memcmp(Yt, Ye, sizeof Ye), 0);
	free(ws);
	fd_mlp_free(m);
}
END_TEST

static Suite *bn_suite(void)
{
	Suite *s = suite_create("batchnorm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_train_normalises);
	tcase_add_test(tc, test_running_momentum);
	tcase_add_test(tc, test_eval_uses_running_stats);
	tcase_add_test(tc, test_train_depends_on_batch);
	tcase_add_test(tc, test_single_row);
	tcase_add_test(tc, test_mlp_train_vs_eval);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(bn_suite(), 0);
}
