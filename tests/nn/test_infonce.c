/* The InfoNCE loss (nn/infonce.h) and the random affine warp (nn/warp.h):
 * the loss against a double-precision evaluation written out from the
 * definition, its gradient against finite differences, its limits (aligned
 * pairs far from the negatives cost ~0, identical rows cost log(2n - 1));
 * the warp against exact moves (identity, whole-pixel shift, quarter turn)
 * and its draws against their ranges. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "core/alloc.h"
#include "kernels/rng.h"
#include "nn/infonce.h"
#include "nn/warp.h"
#include "../testutil.h"

static float *lib(size_t n)
{
	float *p = fd_malloc(NULL, n * sizeof(float));

	ck_assert_ptr_nonnull(p);
	return p;
}

/* The loss straight from its definition, in double. */
static double nce_ref(const float *h, int n2, int d, double tau)
{
	double L = 0;
	int n = n2 / 2;

	for (int i = 0; i < n2; i++) {
		double ni = 0, z = 0, pos = 0;

		for (int k = 0; k < d; k++)
			ni += (double)h[i * d + k] * h[i * d + k];
		for (int j = 0; j < n2; j++) {
			double nj = 0, dot = 0, s;

			if (j == i)
				continue;
			for (int k = 0; k < d; k++) {
				nj += (double)h[j * d + k] * h[j * d + k];
				dot += (double)h[i * d + k] * h[j * d + k];
			}
			s = dot / sqrt(ni * nj) / tau;
			z += exp(s);
			if (j == (i < n ? i + n : i - n))
				pos = s;
		}
		L += log(z) - pos;
	}
	return L / n2;
}

struct nce_ctx {
	float *h, *ws;
	int n2, d;
	float tau, scale;
};

static double nce_loss(void *v)
{
	struct nce_ctx *c = v;

	return c->scale * fd_infonce(c->h, c->n2, c->d, c->tau, 1.0f, NULL, c->ws, 1);
}

START_TEST(test_infonce_matches_definition)
{
	const int n2 = 12, d = 7;
	float *h = lib(n2 * d), *ws = lib(fd_infonce_ws(n2, d));
	struct fd_rng r;

	fd_rng_seed(&r, 11);
	fd_rng_fill_normal(&r, h, n2 * d, 1.0f);
	for (int t = 0; t < 3; t++) {
		float tau = t == 0 ? 0.1f : t == 1 ? 0.5f
						   : 2.0f;
		double got = fd_infonce(h, n2, d, tau, 1.0f, NULL, ws, 1), want = nce_ref(h, n2, d, tau);

		ck_assert_msg(fabs(got - want) <= 1e-4 * fmax(1, fabs(want)),
			      "tau %g: %.7f, definition %.7f", tau, got, want);
	}
	fd_free(NULL, h);
	fd_free(NULL, ws);
}
END_TEST

START_TEST(test_infonce_gradient)
{
	const int n2 = 10, d = 6;
	struct nce_ctx c = { lib(n2 * d), lib(fd_infonce_ws(n2, d)), n2, d, 0.3f, 0.7f };
	float *dh = lib(n2 * d);
	struct fd_rng r;

	fd_rng_seed(&r, 5);
	fd_rng_fill_normal(&r, c.h, n2 * d, 1.0f);
	for (int i = 0; i < n2 / 2 * d; i++) /* positives correlated, as in training */
		c.h[n2 / 2 * d + i] = 0.6f * c.h[i] + 0.4f * c.h[n2 / 2 * d + i];
	fd_infonce(c.h, n2, d, c.tau, c.scale, dh, c.ws, 1);
	fdc_check(nce_loss, &c, c.h, dh, (size_t)n2 * d, 2e-2f, 0, "infonce dL/dh");
	fd_free(NULL, c.h);
	fd_free(NULL, c.ws);
	fd_free(NULL, dh);
}
END_TEST

START_TEST(test_infonce_limits)
{
	const int n = 4, n2 = 8, d = 8;
	float *h = lib(n2 * d), *ws = lib(fd_infonce_ws(n2, d)), *dh = lib(n2 * d);
	double L;

	/* views of input i along axis i, scaled: positives aligned, negatives
	 * orthogonal; at tau 0.05 the loss is log(1 + (2n - 2) e^-20) ~ 0 */
	memset(h, 0, n2 * d * sizeof(float));
	for (int i = 0; i < n; i++) {
		h[i * d + i] = 1.0f + i;
		h[(i + n) * d + i] = 3.0f;
	}
	L = fd_infonce(h, n2, d, 0.05f, 1.0f, dh, ws, 1);
	ck_assert_double_lt(L, 1e-6);
	for (int i = 0; i < n2 * d; i++)
		ck_assert_float_lt(fabsf(dh[i]), 1e-5f);
	/* all rows alike: every other row is as near as the positive */
	for (int i = 0; i < n2 * d; i++)
		h[i] = (float)(i % d) - 2.5f;
	L = fd_infonce(h, n2, d, 0.2f, 1.0f, NULL, ws, 1);
	ck_assert_double_lt(fabs(L - log(2.0 * n - 1)), 1e-4);
	fd_free(NULL, h);
	fd_free(NULL, ws);
	fd_free(NULL, dh);
}
END_TEST

