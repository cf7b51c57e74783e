/* The affine-coupling flow disentangler: exact inverse, training forward ==
 * evaluation forward, and finite-difference gradients for inputs and every
 * parameter. Tolerances: the inverse is closed form, so float32 rounding
 * through 6 layers stays below 1e-5 relative; gradients use central
 * differences with h = 1e-2 evaluated in float32 (loss ~ O(10)), so the
 * truncation plus rounding error is ~1e-3 relative: 2e-2 leaves margin
 * without hiding a wrong formula (a sign or factor error gives O(1)).
 * The coupling nets use leaky slope 1 here: their kinks would make central
 * differences wrong where a row crosses zero, and the MLP itself has its own
 * gradient checks in tests/nn; what is checked here is the coupling math. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/flow.h"
#include "../testutil.h"

#define DIM 7
#define N 5

static struct fd_flow *make_flow(int layers)
{
	struct fd_flow_cfg cfg = { DIM, layers, 16, 2, 2.0f, 1.0f, FD_INIT_GLOROT_NORMAL, 0.1f, 1 };
	struct fd_rng rng;
	struct fd_flow *f = NULL;
	struct fd_err err;
	int i;
	size_t j;

	fd_rng_seed(&rng, 7);
	ck_assert_int_eq(fd_flow_new(&cfg, NULL, &rng, &err, &f), FDEN_OK);
	/* move off the identity start so s and t are not zero */
	for (i = 0; i < fd_flow_nparams(f); i++) {
		struct fd_param *p = fd_flow_param(f, i);

		for (j = 0; j < p->n; j++)
			p->w[j] += 0.05f * fd_rng_normal(&rng);
	}
	ck_assert_int_eq(fd_flow_reserve(f, N, &err), FDEN_OK);
	return f;
}

static void fill(float *x, size_t n, uint64_t seed)
{
	struct fd_rng r;
	size_t i;

	fd_rng_seed(&r, seed);
	for (i = 0; i < n; i++)
		x[i] = fd_rng_normal(&r);
}

START_TEST(test_inverse_exact)
{
	struct fd_flow *f = make_flow(6);
	float x[N * DIM], y[N * DIM], back[N * DIM];
	float *ws = malloc(fd_flow_ws(f, N) * sizeof(float));
	const float *yt;
	double maxerr = 0, maxdiff = 0;
	int i;

	fill(x, N * DIM, 11);
	fd_flow_infer(f, x, N, y, ws);
	fd_flow_inverse(f, y, N, back, ws);
	yt = fd_flow_forward(f, x, N);
	for (i = 0; i < N * DIM; i++) {
		maxerr = fmax(maxerr, fabs(back[i] - x[i]));
		maxdiff = fmax(maxdiff, fabs(yt[i] - y[i]));
	}
	fprintf(stderr, "flow: inverse max error %.3g, train/eval max diff %.3g\n", maxerr, maxdiff);
	ck_assert(maxerr < 1e-5);
	ck_assert(maxdiff < 1e-6);
	/* not the identity: the test would pass trivially otherwise */
	ck_assert(fabs(y[0] - x[0]) + fabs(y[3] - x[3]) > 1e-3);
	free(ws);
	fd_flow_free(f);
}
END_TEST

/* weight of the log-determinant in loss() (0 or the test's choice) */
static float ld_weight;

/* sum dy0 . Y + w log|det| */
static double loss(struct fd_flow *f, const float *x, const float *dy0)
{
	const float *y = fd_flow_forward(f, x, N);
	double l = ld_weight * fd_flow_logdet(f);
	int i;

	for (i = 0; i < N * DIM; i++)
		l += (double)dy0[i] * y[i];
	return l;
}

/* log|det| of a DIM x DIM matrix (row-major, destroyed) by partial pivoting */
static double logabsdet(double *a)
{
	double ld = 0;

	for (int c = 0; c < DIM; c++) {
		int p = c;
		for (int r = c + 1; r < DIM; r++)
			if (fabs(a[r * DIM + c]) > fabs(a[p * DIM + c]))
				p = r;
		for (int k = 0; k < DIM; k++) {
			double t = a[c * DIM + k];
			a[c * DIM + k] = a[p * DIM + k];
			a[p * DIM + k] = t;
		}
		ld += log(fabs(a[c * DIM + c]));
		for (int r = c + 1; r < DIM; r++) {
			double q = a[r * DIM + c] / a[c * DIM + c];
			for (int k = c; k < DIM; k++)
				a[r * DIM + k] -= q * a[c * DIM + k];
		}
	}
	return ld;
}

