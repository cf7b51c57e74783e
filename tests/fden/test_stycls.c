/* The style classifier behind the GRL (stycls.h): gradients of its
 * parameters and of its input against central differences, for the linear
 * and the one-hidden-layer classifier; the input gradient is gin times
 * dL/dF (the reversal); and it learns: Adam on a batch whose class is in
 * F's direction reads it, where a label unrelated to F it cannot.
 * Float32, h = 3e-3 on unit-scale inputs: error O(h^2) + 1e-7 / h ~ 3e-5,
 * far under the 2e-2 relative bound; h is small enough that no ReLU of the
 * 48 hidden units here changes side within a step (with h = 1e-2 one does:
 * a kink, not an error of the gradient). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fden/stycls.h"
#include "kernels/rng.h"
#include "nn/adam.h"
#include "../testutil.h"

static void fill(float *x, size_t n, uint64_t seed)
{
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = fd_rng_normal(&r);
}

static void check_grads(int hidden)
{
	enum { N = 12,
	       D = 3,
	       K = 5 };
	struct fd_stycls c;
	float F[N * D], dF[N * D] = { 0 };
	int32_t y[N];
	const float h = 3e-3f, gin = -0.7f;
	double worst = 0, gmax = 0;
	float *ws, *gsave[4];

	ck_assert_int_eq(fd_stycls_new(&c, D, hidden, K, 3, NULL), 0);
	ws = malloc(fd_stycls_ws(&c, N) * sizeof(float));
	fill(F, N * D, 11);
	for (int i = 0; i < N; i++)
		y[i] = i % K;
	/* non-zero weights everywhere (the linear one starts at 0) */
	for (int t = 0; t < c.np; t++)
		fill(c.p[t].w, c.p[t].n, 20 + t);
	fd_stycls_loss(&c, F, N, y, gin, dF, NULL, ws, 1);
	for (int t = 0; t < c.np; t++) {
		gsave[t] = malloc(c.p[t].n * sizeof(float));
		for (size_t j = 0; j < c.p[t].n; j++) {
			gsave[t][j] = c.p[t].g[j];
			gmax = fmax(gmax, fabs(c.p[t].g[j]));
		}
	}
	ck_assert(gmax > 0);
	/* parameters: g = dL/dw */
	for (int t = 0; t < c.np; t++)
		for (size_t j = 0; j < c.p[t].n; j++) {
			float keep = c.p[t].w[j];
			double up, dn, num, err;

			c.p[t].w[j] = keep + h;
			up = fd_stycls_loss(&c, F, N, y, 0, NULL, NULL, ws, 1);
			c.p[t].w[j] = keep - h;
			dn = fd_stycls_loss(&c, F, N, y, 0, NULL, NULL, ws, 1);
			c.p[t].w[j] = keep;
			num = (up - dn) / (2 * h);
			err = fabs(num - gsave[t][j]) / fmax(0.1 * gmax, fabs(num));
			worst = fmax(worst, err);
			ck_assert_msg(err < 2e-2, "hidden %d %s[%zu]: analytic %g numeric %g", hidden,
				      c.p[t].name, j, gsave[t][j], num);
		}
	/* input: dF = gin dL/dF, through the batch standardisation */
	for (int i = 0; i < N * D; i++) {
		float keep = F[i];
		double up, dn, num, err;

		F[i] = keep + h;
		up = gin * fd_stycls_loss(&c, F, N, y, 0, NULL, NULL, ws, 1);
		F[i] = keep - h;
		dn = gin * fd_stycls_loss(&c, F, N, y, 0, NULL, NULL, ws, 1);
		F[i] = keep;
		num = (up - dn) / (2 * h);
		err = fabs(num - dF[i]) / fmax(0.1 * fabs(gin) * gmax, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 2e-2, "hidden %d dF[%d]: analytic %g numeric %g", hidden, i, dF[i],
			      num);
	}
	fprintf(stderr, "stycls (hidden %d): worst gradient relative error %.3g\n", hidden, worst);
	for (int t = 0; t < c.np; t++)
		free(gsave[t]);
	free(ws);
	fd_stycls_free(&c, NULL);
	fd_stycls_free(&c, NULL); /* twice: holds nothing now */
}

START_TEST(test_stycls_grad_linear)
{
	check_grads(0);
}
END_TEST

START_TEST(test_stycls_grad_hidden)
{
	check_grads(4);
}
END_TEST

/* accuracy after 300 Adam steps on N rows of K classes, the class in F
 * (informative) or not */
static double train(int hidden, int informative)
{
	enum { N = 200,
	       D = 4,
	       K = 4 };
	struct fd_stycls c;
	struct fd_adam opt = { 0.05f, 0.9f, 0.999f, 1e-8f };
	float F[N * D];
	int32_t y[N];
	double acc = 0;
	float *ws;

	ck_assert_int_eq(fd_stycls_new(&c, D, hidden, K, 5, NULL), 0);
	ws = malloc(fd_stycls_ws(&c, N) * sizeof(float));
	fill(F, N * D, 17);
	for (int i = 0; i < N; i++) {
		y[i] = i % K;
		if (informative) /* class k: column k shifted by 3 */
			F[i * D + y[i]] += 3.0f;
	}
	for (int s = 1; s <= 300; s++) {
		fd_stycls_loss(&c, F, N, y, 0, NULL, &acc, ws, 1);
		for (int t = 0; t < c.np; t++)
			fd_adam_update(&opt, &c.p[t], (uint64_t)s);
	}
	fd_stycls_loss(&c, F, N, y, 0, NULL, &acc, ws, 1);
	free(ws);
	fd_stycls_free(&c, NULL);
	return acc;
}

START_TEST(test_stycls_learns)
{
	double a0 = train(0, 1), a1 = train(8, 1), n0 = train(0, 0);

	fprintf(stderr, "stycls: accuracy linear %.3f, hidden %.3f, uninformative %.3f\n", a0, a1,
		n0);
	ck_assert_msg(a0 > 0.9 && a1 > 0.9, "linear %g hidden %g", a0, a1);
	/* 4 classes, 4 noise columns, 200 rows: a linear fit reads little */
	ck_assert_msg(n0 < 0.5, "uninformative %g", n0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stycls");
	TCase *tc = tcase_create("stycls");

	tcase_add_test(tc, test_stycls_grad_linear);
	tcase_add_test(tc, test_stycls_grad_hidden);
	tcase_add_test(tc, test_stycls_learns);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
