/* The HSIC penalty (hsic.h): its value against the definition computed
 * naively in double (explicit H K H), what it must see (non-linear
 * dependence that correlation misses), scale invariance, and the gradient
 * against central differences. Float32, h = 1e-2 on unit-scale inputs: the
 * loss is smooth away from a change of the median pair, truncation error
 * O(h^2) ~ 1e-4, rounding ~ 1e-7 / h ~ 1e-5 relative; a 2e-2 relative
 * bound (absolute below 2e-3 of the largest gradient) catches a wrong sign,
 * factor or a missing bandwidth term. Where the median pair (the
 * bandwidth) changes within +-h the loss has a kink and the difference
 * quotient means nothing: those coordinates are skipped (at most a fifth). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fden/hsic.h"
#include "fden/indep.h"
#include "kernels/rng.h"
#include "../testutil.h"

static void fill(float *x, size_t n, uint64_t seed)
{
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = fd_rng_normal(&r);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Gaussian kernel of X (n x d) as eval.c builds it: sigma^2 = element m/2
 * of the sorted pairwise squared distances */
static void naive_kernel(const float *X, int n, int d, double *K)
{
	double *v = malloc(sizeof *v * (size_t)n * n), med;
	size_t m = 0;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double s = 0;
			for (int t = 0; t < d; t++) {
				double e = (double)X[i * d + t] - X[j * d + t];
				s += e * e;
			}
			K[i * n + j] = s;
			if (j > i)
				v[m++] = s;
		}
	qsort(v, m, sizeof *v, cmpd);
	med = v[m / 2];
	for (int i = 0; i < n * n; i++)
		K[i] = exp(-K[i] / (2 * med));
	free(v);
}

/* tr(K H L H) / (n - 1)^2 with H built explicitly */
static double naive_hsic(const float *A, int p, const float *B, int q, int n)
{
	double *K = malloc(sizeof *K * n * n), *L = malloc(sizeof *L * n * n);
	double *KH = malloc(sizeof *KH * n * n), *LH = malloc(sizeof *LH * n * n), tr = 0;

	naive_kernel(A, n, p, K);
	naive_kernel(B, n, q, L);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double a = 0, b = 0;
			for (int k = 0; k < n; k++) {
				double h = (k == j) - 1.0 / n;
				a += K[i * n + k] * h;
				b += L[i * n + k] * h;
			}
			KH[i * n + j] = a;
			LH[i * n + j] = b;
		}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			tr += KH[i * n + j] * LH[j * n + i];
	free(K);
	free(L);
	free(KH);
	free(LH);
	return tr / ((double)(n - 1) * (n - 1));
}

START_TEST(test_hsic_value)
{
	enum { N = 60 };
	float A[N * 2], B[N * 3], A3[N * 2];
	float *ws = malloc(fd_hsic_ws(N, 2, 3) * sizeof(float));
	float *xw = malloc(fd_xcorr_ws(N, 2, 3) * sizeof(float));
	double h, ref, hind, hdep, xdep;

	fill(A, N * 2, 1);
	fill(B, N * 3, 2);
	h = fd_hsic(A, 2, B, 3, N, 1.0f, NULL, NULL, ws, 1);
	ref = naive_hsic(A, 2, B, 3, N);
	ck_assert_msg(fabs(h - ref) < 1e-4 * fmax(1.0, fabs(ref)) + 1e-6, "%g vs naive %g", h, ref);
	hind = h;
	/* scale-free: 3 A gives the same value */
	for (int i = 0; i < N * 2; i++)
		A3[i] = 3.0f * A[i];
	h = fd_hsic(A3, 2, B, 3, N, 1.0f, NULL, NULL, ws, 1);
	ck_assert_msg(fabs(h - hind) < 1e-4, "scaled %g vs %g", h, hind);
	/* B_0 = A_0^2: uncorrelated with A (symmetric), yet dependent */
	for (int i = 0; i < N; i++)
		B[i * 3] = A[i * 2] * A[i * 2];
	hdep = fd_hsic(A, 2, B, 3, N, 1.0f, NULL, NULL, ws, 1);
	ref = naive_hsic(A, 2, B, 3, N);
	ck_assert_msg(fabs(hdep - ref) < 1e-4 * fmax(1.0, fabs(ref)) + 1e-6, "%g vs naive %g", hdep,
		      ref);
	ck_assert_msg(hdep > 2.0 * hind, "dependent %g, independent %g", hdep, hind);
	xdep = fd_xcorr(A, 2, B, 3, N, 1.0f, NULL, NULL, xw, 1);
	fprintf(stderr, "hsic: independent %.4g, B0 = A0^2 %.4g (xcorr there %.3g)\n", hind, hdep,
		xdep);
	/* identical factors: the largest value of the three */
	h = fd_hsic(A, 2, A, 2, N, 1.0f, NULL, NULL, ws, 1);
	ck_assert_msg(h > hdep, "HSIC(A, A) %g <= %g", h, hdep);
	free(ws);
	free(xw);
}
END_TEST

