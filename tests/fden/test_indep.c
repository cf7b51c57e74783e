/* Independence penalties: values against their definitions and gradients
 * against central differences. Computed in float32 with h = 1e-2 on inputs
 * of unit scale; both losses are smooth, so truncation error is O(h^2) ~ 1e-4
 * and rounding ~ 1e-7 / h ~ 1e-5 relative: a 1e-2 relative bound (absolute
 * below 1e-3) has wide margin yet catches a wrong sign or factor. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fden/indep.h"
#include "kernels/rng.h"
#include "../testutil.h"

static void fill(float *x, size_t n, uint64_t seed)
{
	struct fd_rng r;
	size_t i;

	fd_rng_seed(&r, seed);
	for (i = 0; i < n; i++)
		x[i] = fd_rng_normal(&r);
}

START_TEST(test_xcorr_value)
{
	enum { N = 64 };
	float A[N * 2], B[N * 1];
	float *ws = malloc(fd_xcorr_ws(N, 2, 1) * sizeof(float));
	double L;
	int i;

	fill(A, N * 2, 1);
	/* B = column 0 of A exactly: correlation 1 with it, ~0 with column 1 */
	for (i = 0; i < N; i++)
		B[i] = 3.0f * A[i * 2] + 5.0f;
	L = fd_xcorr(A, 2, B, 1, N, 1.0f, NULL, NULL, ws, 1);
	/* mean of {1, r^2} with r small: about 0.5 */
	ck_assert_msg(L > 0.45 && L < 0.56, "L = %g", L);
	fill(B, N, 99);
	L = fd_xcorr(A, 2, B, 1, N, 1.0f, NULL, NULL, ws, 1);
	ck_assert_msg(L < 0.1, "independent columns: L = %g", L);
	free(ws);
}
END_TEST

START_TEST(test_xcorr_grad)
{
	enum { N = 9,
	       P = 3,
	       Q = 4 };
	float A[N * P], B[N * Q], dA[N * P] = { 0 }, dB[N * Q] = { 0 };
	float *ws = malloc(fd_xcorr_ws(N, P, Q) * sizeof(float));
	const float h = 1e-2f;
	double worst = 0;
	int i;

	fill(A, N * P, 5);
	fill(B, N * Q, 6);
	for (i = 0; i < N; i++)
		B[i * Q] += A[i * P]; /* some dependence */
	fd_xcorr(A, P, B, Q, N, 2.0f, dA, dB, ws, 1);
	for (i = 0; i < N * (P + Q); i++) {
		float *x = i < N * P ? &A[i] : &B[i - N * P];
		float g = i < N * P ? dA[i] : dB[i - N * P];
		float keep = *x;
		double up, dn, num, err;

		*x = keep + h;
		up = 2.0 * fd_xcorr(A, P, B, Q, N, 1.0f, NULL, NULL, ws, 1);
		*x = keep - h;
		dn = 2.0 * fd_xcorr(A, P, B, Q, N, 1.0f, NULL, NULL, ws, 1);
		*x = keep;
		num = (up - dn) / (2 * h);
		err = fabs(num - g) / fmax(0.1, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 1e-2, "grad %d: analytic %g numeric %g", i, g, num);
	}
	fprintf(stderr, "xcorr: worst gradient relative error %.3g\n", worst);
	free(ws);
}
END_TEST

