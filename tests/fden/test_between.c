/* The between-class share of f_sty (between.h): its value against the
 * definition computed naively in double, its bounds (0 when every class
 * mean is the episode mean, 1 when the rows are their class means), scale
 * invariance, the null expectation (ways - 1) / (rows - 1), and the
 * gradient against central differences in double. The loss is a smooth
 * rational function of the inputs: float32 with h = 1e-2 on unit-scale
 * inputs gives truncation O(h^2) ~ 1e-4 and rounding ~ 1e-7 / h ~ 1e-5
 * relative; a 1e-2 bound (relative, or absolute below a tenth of the
 * largest gradient) catches a wrong sign, factor or a missing term. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fden/between.h"
#include "kernels/rng.h"
#include "../testutil.h"

static void fill(float *x, size_t n, uint64_t seed)
{
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = fd_rng_normal(&r);
}

/* episode e's rows: class i % W, so every class has R / W rows */
static void labels(int32_t *y, int E, int R, int W)
{
	for (int e = 0; e < E; e++)
		for (int i = 0; i < R; i++)
			y[e * R + i] = i % W;
}

/* the definition, one column at a time in double */
static double naive(const float *F, int d, const int32_t *y, int E, int R, int W)
{
	double L = 0;

	for (int e = 0; e < E; e++)
		for (int k = 0; k < d; k++) {
			double mean = 0, tot = 0, between = 0;
			for (int i = 0; i < R; i++)
				mean += F[(e * R + i) * d + k] / R;
			for (int i = 0; i < R; i++) {
				double v = F[(e * R + i) * d + k] - mean;
				tot += v * v;
			}
			for (int c = 0; c < W; c++) {
				double s = 0;
				int n = 0;
				for (int i = 0; i < R; i++)
					if (y[e * R + i] == c) {
						s += F[(e * R + i) * d + k] - mean;
						n++;
					}
				if (n)
					between += s * s / n;
			}
			L += between / tot;
		}
	return L / (E * d);
}

START_TEST(test_between_value)
{
	enum { E = 3,
	       W = 5,
	       R = 30,
	       D = 4 };
	float F[E * R * D], G[E * R * D];
	int32_t y[E * R];
	float *ws = malloc(fd_sty_between_ws(W, D) * sizeof(float));
	double v, ref, null = 0;

	labels(y, E, R, W);
	fill(F, E * R * D, 1);
	v = fd_sty_between(F, D, y, E, R, W, 1.0f, NULL, ws);
	ref = naive(F, D, y, E, R, W);
	ck_assert_msg(fabs(v - ref) < 1e-9, "%.12g vs naive %.12g", v, ref);
	/* scale and shift per column leave it alone */
	for (int i = 0; i < E * R * D; i++)
		G[i] = 3.0f * F[i] + (float)(i % D);
	ck_assert_msg(fabs(fd_sty_between(G, D, y, E, R, W, 1.0f, NULL, ws) - v) < 1e-6,
		      "not scale-free");
	/* rows equal to a per-class value: all of the variance is between */
	for (int i = 0; i < E * R * D; i++)
		G[i] = F[(i / (R * D) * R + y[i / D]) * D + i % D];
	v = fd_sty_between(G, D, y, E, R, W, 1.0f, NULL, ws);
	ck_assert_msg(fabs(v - 1.0) < 1e-6, "class-constant rows give %g", v);
	/* every class mean the episode mean: 0 (rows of class c: c's pattern
	 * and its negation, equally often) */
	for (int e = 0; e < E; e++)
		for (int i = 0; i < R; i++)
			for (int k = 0; k < D; k++)
				G[(e * R + i) * D + k] = (i / W % 2 ? -1.0f : 1.0f) * (float)(1 + y[i] + k);
	v = fd_sty_between(G, D, y, E, R, W, 1.0f, NULL, ws);
	ck_assert_msg(fabs(v) < 1e-9, "centred classes give %g", v);
	/* independent of the class: (W - 1) / (R - 1) on average */
	for (int t = 0; t < 200; t++) {
		fill(G, E * R * D, 100 + t);
		null += fd_sty_between(G, D, y, E, R, W, 1.0f, NULL, ws) / 200;
	}
	fprintf(stderr, "between: null mean %.4f, expected %.4f\n", null, (W - 1.0) / (R - 1.0));
	ck_assert_msg(fabs(null - (W - 1.0) / (R - 1.0)) < 0.01, "null mean %g", null);
	free(ws);
}
END_TEST

START_TEST(test_between_grad)
{
	enum { E = 2,
	       W = 3,
	       R = 9,
	       D = 3,
	       N = E * R * D };
	float F[N], dF[N] = { 0 };
	int32_t y[E * R];
	float *ws = malloc(fd_sty_between_ws(W, D) * sizeof(float));
	const float h = 1e-2f;
	double worst = 0, gmax = 0;

	labels(y, E, R, W);
	fill(F, N, 7);
	for (int i = 0; i < E * R; i++) /* some class signal in column 0 */
		F[i * D] += 0.8f * (float)y[i];
	fd_sty_between(F, D, y, E, R, W, 2.0f, dF, ws);
	for (int i = 0; i < N; i++)
		gmax = fmax(gmax, fabs(dF[i]));
	ck_assert(gmax > 0);
	for (int i = 0; i < N; i++) {
		float keep = F[i];
		double up, dn, num, err;

		F[i] = keep + h;
		up = 2.0 * naive(F, D, y, E, R, W);
		F[i] = keep - h;
		dn = 2.0 * naive(F, D, y, E, R, W);
		F[i] = keep;
		num = (up - dn) / (2 * h);
		err = fabs(num - dF[i]) / fmax(0.1 * gmax, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 1e-2, "grad %d: analytic %g numeric %g", i, dF[i], num);
	}
	fprintf(stderr, "between: worst gradient relative error %.3g (largest %.3g)\n", worst, gmax);
	/* the gradients ADD: a second call doubles them */
	{
		float g0 = dF[0];
		fd_sty_between(F, D, y, E, R, W, 2.0f, dF, ws);
		ck_assert(fabsf(dF[0] - 2 * g0) <= 1e-6f * fabsf(g0) + 1e-9f);
	}
	free(ws);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("between");
	TCase *tc = tcase_create("between");

	tcase_add_test(tc, test_between_value);
	tcase_add_test(tc, test_between_grad);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