/* fd_flow_logdet against log|det J| of a finite-difference Jacobian, row by
 * row; and, summed, over a batch. */
START_TEST(test_logdet)
{
	struct fd_flow *f = make_flow(6);
	float x[N * DIM];
	double J[DIM * DIM], total = 0, worst = 0;
	const float h = 1e-2f;

	fill(x, N * DIM, 21);
	for (int i = 0; i < N; i++) {
		float *xr = x + i * DIM;
		double ld;

		for (int c = 0; c < DIM; c++) {
			float keep = xr[c], yp[DIM];
			const float *y;

			xr[c] = keep + h;
			y = fd_flow_forward(f, xr, 1);
			memcpy(yp, y, sizeof yp);
			xr[c] = keep - h;
			y = fd_flow_forward(f, xr, 1);
			xr[c] = keep;
			for (int r = 0; r < DIM; r++)
				J[r * DIM + c] = ((double)yp[r] - y[r]) / (2 * h); /* dy_r / dx_c */
		}
		fd_flow_forward(f, xr, 1);
		ld = fd_flow_logdet(f);
		total += ld;
		worst = fmax(worst, fabs(ld - logabsdet(J)));
	}
	fprintf(stderr, "flow: log-det worst error %.3g\n", worst);
	ck_assert_msg(worst < 1e-2, "log-det off by %g", worst);
	fd_flow_forward(f, x, N);
	ck_assert_double_eq_tol(fd_flow_logdet(f), total, 1e-4);
	ck_assert(fabs(total) > 0.1); /* not a volume-preserving start */
	fd_flow_free(f);
}
END_TEST

static void check_gradients(float w)
{
	struct fd_flow *f = make_flow(3);
	float x[N * DIM], dy0[N * DIM], dx[N * DIM];
	const float h = 1e-2f;
	double worst = 0;
	int i, k;
	size_t j;

	fill(x, N * DIM, 3);
	fill(dy0, N * DIM, 4);
	fd_flow_zero_grad(f);
	fd_flow_forward(f, x, N);
	fd_flow_backward(f, dy0, dx, ld_weight);
	for (i = 0; i < N * DIM; i++) {
		float keep = x[i];
		double num, err;

		x[i] = keep + h;
		num = loss(f, x, dy0);
		x[i] = keep - h;
		num = (num - loss(f, x, dy0)) / (2 * h);
		x[i] = keep;
		err = fabs(num - dx[i]) / fmax(1.0, fabs(num));
		worst = fmax(worst, err);
		ck_assert_msg(err < 2e-2, "dX[%d]: analytic %g numeric %g", i, dx[i], num);
	}
	for (k = 0; k < fd_flow_nparams(f); k++) {
		struct fd_param *p = fd_flow_param(f, k);

		for (j = 0; j < p->n; j += 1 + p->n / 40) {
			float keep = p->w[j];
			double num, err;

			p->w[j] = keep + h;
			num = loss(f, x, dy0);
			p->w[j] = keep - h;
			num = (num - loss(f, x, dy0)) / (2 * h);
			p->w[j] = keep;
			err = fabs(num - p->g[j]) / fmax(1.0, fabs(num));
			worst = fmax(worst, err);
			ck_assert_msg(err < 2e-2, "%s[%zu]: analytic %g numeric %g", p->name, j,
				      p->g[j], num);
		}
	}
	fprintf(stderr, "flow: log-det weight %g: worst gradient relative error %.3g\n", (double)w,
		worst);
	fd_flow_free(f);
}

START_TEST(test_gradients)
{
	ld_weight = 0;
	check_gradients(0);
}
END_TEST

/* with the log-determinant in the loss (the density term's gradient path) */
START_TEST(test_gradients_logdet)
{
	ld_weight = -1.7f;
	check_gradients(ld_weight);
	ld_weight = 0;
}
END_TEST

