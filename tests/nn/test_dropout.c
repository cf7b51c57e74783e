/* Inverted dropout: keep rate within statistical bounds, kept values
 * scaled by exactly 1/(1-p), masks reproducible from the seed, evaluation
 * deterministic and equal to the expectation of training. */
#include <check.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/rng.h"
#include "nn/dropout.h"
#include "nn/mlp.h"
#include "../testutil.h"

START_TEST(test_keep_rate_and_scale)
{
	/* rates 0.1, 0.3, 0.5, 0.9 over 1e6 + 1 elements (odd: the tail) */
	static const float rates[4] = { 0.1f, 0.3f, 0.5f, 0.9f };
	const size_t n = 1000001;
	float p = rates[_i];
	float *x = malloc(n * 4), *mask = malloc(n * 4), *y = malloc(n * 4);
	float scale = (float)(1.0 / (1.0 - (double)p));
	struct fd_rng r;
	size_t kept = 0, bad = 0;
	double q = 1.0 - p, sd = sqrt(n * q * (1 - q));

	fd_rng_seed(&r, 1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(i % 13) - 6.0f;
	fd_dropout_forward(&r, p, x, mask, y, n);
	/* count, then assert once: Check records every assertion (slow) */
	for (size_t i = 0; i < n; i++) {
		bad += !(mask[i] == 0.0f || mask[i] == scale) || y[i] != x[i] * mask[i];
		kept += mask[i] != 0.0f;
	}
	ck_assert_uint_eq(bad, 0);
	fprintf(stderr, "dropout p=%.1f: kept %.5f (expected %.5f, 5 sd = %.5f)\n",
		(double)p, (double)kept / n, q, 5 * sd / n);
	ck_assert_double_le(fabs((double)kept - n * q), 5 * sd);
	free(x);
	free(mask);
	free(y);
}
END_TEST

START_TEST(test_rate_zero_and_backward)
{
	float x[9], mask[9], y[9], dy[9], dx[9];
	struct fd_rng r;

	fd_rng_seed(&r, 2);
	for (int i = 0; i < 9; i++) {
		x[i] = (float)i - 4.0f;
		dy[i] = 0.5f * (float)i;
	}
	fd_dropout_forward(&r, 0.0f, x, mask, y, 9);
	for (int i = 0; i < 9; i++) {
		ck_assert_float_eq(mask[i], 1.0f);
		ck_assert_float_eq(y[i], x[i]);
	}
	fd_dropout_mask(&r, 0.5f, mask, 9);
	fd_dropout_backward(mask, dy, dx, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_float_eq(dx[i], dy[i] * mask[i]);
}
END_TEST

START_TEST(test_masks_from_seed)
{
	float a[257], b[257], c[257];
	struct fd_rng r1, r2;

	fd_rng_seed(&r1, 3);
	fd_rng_seed(&r2, 3);
	fd_dropout_mask(&r1, 0.4f, a, 257);
	fd_dropout_mask(&r2, 0.4f, b, 257);
	ck_assert_int_eq(memcmp(a, b, sizeof a), 0); /* same seed, same mask */
	fd_dropout_mask(&r1, 0.4f, c, 257);
	ck_assert_int_ne(memcmp(a, c, sizeof a), 0); /* next mask is fresh */
}
END_TEST

/* keep bits (the MLP's storage): the same decisions and rng stream as the
 * float mask over the same rows x cols, row-aligned, and back to bytes */
START_TEST(test_keep_bits_match_mask)
{
	static const int cols[] = { 1, 3, 7, 8, 13, 64, 257 };
	static const size_t rows[] = { 1, 2, 5, 33 };

	for (int c = 0; c < 7; c++)
		for (int q = 0; q < 4; q++) {
			size_t n = rows[q] * (size_t)cols[c], st = fd_keep_stride(cols[c]);
			float *mask = malloc(n * sizeof *mask);
			unsigned char *bits = malloc(rows[q] * st), *row = malloc((size_t)cols[c]);
			struct fd_rng r1, r2;

			fd_rng_seed(&r1, 11 + (uint64_t)c);
			r2 = r1;
			fd_dropout_mask(&r1, 0.3f, mask, n);
			memset(bits, 0xa5, rows[q] * st); /* stale bits must not survive */
			fd_dropout_keep_bits(&r2, 0.3f, bits, rows[q], cols[c]);
			ck_assert_int_eq(memcmp(&r1, &r2, sizeof r1), 0); /* same stream consumed */
			for (size_t i = 0; i < rows[q]; i++) {
				fd_keep_expand(bits + i * st, cols[c], row);
				for (int j = 0; j < cols[c]; j++) {
					float mv = mask[i * cols[c] + j];
					ck_assert_msg(row[j] == (mv != 0.0f),
						      "cols %d row %zu col %d: bit %d, mask %g", cols[c], i,
						      j, row[j], (double)mv);
				}
			}
			free(mask);
			free(bits);
			free(row);
		}
}
END_TEST

/* E[training output] = evaluation output for a linear net without bias:
 * dropout before (x * mask) W, and after, (x W) * mask. */
START_TEST(test_mlp_expectation_and_eval)
{
	static const struct fd_layer_spec l[1] = { { 3, 0, 0, 0.5f, FD_ACT_LINEAR } };
	struct fd_mlp_cfg cfg = {
		.in = 8,
		.nlayers = 1,
		.layers = l,
		.drop_before = _i,
		.init = FD_INIT_GLOROT_NORMAL,
		.bn_momentum = 0.9f,
		.bn_eps = 1e-3f,
		.nthreads = 1,
	};
	struct fd_mlp *m;
	struct fd_rng r;
	struct fd_err err;
	float X[2 * 8], Ye[2 * 3], Ye2[2 * 3], *ws;
	double sum[6] = { 0 };
	const int K = 4000;
	const float *Wt;
	int differ = 0;

	fd_rng_seed(&r, 4);
	ck_assert_int_eq(fd_mlp_new(&cfg, "d", NULL, &r, &err, &m), 0);
	ck_assert_int_eq(fd_mlp_reserve(m, 2, &err), 0);
	fd_rng_fill_normal(&r, X, 16, 1.0f);
	ws = malloc(fd_mlp_infer_ws(m, 2) * sizeof(float));
	fd_mlp_infer(m, X, 2, Ye, ws);
	fd_mlp_infer(m, X, 2, Ye2, ws);
	ck_assert_int_eq(memcmp(Ye, Ye2, sizeof Ye), 0); /* evaluation: deterministic */
	for (int k = 0; k < K; k++) {
		const float *Y = fd_mlp_forward(m, X, 2, &r, NULL);
		for (int i = 0; i < 6; i++) {
			sum[i] += Y[i];
			differ += Y[i] != Ye[i];
		}
	}
	ck_assert_int_gt(differ, K); /* training really drops */
	/* var of one training output: p/(1-p) sum_i (x_i W_ij)^2 (before) or
	 * p/(1-p) (sum_i x_i W_ij)^2 (after), p = 0.5 */
	Wt = fd_mlp_param(m, 0)->w;
	for (int row = 0; row < 2; row++)
		for (int j = 0; j < 3; j++) {
			double v = 0, s = 0;
			for (int i = 0; i < 8; i++) {
				double t = (double)X[row * 8 + i] * Wt[i * 3 + j];
				v += t * t;
				s += t;
			}
			v = _i ? v : s * s;
			ck_assert_double_le(fabs(sum[row * 3 + j] / K - Ye[row * 3 + j]),
					    5 * sqrt(v / K) + 1e-6);
		}
	free(ws);
	fd_mlp_free(m);
}
END_TEST

static Suite *dropout_suite(void)
{
	Suite *s = suite_create("dropout");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_keep_rate_and_scale, 0, 4);
	tcase_add_test(tc, test_rate_zero_and_backward);
	tcase_add_test(tc, test_masks_from_seed);
	tcase_add_test(tc, test_keep_bits_match_mask);
	tcase_add_loop_test(tc, test_mlp_expectation_and_eval, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(dropout_suite(), 0);
}
