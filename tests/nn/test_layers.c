/* Finite-difference gradient checks of every layer type on a batch:
 * dense with and without bias, batch norm in training mode (plain, and
 * fused with an activation and a dropout mask), inverted dropout with a
 * fixed mask, and each activation (with its fused bias). See fdcheck.h for
 * the loss and the tolerance. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "kernels/rng.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "../testutil.h"

#define NB 6 /* batch rows */
#define EPS 2e-2f

static void fill(struct fd_rng *r, float *x, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * fd_rng_uniform(r);
}

/* ---- dense ---- */
struct dense_ctx {
	int n, in, out, bias;
	float X[NB * 5], W[5 * 4], b[4], H[NB * 4], dY0[NB * 4];
};

static double dense_loss(void *p)
{
	struct dense_ctx *c = p;

	fd_dense_forward(c->X, c->n, c->in, c->out, c->W, c->bias ? c->b : NULL,
			 FD_ACT_LINEAR, 0.0f, NULL, c->H, NULL, 1);
	return fdc_dot(c->dY0, c->H, (size_t)c->n * c->out);
}

START_TEST(test_dense)
{
	struct dense_ctx c = { .n = NB, .in = 5, .out = 4, .bias = _i };
	float dW[20] = { 0 }, db[4] = { 0 }, dX[NB * 5];
	struct fd_rng r;

	fd_rng_seed(&r, 100 + _i);
	fill(&r, c.X, sizeof c.X / 4, -1, 1);
	fill(&r, c.W, sizeof c.W / 4, -1, 1);
	fill(&r, c.b, 4, -1, 1);
	fill(&r, c.dY0, sizeof c.dY0 / 4, -1, 1);
	/* dW += X^T dY0, db += colsum dY0, dX = dY0 W^T */
	fd_dense_backward(c.X, c.dY0, c.n, c.in, c.out, c.W, dW, c.bias ? db : NULL, dX, 1);
	fdc_check(dense_loss, &c, c.X, dX, sizeof c.X / 4, EPS, 0, _i ? "dense+bias dX" : "dense dX");
	fdc_check(dense_loss, &c, c.W, dW, sizeof c.W / 4, EPS, 0, _i ? "dense+bias dW" : "dense dW");
	if (c.bias)
		fdc_check(dense_loss, &c, c.b, db, 4, EPS, 0, "dense+bias db");
	else
		for (int j = 0; j < 4; j++)
			ck_assert_float_eq(db[j], 0.0f); /* db NULL: untouched */
}
END_TEST

/* ---- batch norm, training mode ---- */
#define BW 5
struct bn_ctx {
	int act, use_mask;
	float H[NB * BW], h[NB * BW], gamma[BW], beta[BW], mean[BW], inv[BW];
	float a[NB * BW], y[NB * BW], mask[NB * BW], dY0[NB * BW];
};

static double bn_loss(void *p)
{
	struct bn_ctx *c = p;

	memcpy(c->h, c->H, sizeof c->h); /* forward overwrites h with xhat */
	fd_bn_forward_train(c->h, NB, BW, c->gamma, c->beta, 1e-3f, 0.9f, NULL, NULL,
			    c->mean, c->inv, c->act, 0.1f, c->use_mask ? c->mask : NULL,
			    c->a, c->y);
	return fdc_dot(c->dY0, c->use_mask ? c->y : c->a, NB * BW);
}

START_TEST(test_batchnorm)
{
	/* _i = 0: linear, no mask; 1: tanh with a dropout mask; 2: sigmoid */
	static const int acts[3] = { FD_ACT_LINEAR, FD_ACT_TANH, FD_ACT_SIGMOID };
	static const char *names[3][3] = {
		{ "bn dH", "bn dgamma", "bn dbeta" },
		{ "bn+tanh+drop dH", "bn+tanh+drop dgamma", "bn+tanh+drop dbeta" },
		{ "bn+sigmoid dH", "bn+sigmoid dgamma", "bn+sigmoid dbeta" },
	};
	struct bn_ctx c = { .act = acts[_i], .use_mask = _i == 1 };
	float dH[NB * BW], dg[BW] = { 0 }, dbeta[BW] = { 0 }, scr[2 * BW];
	struct fd_rng r;

	fd_rng_seed(&r, 200 + _i);
	fill(&r, c.H, NB * BW, -2, 2);
	fill(&r, c.gamma, BW, 0.5f, 1.5f);
	fill(&r, c.beta, BW, -0.5f, 0.5f);
	fill(&r, c.dY0, NB * BW, -1, 1);
	fd_dropout_mask(&r, 0.3f, c.mask, NB * BW);
	bn_loss(&c);
	fd_bn_backward(c.h, c.a, c.dY0, c.use_mask ? c.mask : NULL, NB, BW, c.gamma, c.inv,
		       c.act, 0.1f, dg, dbeta, dH, scr);
	fdc_check(bn_loss, &c, c.H, dH, NB * BW, EPS, 0, names[_i][0]);
	fdc_check(bn_loss, &c, c.gamma, dg, BW, EPS, 0, names[_i][1]);
	fdc_check(bn_loss, &c, c.beta, dbeta, BW, EPS, 0, names[_i][2]);
}
END_TEST