/* index i n + j of the median pair (element m/2 of the sorted i < j) */
static int median_pair(const float *X, int n, int d)
{
	double v[64 * 63 / 2];
	int idx[64 * 63 / 2], m = 0, best = -1;
	double *sorted = malloc(sizeof *sorted * n * (n - 1) / 2), med;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			double s = 0;
			for (int t = 0; t < d; t++) {
				double e = (double)X[i * d + t] - X[j * d + t];
				s += e * e;
			}
			v[m] = sorted[m] = s;
			idx[m++] = i * n + j;
		}
	qsort(sorted, m, sizeof *sorted, cmpd);
	med = sorted[m / 2];
	for (int k = 0; k < m && best < 0; k++)
		if (v[k] == med)
			best = idx[k];
	free(sorted);
	return best;
}

START_TEST(test_hsic_grad)
{
	enum { N = 10,
	       P = 3,
	       Q = 2 };
	float A[N * P], B[N * Q], dA[N * P] = { 0 }, dB[N * Q] = { 0 };
	float *ws = malloc(fd_hsic_ws(N, P, Q) * sizeof(float));
	const float h = 1e-2f;
	double worst = 0, gmax = 0;
	int kinks = 0, ma, mb;

	fill(A, N * P, 5);
	fill(B, N * Q, 6);
	for (int i = 0; i < N; i++)
		B[i * Q] += A[i * P] * A[i * P]; /* some dependence */
	fd_hsic(A, P, B, Q, N, 3.0f, dA, dB, ws, 1);
	for (int i = 0; i < N * P; i++)
		gmax = fmax(gmax, fabs(dA[i]));
	for (int i = 0; i < N * Q; i++)
		gmax = fmax(gmax, fabs(dB[i]));
	ck_assert(gmax > 0);
	for (int i = 0; i < N * (P + Q); i++) {
		float *x = i < N * P ? &A[i] : &B[i - N * P];
		float g = i < N * P ? dA[i] : dB[i - N * P];
		float keep = *x;
		double up, dn, num, err;

		int same;

		ma = median_pair(A, N, P);
		mb = median_pair(B, N, Q);
		*x = keep + h;
		up = 3.0 * fd_hsic(A, P, B, Q, N, 1.0f, NULL, NULL, ws, 1);
		same = median_pair(A, N, P) == ma && median_pair(B, N, Q) == mb;
		*x = keep - h;
		dn = 3.0 * fd_hsic(A, P, B, Q, N, 1.0f, NULL, NULL, ws, 1);
		same = same && median_pair(A, N, P) == ma && median_pair(B, N, Q) == mb;
		*x = keep;
		if (!same) { /* the bandwidth's pair changes inside the step: a kink */
			kinks++;
			continue;
		}
		num = (up - dn) / (2 * h);
		err = fabs(num - g) / fmax(0.1 * gmax, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 2e-2, "grad %d: analytic %g numeric %g", i, g, num);
	}
	fprintf(stderr, "hsic: worst gradient relative error %.3g (largest gradient %.3g), %d of %d "
			"coordinates skipped (median pair changes within +-h)\n",
		worst, gmax, kinks,
		N * (P + Q));
	ck_assert_msg(kinks <= N * (P + Q) / 5, "%d kinks", kinks);
	/* the gradients ADD: a second call doubles them */
	{
		float g0 = dA[0];
		fd_hsic(A, P, B, Q, N, 3.0f, dA, dB, ws, 1);
		ck_assert(fabsf(dA[0] - 2 * g0) <= 1e-6f * fabsf(g0) + 1e-9f);
	}
	free(ws);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hsic");
	TCase *tc = tcase_create("hsic");

	tcase_add_test(tc, test_hsic_value);
	tcase_add_test(tc, test_hsic_grad);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