START_TEST(test_sty_uniform)
{
	enum { C = 3,
	       K = 2,
	       NQ = 4,
	       D = 5 };
	float S[C * K * D], Q[NQ * D], dS[C * K * D] = { 0 }, dQ[NQ * D] = { 0 };
	int32_t ys[C * K];
	float *ws = malloc(fd_sty_uniform_ws(C * K, NQ, C, D) * sizeof(float));
	const float h = 1e-2f;
	double L, worst = 0;
	int i;

	for (i = 0; i < C * K; i++)
		ys[i] = i % C;
	fill(S, C * K * D, 7);
	fill(Q, NQ * D, 8);
	for (i = 0; i < C * K * D; i++)
		S[i] *= 0.5f;
	for (i = 0; i < NQ * D; i++)
		Q[i] *= 0.5f;
	L = fd_sty_uniform(S, ys, C * K, Q, NQ, C, D, 1.0f, dS, dQ, ws);
	/* CE to uniform >= log C per query, equality iff uniform */
	ck_assert(L >= NQ * log((double)C) - 1e-4);
	for (i = 0; i < C * K * D + NQ * D; i++) {
		float *x = i < C * K * D ? &S[i] : &Q[i - C * K * D];
		float g = i < C * K * D ? dS[i] : dQ[i - C * K * D];
		float keep = *x;
		double up, dn, num, err;

		*x = keep + h;
		up = fd_sty_uniform(S, ys, C * K, Q, NQ, C, D, 1.0f, NULL, NULL, ws);
		*x = keep - h;
		dn = fd_sty_uniform(S, ys, C * K, Q, NQ, C, D, 1.0f, NULL, NULL, ws);
		*x = keep;
		num = (up - dn) / (2 * h);
		err = fabs(num - g) / fmax(0.1, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 1e-2, "grad %d: analytic %g numeric %g", i, g, num);
	}
	/* all queries equal to every prototype: exactly uniform, L = NQ log C */
	for (i = 0; i < C * K * D; i++)
		S[i] = 1.0f;
	for (i = 0; i < NQ * D; i++)
		Q[i] = 0.0f;
	L = fd_sty_uniform(S, ys, C * K, Q, NQ, C, D, 1.0f, NULL, NULL, ws);
	ck_assert(fabs(L - NQ * log((double)C)) < 1e-4);
	fprintf(stderr, "sty-uniform: worst gradient relative error %.3g\n", worst);
	free(ws);
}
END_TEST

START_TEST(test_sty_adv_batch)
{
	enum { E = 2,
	       C = 3,
	       K = 1,
	       QQ = 2,
	       R = C * (K + QQ),
	       N = E * R,
	       D = 4 };
	float F[N * D], dF[N * D] = { 0 }, G[N * D];
	int32_t y[N];
	float *ws = malloc(fd_sty_adv_ws(N, C * K, C * QQ, C, D) * sizeof(float));
	const float h = 1e-2f;
	double L, L2, worst = 0;
	int i;

	for (int e = 0; e < E; e++)
		for (i = 0; i < R; i++)
			y[e * R + i] = i < C * K ? i % C : (i - C * K) % C;
	fill(F, N * D, 12);
	L = fd_sty_adv(F, N, D, y, E, R, C * K, C * QQ, C, 1.0f, dF, ws);
	ck_assert(L >= log((double)C) - 1e-6);
	/* scale-free: the same loss for 10 times smaller factors (down to the
	 * variance floor 1e-5 of the standardisation) */
	for (i = 0; i < N * D; i++)
		G[i] = F[i] * 0.1f;
	L2 = fd_sty_adv(G, N, D, y, E, R, C * K, C * QQ, C, 1.0f, NULL, ws);
	ck_assert_msg(fabs(L - L2) < 1e-2 * L, "scaled: %g vs %g", L, L2);
	for (i = 0; i < N * D; i++) {
		float keep = F[i];
		double up, dn, num, err;

		F[i] = keep + h;
		up = fd_sty_adv(F, N, D, y, E, R, C * K, C * QQ, C, 1.0f, NULL, ws);
		F[i] = keep - h;
		dn = fd_sty_adv(F, N, D, y, E, R, C * K, C * QQ, C, 1.0f, NULL, ws);
		F[i] = keep;
		num = (up - dn) / (2 * h);
		err = fabs(num - dF[i]) / fmax(0.1, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 2e-2, "grad %d: analytic %g numeric %g", i, dF[i], num);
	}
	fprintf(stderr, "sty-adv (batch-standardised): worst gradient relative error %.3g\n", worst);
	free(ws);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("indep");
	TCase *tc = tcase_create("indep");

	tcase_add_test(tc, test_xcorr_value);
	tcase_add_test(tc, test_xcorr_grad);
	tcase_add_test(tc, test_sty_uniform);
	tcase_add_test(tc, test_sty_adv_batch);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