START_TEST(test_warp_exact_moves)
{
	const int H = 6, W = 6, C = 2;
	float X[6 * 6 * 2], Y[6 * 6 * 2];

	for (int i = 0; i < H * W * C; i++)
		X[i] = (float)(i * 7 % 13) + 0.25f * (i % C);
	/* identity */
	fd_warp_one(X, H, W, C, 0, 1, 0, 0, Y);
	for (int i = 0; i < H * W * C; i++)
		ck_assert_float_eq_tol(Y[i], X[i], 1e-6f);
	/* shift (tx, ty) = (1, -2): output (y, x) reads input (y - 2, x + 1) */
	fd_warp_one(X, H, W, C, 0, 1, 1, -2, Y);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int k = 0; k < C; k++) {
				int sy = y - 2, sx = x + 1;
				float want = sy >= 0 && sy < H && sx >= 0 && sx < W ? X[(sy * W + sx) * C + k] : 0.0f;
				ck_assert_float_eq_tol(Y[(y * W + x) * C + k], want, 1e-5f);
			}
	/* +90 degrees: output (y, x) reads input (u, v) = R (x', y'), i.e.
	 * u' = -y', v' = x': column W - 1 - y, row x */
	fd_warp_one(X, H, W, C, 90, 1, 0, 0, Y);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int k = 0; k < C; k++)
				ck_assert_float_eq_tol(Y[(y * W + x) * C + k],
						       X[(x * W + (W - 1 - y)) * C + k], 1e-4f);
	/* half-pixel shift: the mean of two neighbours */
	fd_warp_one(X, H, W, C, 0, 1, 0.5f, 0, Y);
	for (int y = 0; y < H; y++)
		for (int x = 0; x + 1 < W; x++)
			ck_assert_float_eq_tol(Y[(y * W + x) * C],
					       0.5f * (X[(y * W + x) * C] + X[(y * W + x + 1) * C]),
					       1e-5f);
}
END_TEST

START_TEST(test_warp_batch_draws)
{
	/* one bright pixel at the centre of a 21 x 21 image: wherever the warp
	 * moves it, the mass stays within shift + rotation/scale of it, and
	 * the draws differ from image to image and follow the seed */
	enum { N = 64,
	       S = 21 };
	float *X = calloc(N * S * S, sizeof(float)), *Y = calloc(N * S * S, sizeof(float));
	float *Y2 = calloc(N * S * S, sizeof(float));
	struct fd_warp cfg = { 10.0f, 0.1f, 2.0f };
	struct fd_rng r;
	int moved = 0;

	for (int i = 0; i < N; i++)
		X[i * S * S + 10 * S + 10] = 1.0f;
	fd_rng_seed(&r, 3);
	fd_warp_batch(X, N, S, S, 1, &cfg, &r, Y);
	fd_rng_seed(&r, 3);
	fd_warp_batch(X, N, S, S, 1, &cfg, &r, Y2);
	ck_assert_int_eq(memcmp(Y, Y2, N * S * S * sizeof(float)), 0);
	for (int i = 0; i < N; i++) {
		double m = 0, mx = 0, my = 0;

		for (int y = 0; y < S; y++)
			for (int x = 0; x < S; x++) {
				double v = Y[(i * S + y) * S + x];
				m += v;
				mx += v * x;
				my += v * y;
			}
		if (m == 0)
			continue; /* the pixel fell between samples of a shrink */
		mx /= m;
		my /= m;
		/* centre pixel moves by the shift alone, up to 2 px each way */
		ck_assert_double_le(fabs(mx - 10), 2.6);
		ck_assert_double_le(fabs(my - 10), 2.6);
		if (fabs(mx - 10) > 0.05 || fabs(my - 10) > 0.05)
			moved++;
	}
	ck_assert_int_gt(moved, N / 2);
	free(X);
	free(Y);
	free(Y2);
}
END_TEST

static Suite *infonce_suite(void)
{
	Suite *s = suite_create("infonce");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_infonce_matches_definition);
	tcase_add_test(tc, test_infonce_gradient);
	tcase_add_test(tc, test_infonce_limits);
	tcase_add_test(tc, test_warp_exact_moves);
	tcase_add_test(tc, test_warp_batch_draws);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(infonce_suite(), 0);
}
