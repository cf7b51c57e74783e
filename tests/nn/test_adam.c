/* Adam against values computed by hand from the update rule
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "nn/adam.h"
#include "../testutil.h"

START_TEST(test_adam_hand_values)
{
	/* lr 0.1, b1 0.9, b2 0.999, eps 1e-8, w = (1, -0.5), gradients
	 * (0.5, -2), (-1, 0.25), (0.3, 0). Step 1 by hand: m = 0.05,
	 * v = 0.00025, mhat = 0.5, vhat = 0.25, w = 1 - 0.1 * 0.5 / 0.5 = 0.9. */
	static const float g[3][2] = { { 0.5f, -2.0f }, { -1.0f, 0.25f }, { 0.3f, 0.0f } };
	static const double w_exp[3][2] = {
		{ 0.900000002, -0.400000001 },
		{ 0.936610354, -0.342746543 },
		{ 0.947377474, -0.298489455 },
	};
	static const double m_exp[3][2] = { { 0.05, -0.2 }, { -0.055, -0.155 }, { -0.0195, -0.1395 } };
	static const double v_exp[3][2] = {
		{ 0.00025, 0.004 },
		{ 0.00124975, 0.0040585 },
		{ 0.00133850025, 0.0040544415 },
	};
	float w[2] = { 1.0f, -0.5f }, gr[2], m[2] = { 0, 0 }, v[2] = { 0, 0 };
	struct fd_param p = { .w = w, .g = gr, .m = m, .v = v, .n = 2, .name = "t" };
	struct fd_adam opt = { 0.1f, 0.9f, 0.999f, 1e-8f };

	for (int t = 0; t < 3; t++) {
		gr[0] = g[t][0];
		gr[1] = g[t][1];
		fd_adam_update(&opt, &p, (uint64_t)t + 1);
		for (int i = 0; i < 2; i++) {
			ck_assert_double_le(fabs(w[i] - w_exp[t][i]), 2e-6);
			/* float32 holds 1 - 0.999f only to 1.3e-5 relative, so v is
			 * compared relatively */
			ck_assert_double_le(fabs(m[i] - m_exp[t][i]), 1e-7);
			ck_assert_double_le(fabs(v[i] - v_exp[t][i]), 5e-5 * v_exp[t][i] + 1e-12);
		}
		/* the gradient is left as it is */
		ck_assert_float_eq(gr[0], g[t][0]);
		ck_assert_float_eq(gr[1], g[t][1]);
	}
}
END_TEST

START_TEST(test_adam_first_step_is_lr_sign)
{
	/* with bias correction, step 1 moves each weight by lr * sign(g)
	 * (up to eps), whatever the gradient's scale */
	float w[4] = { 0, 0, 0, 0 }, g[4] = { 1e-3f, -50.0f, 7.0f, -1e-2f }, m[4] = { 0 }, v[4] = { 0 };
	struct fd_param p = { .w = w, .g = g, .m = m, .v = v, .n = 4, .name = "t" };
	struct fd_adam opt = { 1e-4f, 0.5f, 0.999f, 1e-8f };

	fd_adam_update(&opt, &p, 1);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq_tol(w[i], g[i] > 0 ? -1e-4f : 1e-4f, 1e-8f);
}
END_TEST

START_TEST(test_adam_long_vector)
{
	/* a vectorised length with a tail: every element follows the rule */
	enum { N = 1027 };
	float *w = malloc(N * 4), *g = malloc(N * 4), *m = calloc(N, 4), *v = calloc(N, 4);
	struct fd_param p = { .w = w, .g = g, .m = m, .v = v, .n = N, .name = "t" };
	struct fd_adam opt = { 0.01f, 0.9f, 0.99f, 1e-6f };

	for (int i = 0; i < N; i++) {
		w[i] = (float)i;
		g[i] = (float)((i % 7) - 3);
	}
	fd_adam_update(&opt, &p, 1);
	for (int i = 0; i < N; i++) {
		double gi = (i % 7) - 3;
		double mh = gi, vh = gi * gi; /* bias-corrected, step 1 */
		double we = i - 0.01 * mh / (sqrt(vh) + 1e-6);
		ck_assert_double_le(fabs(w[i] - we), 1e-4 * (1 + i) * 1e-3 + 1e-6);
	}
	free(w);
	free(g);
	free(m);
	free(v);
}
END_TEST

static Suite *adam_suite(void)
{
	Suite *s = suite_create("adam");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_adam_hand_values);
	tcase_add_test(tc, test_adam_first_step_is_lr_sign);
	tcase_add_test(tc, test_adam_long_vector);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(adam_suite(), 0);
}