/* what fd_flow_backward_two's hook saw: each tensor's two gradients */
struct two_seen {
	struct fd_flow *f;
	float *g[2][64];
	int calls;
};

static void two_hook(void *ctx, struct fd_param *p, float *g, float *g2)
{
	struct two_seen *t = ctx;
	int k = 0;

	while (fd_flow_param(t->f, k) != p)
		k++;
	memcpy(t->g[0][k], g, p->n * sizeof *g);
	memcpy(t->g[1][k], g2, p->n * sizeof *g2);
	t->calls++;
}

/* Two output gradients at once give each pass's parameter and input
 * gradients, the log-det term on the first only; without dX the same
 * parameter gradients. */
START_TEST(test_backward_two)
{
	struct fd_flow *f = make_flow(3);
	struct two_seen seen = { .f = f };
	float x[N * DIM], dy[2 * N * DIM], dx[2 * N * DIM], *g[2][64];
	float *tmp = fd_malloc(NULL, 2 * fd_flow_hook_ws(f) * sizeof(float));
	float *dy2 = fd_malloc(NULL, sizeof dy), *dx2 = fd_malloc(NULL, sizeof dx);
	int np = fd_flow_nparams(f);

	ck_assert(np <= 64 && tmp && dy2 && dx2);
	fill(x, N * DIM, 3);
	fill(dy, 2 * N * DIM, 4);
	memcpy(dy2, dy, sizeof dy);
	fd_flow_forward(f, x, N);
	for (int h = 0; h < 2; h++) { /* the plain passes, one after the other */
		fd_flow_zero_grad(f);
		fd_flow_backward(f, dy + h * N * DIM, dx + h * N * DIM, h ? 0.0f : -0.3f);
		for (int k = 0; k < np; k++) {
			struct fd_param *p = fd_flow_param(f, k);
			g[h][k] = malloc(p->n * sizeof(float));
			seen.g[h][k] = malloc(p->n * sizeof(float));
			memcpy(g[h][k], p->g, p->n * sizeof(float));
		}
	}
	for (int want_dx = 1; want_dx >= 0; want_dx--) {
		seen.calls = 0;
		ck_assert_int_eq(fd_flow_backward_two(f, dy2, want_dx ? dx2 : NULL, -0.3f, tmp,
						      two_hook, &seen),
				 FDEN_OK);
		ck_assert_int_eq(seen.calls, np);
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < np; k++)
				for (size_t j = 0; j < fd_flow_param(f, k)->n; j++)
					ck_assert_float_eq_tol(seen.g[h][k][j], g[h][k][j],
							       1e-5f * (1.0f + fabsf(g[h][k][j])));
		for (int i = 0; want_dx && i < 2 * N * DIM; i++)
			ck_assert_float_eq_tol(dx2[i], dx[i], 1e-5f * (1.0f + fabsf(dx[i])));
	}
	ck_assert_int_eq(fd_flow_backward_two(f, dy2, dx2, 0.0f, NULL, two_hook, &seen),
			 FDEN_E_INVALID);
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < np; k++) {
			free(g[h][k]);
			free(seen.g[h][k]);
		}
	fd_free(NULL, tmp);
	fd_free(NULL, dy2);
	fd_free(NULL, dx2);
	fd_flow_free(f);
}
END_TEST

START_TEST(test_bad_config)
{
	struct fd_flow_cfg cfg = { 1, 4, 16, 2, 2.0f, 0.01f, 0, 0.1f, 1 };
	struct fd_rng rng;
	struct fd_flow *f = NULL;
	struct fd_err err;

	fd_rng_seed(&rng, 1);
	ck_assert_int_eq(fd_flow_new(&cfg, NULL, &rng, &err, &f), FDEN_E_INVALID);
	ck_assert_ptr_null(f);
	ck_assert(err.msg[0] != '\0');
	fd_flow_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("flow");

	tcase_add_test(tc, test_inverse_exact);
	tcase_add_test(tc, test_gradients);
	tcase_add_test(tc, test_gradients_logdet);
	tcase_add_test(tc, test_logdet);
	tcase_add_test(tc, test_backward_two);
	tcase_add_test(tc, test_bad_config);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