/* ---- dropout with a fixed mask (same seed every forward) ---- */
struct drop_ctx {
	float x[NB * 7], y[NB * 7], mask[NB * 7], dY0[NB * 7];
};

static double drop_loss(void *p)
{
	struct drop_ctx *c = p;
	struct fd_rng r;

	fd_rng_seed(&r, 77);
	fd_dropout_forward(&r, 0.4f, c->x, c->mask, c->y, NB * 7);
	return fdc_dot(c->dY0, c->y, NB * 7);
}

START_TEST(test_dropout)
{
	struct drop_ctx c;
	float dx[NB * 7];
	struct fd_rng r;
	int zeros = 0;

	fd_rng_seed(&r, 300);
	fill(&r, c.x, NB * 7, -1, 1);
	fill(&r, c.dY0, NB * 7, -1, 1);
	drop_loss(&c);
	fd_dropout_backward(c.mask, c.dY0, dx, NB * 7);
	for (int i = 0; i < NB * 7; i++)
		zeros += c.mask[i] == 0.0f;
	ck_assert_int_gt(zeros, 0); /* the mask really drops something */
	fdc_check(drop_loss, &c, c.x, dx, NB * 7, EPS, 0, "dropout dX");
}
END_TEST

/* ---- activations, with the fused bias ---- */
#define AW 4
struct act_ctx {
	int act;
	float x[NB * AW], b[AW], buf[NB * AW], dY0[NB * AW];
};

static double act_loss(void *p)
{
	struct act_ctx *c = p;

	memcpy(c->buf, c->x, sizeof c->buf);
	fd_act_forward(c->act, 0.1f, c->buf, c->b, NULL, NULL, NB, AW);
	return fdc_dot(c->dY0, c->buf, NB * AW);
}

START_TEST(test_activation)
{
	static const char *names[4][2] = {
		{ "linear dX", "linear db" },
		{ "leaky dX", "leaky db" },
		{ "sigmoid dX", "sigmoid db" },
		{ "tanh dX", "tanh db" },
	};
	struct act_ctx c = { .act = _i };
	float dx[NB * AW], db[AW] = { 0 };
	struct fd_rng r;

	fd_rng_seed(&r, 400 + _i);
	fill(&r, c.x, NB * AW, -2, 2);
	fill(&r, c.b, AW, -0.3f, 0.3f);
	/* keep x + b at least 5 eps away from the leaky kink at 0 */
	for (int i = 0; i < NB * AW; i++) {
		float v = c.x[i] + c.b[i % AW];
		if (fabsf(v) < 0.05f)
			c.x[i] += v < 0 ? -0.1f : 0.1f;
	}
	fill(&r, c.dY0, NB * AW, -1, 1);
	act_loss(&c);
	/* dx = dY0 act'(y), db += colsum dx */
	fd_act_backward(c.act, 0.1f, c.buf, c.dY0, NULL, dx, db, NB, AW);
	fdc_check(act_loss, &c, c.x, dx, NB * AW, EPS, 0, names[_i][0]);
	fdc_check(act_loss, &c, c.b, db, AW, EPS, 0, names[_i][1]);
}
END_TEST

START_TEST(test_act_values)
{
	/* spot values of each activation */
	ck_assert_float_eq_tol(fd_act_f(FD_ACT_LEAKY, -2.0f, 0.01f), -0.02f, 1e-7f);
	ck_assert_float_eq(fd_act_f(FD_ACT_LEAKY, 3.0f, 0.01f), 3.0f);
	ck_assert_float_eq_tol(fd_act_f(FD_ACT_SIGMOID, 0.0f, 0.0f), 0.5f, 1e-7f);
	ck_assert_float_eq_tol(fd_act_f(FD_ACT_SIGMOID, 2.0f, 0.0f), 0.880797f, 1e-6f);
	ck_assert_float_eq_tol(fd_act_f(FD_ACT_TANH, 1.0f, 0.0f), 0.761594f, 1e-6f);
	ck_assert_float_eq(fd_act_f(FD_ACT_LINEAR, -1.5f, 0.3f), -1.5f);
	ck_assert_int_eq(fd_act_valid(FD_ACT_TANH), 1);
	ck_assert_int_eq(fd_act_valid(4), 0);
	ck_assert_int_eq(fd_act_valid(-1), 0);
}
END_TEST

static Suite *layers_suite(void)
{
	Suite *s = suite_create("layers");
	TCase *tc = tcase_create("fd");

	tcase_add_loop_test(tc, test_dense, 0, 2);
	tcase_add_loop_test(tc, test_batchnorm, 0, 3);
	tcase_add_test(tc, test_dropout);
	tcase_add_loop_test(tc, test_activation, 0, 4);
	tcase_add_test(tc, test_act_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(layers_suite(), 0);
}
