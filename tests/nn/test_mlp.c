/* The MLP: finite-difference checks of whole 3-layer nets (batch norm,
 * dropout before or after, every activation) w.r.t. the input and every
 * parameter; no allocation after fd_mlp_reserve; reentrant inference from
 * two threads; layout, initialisers, argument checks. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/adam.h"
#include "nn/mlp.h"
#include "../testutil.h"

static struct fd_mlp_cfg base_cfg(const struct fd_layer_spec *l, int nl, int in, int drop_before)
{
	struct fd_mlp_cfg c = {
		.in = in,
		.nlayers = nl,
		.layers = l,
		.leaky_slope = 0.1f,
		.drop_before = drop_before,
		.init = FD_INIT_GLOROT_NORMAL,
		.init_sigma = 0.02f,
		.bn_momentum = 0.99f,
		.bn_eps = 1e-3f,
		.nthreads = 1,
	};
	return c;
}

/* g[p] = a malloc'ed copy of tensor p's gradient, for every tensor of m */
static void grads_copy(struct fd_mlp *m, float **g)
{
	for (int p = 0; p < fd_mlp_nparams(m); p++) {
		struct fd_param *P = fd_mlp_param(m, p);
		g[p] = malloc(P->n * sizeof(float));
		ck_assert_ptr_nonnull(g[p]);
		memcpy(g[p], P->g, P->n * sizeof(float));
	}
}

static struct fd_mlp *make(const struct fd_mlp_cfg *c, uint64_t seed)
{
	struct fd_rng r;
	struct fd_err err;
	struct fd_mlp *m = NULL;

	fd_rng_seed(&r, seed);
	ck_assert_int_eq(fd_mlp_new(c, "net", NULL, &r, &err, &m), FDEN_OK);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* ---- finite differences through the whole net ---- */
#define N 8
#define IN 5
#define OUT 3

struct mlp_ctx {
	struct fd_mlp *m;
	float X[N * IN], dY0[N * OUT];
};

static double mlp_loss(void *p)
{
	struct mlp_ctx *c = p;
	struct fd_rng r;
	const float *Y;

	fd_rng_seed(&r, 55); /* same dropout masks in every forward */
	Y = fd_mlp_forward(c->m, c->X, N, &r, NULL);
	ck_assert_ptr_nonnull(Y);
	return fdc_dot(c->dY0, Y, N * OUT);
}

static void check_net(const struct fd_layer_spec *l, int drop_before, int kinks, const char *tag)
{
	struct fd_mlp_cfg cfg = base_cfg(l, 3, IN, drop_before);
	struct mlp_ctx c;
	struct fd_rng r;
	struct fd_err err;
	float dX[N * IN], *g[16];
	char what[64];
	int np, skipped = 0, total = 0;
	/* nets with leaky ReLU: a shorter step meets fewer kinks (h = 1e-2 met
	 * none here, measured max error 9e-5; see fdcheck.h) */
	float h = kinks ? 1e-2f : 2e-2f;

	c.m = make(&cfg, 1);
	ck_assert_int_eq(fd_mlp_reserve(c.m, N, &err), FDEN_OK);
	fd_rng_seed(&r, 2);
	for (int i = 0; i < N * IN; i++)
		c.X[i] = 2.0f * fd_rng_uniform(&r) - 1.0f;
	for (int i = 0; i < N * OUT; i++)
		c.dY0[i] = 2.0f * fd_rng_uniform(&r) - 1.0f;
	/* analytic gradients of one forward/backward, copied out */
	fd_mlp_zero_grad(c.m);
	mlp_loss(&c);
	fd_mlp_backward(c.m, c.dY0, dX, NULL);
	np = fd_mlp_nparams(c.m);
	ck_assert_int_le(np, 16);
	grads_copy(c.m, g);
	snprintf(what, sizeof what, "%s dX", tag);
	{
		struct fdc_stats s = fdc_check(mlp_loss, &c, c.X, dX, N * IN, h, kinks, what);
		skipped += s.skipped;
		total += N * IN;
	}
	for (int p = 0; p < np; p++) {
		struct fd_param *P = fd_mlp_param(c.m, p);
		struct fdc_stats s;
		snprintf(what, sizeof what, "%s %s", tag, P->name);
		s = fdc_check(mlp_loss, &c, P->w, g[p], P->n, h, kinks, what);
		skipped += s.skipped;
		total += (int)P->n;
		free(g[p]);
	}
	/* kinks are rare: a few percent of coordinates at most */
	ck_assert_msg(skipped * 20 <= total, "%s: %d of %d skipped at kinks", tag, skipped, total);
	fd_mlp_free(c.m);
}

/* The nets checked by finite differences: the paper's shape (BN on the
 * first layer, leaky ReLU, dropout after each hidden layer, linear output
 * with bias), and the authors' code (dropout before each dense layer, no
 * bias) with smooth activations and BN on the output layer. */
static const struct fd_net_case {
	struct fd_layer_spec l[3];
	int drop_before, kinks;
	const char *tag;
} fd_cases[] = {
	{ { { 8, 1, 1, 0.2f, FD_ACT_LEAKY }, { 7, 1, 0, 0.2f, FD_ACT_LEAKY }, { OUT, 1, 0, 0.0f, FD_ACT_LINEAR } }, 0, 1, "mlp(bn,leaky,drop-after)" },
	{ { { 8, 0, 1, 0.2f, FD_ACT_SIGMOID }, { 6, 1, 0, 0.3f, FD_ACT_TANH }, { OUT, 0, 1, 0.1f, FD_ACT_LINEAR } }, 1, 0, "mlp(drop-before,sigm,tanh)" },
};

START_TEST(test_fd_net)
{
	const struct fd_net_case *k = &fd_cases[_i];

	check_net(k->l, k->drop_before, k->kinks, k->tag);
}
END_TEST

START_TEST(test_backward_accumulates)
{
	static const struct fd_layer_spec l[2] = {
		{ 6, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 2, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 4, 0);
	struct fd_mlp *m = make(&cfg, 3);
	struct fd_rng r;
	struct fd_err err;
	float X[10 * 4], dY[10 * 2], *g1[8], dX1[40], dX2[40];
	int np = fd_mlp_nparams(m);

	ck_assert_int_eq(fd_mlp_reserve(m, 10, &err), FDEN_OK);
	fd_rng_seed(&r, 4);
	fd_rng_fill_normal(&r, X, 40, 1.0f);
	fd_rng_fill_normal(&r, dY, 20, 1.0f);
	fd_mlp_zero_grad(m);
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, 10, &r, NULL));
	fd_mlp_backward(m, dY, dX1, NULL);
	grads_copy(m, g1);
	fd_mlp_backward(m, dY, dX2, NULL); /* adds again, writes dX again */
	for (int i = 0; i < 40; i++)
		ck_assert_float_eq(dX1[i], dX2[i]);
	for (int p = 0; p < np; p++) {
		struct fd_param *P = fd_mlp_param(m, p);
		for (size_t i = 0; i < P->n; i++)
			ck_assert_float_eq_tol(P->g[i], 2.0f * g1[p][i], 1e-6f * (1 + fabsf(g1[p][i])));
		free(g1[p]);
	}
	fd_mlp_zero_grad(m);
	for (int p = 0; p < np; p++)
		for (size_t i = 0; i < fd_mlp_param(m, p)->n; i++)
			ck_assert_float_eq(fd_mlp_param(m, p)->g[i], 0.0f);
	fd_mlp_free(m);
}
END_TEST

/* fd_mlp_backward with ldy and add_dx: dY as a column block (ld > out) and dX += give
 * the bits of a contiguous dY and a separate add; with input dropout too */
START_TEST(test_backward_set_ex)
{
	static const struct fd_layer_spec l[2] = {
		{ 6, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 3, 1, 0, 0.3f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 4, _i);
	struct fd_mlp *m = make(&cfg, 5);
	struct fd_rng r;
	struct fd_err err;
	float X[10 * 4], dY[10 * 3], wide[10 * 7], dX1[40], dX2[40], base[40], *g1[8];
	int np = fd_mlp_nparams(m);

	ck_assert_int_eq(fd_mlp_reserve(m, 10, &err), FDEN_OK);
	fd_rng_seed(&r, 6);
	fd_rng_fill_normal(&r, X, 40, 1.0f);
	fd_rng_fill_normal(&r, wide, 70, 1.0f);
	fd_rng_fill_normal(&r, base, 40, 1.0f);
	for (int i = 0; i < 10; i++) /* dY = columns 2..4 of wide */
		memcpy(dY + i * 3, wide + i * 7 + 2, 3 * sizeof(float));
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, 10, &r, NULL));
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX1, &(struct fd_mlp_bwd){ .set = 1 }), FDEN_OK);
	grads_copy(m, g1);
	memcpy(dX2, base, sizeof base);
	ck_assert_int_eq(fd_mlp_backward(m, wide + 2, dX2, &(struct fd_mlp_bwd){ .ldy = 7, .set = 1, .add_dx = 1 }), FDEN_OK);
	for (int i = 0; i < 40; i++)
		ck_assert_float_eq(dX2[i], base[i] + dX1[i]);
	for (int p = 0; p < np; p++) {
		struct fd_param *P = fd_mlp_param(m, p);
		ck_assert_int_eq(memcmp(P->g, g1[p], P->n * 4), 0);
		free(g1[p]);
	}
	ck_assert_int_eq(fd_mlp_backward(m, wide + 2, dX2, &(struct fd_mlp_bwd){ .ldy = 7, .set = 1, .add_dx = 0 }), FDEN_OK);
	ck_assert_int_eq(memcmp(dX2, dX1, sizeof dX1), 0);
	fd_mlp_free(m);
}
END_TEST

/* a two-gradient backward (fd_mlp_bwd.two) == two setting passes (one per half of
 * dY): each tensor's two gradients handed to the hook, and the input
 * gradient of both halves, += with add_dx; with input dropout (_i 1) and
 * without (_i 0), batch norm, bias, a linear last layer. Refused without
 * two-row panels (fd_mlp_reserve_group's two). */
struct two_ctx {
	struct fd_mlp *m;
	float *g1[8], *g2[8];
	int calls;
};

static void two_hook(void *ctx, struct fd_param *p, float *g1, float *g2)
{
	struct two_ctx *c = ctx;
	int k = 0;

	while (fd_mlp_param(c->m, k) != p)
		k++;
	memcpy(c->g1[k], g1, p->n * 4);
	memcpy(c->g2[k], g2, p->n * 4);
	memset(p->g, 0, p->n * 4); /* the hook sets g */
	c->calls++;
}

START_TEST(test_backward_two)
{
	static const struct fd_layer_spec l[3] = {
		{ 6, 0, 1, 0.2f, FD_ACT_LEAKY },
		{ 5, 1, 0, 0.3f, FD_ACT_TANH },
		{ 3, 1, 0, 0.2f, FD_ACT_LINEAR },
	};
	enum { R = 9,
	       I = 4,
	       O = 3 };
	struct fd_mlp_cfg cfg = base_cfg(l, 3, I, _i);
	struct fd_mlp *m = make(&cfg, 12);
	struct fd_rng r;
	struct fd_err err;
	struct two_ctx c = { m, { 0 }, { 0 }, 0 };
	float X[R * I], dY[2 * R * O], dX[2 * R * I], dX1[R * I], dX2[R * I], base[2 * R * I];
	float *ref1[8], *ref2[8], *tmp;
	int np = fd_mlp_nparams(m);

	ck_assert_int_le(np, 8);
	fd_rng_seed(&r, 13);
	fd_rng_fill_normal(&r, X, R * I, 1.0f);
	fd_rng_fill_normal(&r, dY, 2 * R * O, 1.0f);
	fd_rng_fill_normal(&r, base, 2 * R * I, 1.0f);
	tmp = fd_malloc(NULL, 2 * fd_mlp_hook_ws(m) * sizeof(float));
	ck_assert_ptr_nonnull(tmp);
	/* without two-row panels the panels hold R rows: refused */
	ck_assert_int_eq(fd_mlp_reserve(m, R, &err), FDEN_OK);
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, R, &r, NULL));
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX, &(struct fd_mlp_bwd){ .ldy = O, .two = 1, .tmp = tmp, .hook = two_hook, .ctx = &c }),
			 FDEN_E_INVALID);
	ck_assert_int_eq(c.calls, 0);
	ck_assert_int_eq(fd_mlp_reserve_group(&m, (const int[]){ R }, (const int[]){ 1 }, 1, &err),
			 FDEN_OK);
	/* refused: two without scratch, B's gradient without a paired forward */
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX, &(struct fd_mlp_bwd){ .two = 1, .hook = two_hook, .ctx = &c }),
			 FDEN_E_INVALID);
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX, &(struct fd_mlp_bwd){ .dx2 = dX }), FDEN_E_INVALID);
	ck_assert_int_eq(c.calls, 0);
	/* the reference: one forward, two backward passes */
	fd_rng_seed(&r, 14);
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, R, &r, NULL));
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX1, &(struct fd_mlp_bwd){ .set = 1 }), FDEN_OK);
	grads_copy(m, ref1);
	grads_copy(m, c.g1); /* sized as the tensors; the hook overwrites them */
	grads_copy(m, c.g2);
	ck_assert_int_eq(fd_mlp_backward(m, dY + R * O, dX2, &(struct fd_mlp_bwd){ .set = 1 }), FDEN_OK);
	grads_copy(m, ref2);
	/* both at once, the same forward (same masks) */
	fd_rng_seed(&r, 14);
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, R, &r, NULL));
	memcpy(dX, base, sizeof dX);
	ck_assert_int_eq(fd_mlp_backward(m, dY, dX, &(struct fd_mlp_bwd){ .ldy = O, .add_dx = 1, .two = 1, .tmp = tmp, .hook = two_hook, .ctx = &c }),
			 FDEN_OK);
	ck_assert_int_eq(c.calls, np);
	for (int p = 0; p < np; p++) { /* the same products, each on its half: the same bits */
		struct fd_param *P = fd_mlp_param(m, p);
		ck_assert_int_eq(memcmp(c.g1[p], ref1[p], P->n * 4), 0);
		ck_assert_int_eq(memcmp(c.g2[p], ref2[p], P->n * 4), 0);
	}
	for (int k = 0; k < R * I; k++) { /* one 2R-row product: tolerance */
		ck_assert_float_eq_tol(dX[k], base[k] + dX1[k], 1e-5f * (1 + fabsf(dX1[k])));
		ck_assert_float_eq_tol(dX[R * I + k], base[R * I + k] + dX2[k],
				       1e-5f * (1 + fabsf(dX2[k])));
	}
	for (int p = 0; p < np; p++) {
		free(ref1[p]);
		free(ref2[p]);
		free(c.g1[p]);
		free(c.g2[p]);
	}
	fd_free(NULL, tmp);
	fd_mlp_free(m);
}
END_TEST

/* a paired forward and its backward (fd_mlp_fwd.pair_b: MINE's joint and shuffled
 * rows, never built): the same output as fd_mlp_forward on the built 2n
 * rows, the same parameter gradients as a setting backward on them, input
 * gradients summed over the two halves (through the shuffle for B), and a
 * finite-difference check of dA, dB and every parameter. The first layer
 * has batch norm (its statistics span all 2n rows) and dropout after it. */
#define PN 6
#define PIA 3
#define PIB 4
#define POUT 2

struct pair_ctx {
	struct fd_mlp *m;
	float *A, *B, dY0[2 * PN * POUT];
	int32_t perm[PN];
};

static double pair_loss(void *p)
{
	struct pair_ctx *c = p;
	struct fd_rng r;
	const float *Y;

	fd_rng_seed(&r, 77); /* the same dropout in every forward */
	Y = fd_mlp_forward(c->m, c->A, PN, &r, &(struct fd_mlp_fwd){ .pair_b = c->B, .pair_ia = PIA, .pair_perm = c->perm });
	ck_assert_ptr_nonnull(Y);
	return fdc_dot(c->dY0, Y, 2 * PN * POUT);
}

START_TEST(test_forward_pair)
{
	static const struct fd_layer_spec l[3] = {
		{ 7, 0, 1, 0.2f, FD_ACT_LEAKY },
		{ 5, 1, 0, 0.2f, FD_ACT_TANH },
		{ POUT, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 3, PIA + PIB, 0);
	struct pair_ctx c;
	struct fd_mlp *m = make(&cfg, 9);
	struct fd_rng r;
	struct fd_err err;
	float X[2 * PN * (PIA + PIB)], Y1[2 * PN * POUT], dX[2 * PN * (PIA + PIB)];
	float dA[PN * PIA], dB[PN * PIB], *g1[8];
	const float *Y;
	int np = fd_mlp_nparams(m), W = PIA + PIB;
	struct fd_mlp_fwd pair;

	c.m = m;
	c.A = fd_malloc(NULL, sizeof(float) * PN * PIA); /* library memory, as the step's */
	c.B = fd_malloc(NULL, sizeof(float) * PN * PIB);
	ck_assert(c.A && c.B);
	ck_assert_int_eq(fd_mlp_reserve(m, 2 * PN, &err), FDEN_OK);
	fd_rng_seed(&r, 10);
	fd_rng_fill_normal(&r, c.A, PN * PIA, 1.0f);
	fd_rng_fill_normal(&r, c.B, PN * PIB, 1.0f);
	fd_rng_fill_normal(&r, c.dY0, 2 * PN * POUT, 1.0f);
	fd_rng_perm(&r, c.perm, PN);
	pair = (struct fd_mlp_fwd){ .pair_b = c.B, .pair_ia = PIA, .pair_perm = c.perm };
	for (int i = 0; i < PN; i++) { /* the rows the pair stands for */
		memcpy(X + i * W, c.A + i * PIA, PIA * sizeof(float));
		memcpy(X + i * W + PIA, c.B + i * PIB, PIB * sizeof(float));
		memcpy(X + (PN + i) * W, c.A + i * PIA, PIA * sizeof(float));
		memcpy(X + (PN + i) * W + PIA, c.B + c.perm[i] * PIB, PIB * sizeof(float));
	}
	fd_rng_seed(&r, 77);
	Y = fd_mlp_forward(m, X, 2 * PN, &r, NULL);
	ck_assert_ptr_nonnull(Y);
	memcpy(Y1, Y, sizeof Y1);
	ck_assert_int_eq(fd_mlp_backward(m, c.dY0, dX, &(struct fd_mlp_bwd){ .set = 1 }), FDEN_OK);
	grads_copy(m, g1);
	/* the pair: same output, gradients and summed input gradients (the
	 * split products round differently: tolerances, not bits) */
	fd_rng_seed(&r, 77); /* the same masks */
	Y = fd_mlp_forward(m, c.A, PN, &r, &pair);
	ck_assert_ptr_nonnull(Y);
	for (int i = 0; i < 2 * PN * POUT; i++)
		ck_assert_float_eq_tol(Y[i], Y1[i], 1e-5f * (1 + fabsf(Y1[i])));
	ck_assert_int_eq(fd_mlp_backward(m, c.dY0, dA, &(struct fd_mlp_bwd){ .set = 1, .dx2 = dB }),
			 FDEN_OK);
	for (int p = 0; p < np; p++) {
		struct fd_param *P = fd_mlp_param(m, p);
		for (size_t k = 0; k < P->n; k++)
			ck_assert_float_eq_tol(P->g[k], g1[p][k], 1e-4f * (1 + fabsf(g1[p][k])));
		memcpy(g1[p], P->g, P->n * 4); /* the pair's, for the FD check */
	}
	for (int i = 0; i < PN; i++) {
		for (int j = 0; j < PIA; j++) {
			float want = dX[i * W + j] + dX[(PN + i) * W + j];
			ck_assert_float_eq_tol(dA[i * PIA + j], want, 1e-4f * (1 + fabsf(want)));
		}
		for (int j = 0; j < PIB; j++) { /* row PN+i saw B[perm[i]] */
			int b = c.perm[i];
			float want = dX[b * W + PIA + j] + dX[(PN + i) * W + PIA + j];
			ck_assert_float_eq_tol(dB[b * PIB + j], want, 1e-4f * (1 + fabsf(want)));
		}
	}
	/* refused after a paired forward: dX += (its input gradients are sums) */
	ck_assert_int_eq(fd_mlp_backward(m, c.dY0, dA, &(struct fd_mlp_bwd){ .add_dx = 1 }),
			 FDEN_E_INVALID);
	fdc_check(pair_loss, &c, c.A, dA, PN * PIA, 1e-2f, 1, "pair dA");
	fdc_check(pair_loss, &c, c.B, dB, PN * PIB, 1e-2f, 1, "pair dB");
	for (int p = 0; p < np; p++) {
		struct fd_param *P = fd_mlp_param(m, p);
		fdc_check(pair_loss, &c, P->w, g1[p], P->n, 1e-2f, 1, P->name);
		free(g1[p]);
	}
	/* refused: the first input wider than the net's, more rows than reserved */
	pair.pair_ia = W;
	ck_assert_ptr_null(fd_mlp_forward(m, c.A, PN, &r, &pair));
	pair.pair_ia = PIA;
	ck_assert_ptr_null(fd_mlp_forward(m, c.A, PN + 1, &r, &pair));
	fd_free(NULL, c.A);
	fd_free(NULL, c.B);
	fd_mlp_free(m);
}
END_TEST

/* fd_mlp_fwd.y: the output written into a column block gives the bits
 * fd_mlp_forward gives, for a last layer written in place (_i 0: linear
 * with dropout) and one copied out of its cache (_i 1: leaky) */
START_TEST(test_forward_to)
{
	const struct fd_layer_spec l[2] = {
		{ 6, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 3, 1, 0, 0.3f, _i ? FD_ACT_LEAKY : FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 4, 0);
	struct fd_mlp *m = make(&cfg, 8);
	struct fd_rng r1, r2;
	struct fd_err err;
	float X[10 * 4], Y1[10 * 3], wide[10 * 7];
	const float *y;

	ck_assert_int_eq(fd_mlp_reserve(m, 10, &err), FDEN_OK);
	fd_rng_seed(&r1, 9);
	fd_rng_fill_normal(&r1, X, 40, 1.0f);
	r2 = r1;
	y = fd_mlp_forward(m, X, 10, &r1, NULL);
	ck_assert_ptr_nonnull(y);
	memcpy(Y1, y, sizeof Y1);
	for (int i = 0; i < 70; i++)
		wide[i] = -7.0f;
	ck_assert_ptr_eq(fd_mlp_forward(m, X, 10, &r2, &(struct fd_mlp_fwd){ .y = wide + 2, .ldy = 7 }),
			 wide + 2);
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < 7; j++) {
			float v = wide[i * 7 + j];
			if (j >= 2 && j < 5)
				ck_assert_float_eq(v, Y1[i * 3 + j - 2]);
			else
				ck_assert_float_eq(v, -7.0f); /* outside the block: untouched */
		}
	ck_assert_ptr_null(fd_mlp_forward(m, X, 10, &r2, &(struct fd_mlp_fwd){ .y = wide, .ldy = 2 }));
	/* ldy < out */
	fd_mlp_free(m);
}
END_TEST

START_TEST(test_no_alloc_after_reserve)
{
	static const struct fd_layer_spec l[3] = {
		{ 32, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 32, 1, 0, 0.2f, FD_ACT_LEAKY },
		{ 4, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 3, 16, 0);
	struct tu_counter cnt = { 0 };
	struct fden_allocator al = tu_counting_allocator(&cnt);
	struct fd_adam opt = { 1e-3f, 0.9f, 0.999f, 1e-8f };
	struct fd_mlp *m = NULL;
	struct fd_rng r;
	struct fd_err err;
	float X[64 * 16], dY[64 * 4], dX[64 * 16], Y[64 * 4], *ws;
	long before;

	fd_rng_seed(&r, 5);
	ck_assert_int_eq(fd_mlp_new(&cfg, "net", &al, &r, &err, &m), FDEN_OK);
	ck_assert_int_eq(fd_mlp_reserve(m, 64, &err), FDEN_OK);
	ws = malloc(fd_mlp_infer_ws(m, 64) * sizeof(float));
	fd_rng_fill_normal(&r, X, 64 * 16, 1.0f);
	fd_rng_fill_normal(&r, dY, 64 * 4, 1.0f);
	before = cnt.calls;
	for (int it = 1; it <= 3; it++) {
		fd_mlp_zero_grad(m);
		ck_assert_ptr_nonnull(fd_mlp_forward(m, X, it == 2 ? 17 : 64, &r, NULL));
		fd_mlp_backward(m, dY, dX, NULL);
		for (int p = 0; p < fd_mlp_nparams(m); p++)
			fd_adam_update(&opt, fd_mlp_param(m, p), (uint64_t)it);
		fd_mlp_infer(m, X, 64, Y, ws);
	}
	ck_assert_int_eq(fd_mlp_reserve(m, 32, &err), FDEN_OK); /* smaller: no-op */
	ck_assert_int_eq(cnt.calls, before);
	fd_mlp_free(m);
	ck_assert_int_eq(cnt.calls, cnt.frees);
	free(ws);
}
END_TEST

START_TEST(test_nomem_cleans_up)
{
	static const struct fd_layer_spec l[2] = {
		{ 8, 1, 1, 0.0f, FD_ACT_LEAKY },
		{ 2, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 3, 0);
	struct fd_rng r;
	struct fd_err err;

	for (size_t k = 1; k <= 6; k++) {
		struct tu_counter cnt = { 0 };
		struct fden_allocator al = tu_counting_allocator(&cnt);
		struct fd_mlp *m = NULL;
		int rc;

		cnt.fail_at = k;
		fd_rng_seed(&r, 6);
		rc = fd_mlp_new(&cfg, "net", &al, &r, &err, &m);
		if (rc == FDEN_OK) {
			rc = fd_mlp_reserve(m, 4, &err);
			fd_mlp_free(m);
			if (rc == FDEN_OK) {
				ck_assert_int_eq(cnt.calls, cnt.frees);
				break;
			}
		} else {
			ck_assert_ptr_null(m);
		}
		ck_assert_int_eq(rc, FDEN_E_NOMEM);
		ck_assert_ptr_nonnull(strstr(err.msg, "no memory"));
		ck_assert_int_eq(cnt.calls - 1, cnt.frees); /* all but the failed one freed */
	}
}
END_TEST

/* ---- reentrant inference ---- */
struct infer_job {
	const struct fd_mlp *m;
	const float *X;
	const float *Yref;
	int n, bad;
};

static void *infer_thread(void *p)
{
	struct infer_job *j = p;
	float *Y = malloc((size_t)j->n * fd_mlp_out(j->m) * sizeof(float));
	float *ws = malloc(fd_mlp_infer_ws(j->m, j->n) * sizeof(float));

	for (int it = 0; it < 50; it++) {
		fd_mlp_infer(j->m, j->X, j->n, Y, ws);
		if (memcmp(Y, j->Yref, (size_t)j->n * fd_mlp_out(j->m) * sizeof(float)))
			j->bad++;
	}
	free(Y);
	free(ws);
	return NULL;
}

START_TEST(test_infer_reentrant)
{
	static const struct fd_layer_spec l[3] = {
		{ 24, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 24, 1, 0, 0.2f, FD_ACT_TANH },
		{ 5, 1, 1, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 3, 12, 0);
	struct fd_mlp *m = make(&cfg, 7);
	struct fd_rng r;
	struct fd_err err;
	struct infer_job job[2];
	pthread_t th[2];
	float X[2][33 * 12], Yref[2][33 * 5], *ws;
	int n[2] = { 33, 7 };

	/* a few training steps so the running statistics are not trivial */
	ck_assert_int_eq(fd_mlp_reserve(m, 33, &err), FDEN_OK);
	fd_rng_seed(&r, 8);
	fd_rng_fill_normal(&r, X[0], 33 * 12, 1.0f);
	fd_rng_fill_normal(&r, X[1], 33 * 12, 2.0f);
	for (int it = 0; it < 3; it++)
		ck_assert_ptr_nonnull(fd_mlp_forward(m, X[0], 33, &r, NULL));
	ws = malloc(fd_mlp_infer_ws(m, 33) * sizeof(float));
	for (int t = 0; t < 2; t++) {
		fd_mlp_infer(m, X[t], n[t], Yref[t], ws);
		job[t] = (struct infer_job){ m, X[t], Yref[t], n[t], 0 };
	}
	for (int t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, infer_thread, &job[t]), 0);
	for (int t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		ck_assert_int_eq(job[t].bad, 0);
	}
	/* rows are independent in evaluation: row 3 alone gives the same */
	{
		float y1[5];
		fd_mlp_infer(m, X[0] + 3 * 12, 1, y1, ws);
		for (int j = 0; j < 5; j++)
			ck_assert_float_eq_tol(y1[j], Yref[0][3 * 5 + j], 1e-5f);
	}
	free(ws);
	fd_mlp_free(m);
}
END_TEST

/* ---- layout and initialisers ---- */
/* fd_mlp_infer_ld reads a column block of a wider matrix in place: the
 * same bits as fd_mlp_infer on the block copied out (first layer with and
 * without batch norm); without the last bias, adding fd_mlp_last_bias
 * afterwards gives those bits too. */
START_TEST(test_infer_strided)
{
	const struct fd_layer_spec l[2] = {
		{ 24, 1, _i, 0.2f, FD_ACT_LEAKY },
		{ 6, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 16, 0);
	enum { R = 37,
	       LD = 40 };
	struct fd_mlp *m = make(&cfg, 9);
	struct fd_rng r;
	float wide[R * LD], X[R * 16], Y[R * 6], Ys[R * 6], *ws;
	const float *b;

	fd_rng_seed(&r, 3);
	for (int p = 0; p < fd_mlp_nparams(m); p++) { /* biases off zero */
		struct fd_param *q = fd_mlp_param(m, p);
		for (size_t k = 0; k < q->n; k++)
			q->w[k] += 0.1f * fd_rng_normal(&r);
	}
	fd_rng_fill_normal(&r, wide, R * LD, 1.0f);
	for (int i = 0; i < R; i++)
		memcpy(X + i * 16, wide + i * LD + 5, 16 * sizeof(float));
	ws = malloc(fd_mlp_infer_ws(m, R) * sizeof(float));
	fd_mlp_infer(m, X, R, Y, ws);
	fd_mlp_infer_ld(m, wide + 5, LD, R, Ys, ws, 1);
	ck_assert_mem_eq(Y, Ys, sizeof Y);
	fd_mlp_infer_ld(m, wide + 5, LD, R, Ys, ws, 0);
	ck_assert_ptr_nonnull(b = fd_mlp_last_bias(m));
	for (int i = 0; i < R * 6; i++)
		Ys[i] += b[i % 6];
	ck_assert_mem_eq(Y, Ys, sizeof Y);
	/* not a constant net: rows differ */
	ck_assert(Y[0] != Y[6]);
	free(ws);
	fd_mlp_free(m);
}
END_TEST

START_TEST(test_layout_and_init)
{
	static const struct fd_layer_spec l[3] = {
		{ 300, 1, 1, 0.2f, FD_ACT_LEAKY },
		{ 200, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ 10, 0, 0, 0.0f, FD_ACT_LINEAR },
	};
	static const char *names[] = { "net.0.w", "net.0.gamma", "net.0.beta", "net.1.w",
				       "net.1.b", "net.2.w" };
	static const size_t sizes[] = { 100 * 300, 300, 300, 300 * 200, 200, 200 * 10 };
	struct fd_mlp_cfg cfg = base_cfg(l, 3, 100, 0);
	struct fd_mlp *m = make(&cfg, 9);
	struct fd_param *p;
	double s2 = 0;

	ck_assert_int_eq(fd_mlp_in(m), 100);
	ck_assert_int_eq(fd_mlp_out(m), 10);
	ck_assert_int_eq(fd_mlp_nparams(m), 6);
	for (int i = 0; i < 6; i++) {
		p = fd_mlp_param(m, i);
		ck_assert_str_eq(p->name, names[i]);
		ck_assert_uint_eq(p->n, sizes[i]);
		ck_assert_uint_eq((uintptr_t)p->w % 64, 0); /* aligned tensors */
		ck_assert_uint_eq((uintptr_t)p->g % 64, 0);
	}
	ck_assert_ptr_null(fd_mlp_param(m, 6));
	ck_assert_ptr_null(fd_mlp_param(m, -1));
	ck_assert_int_eq(fd_mlp_nbuffers(m), 2);
	ck_assert_str_eq(fd_mlp_buffer(m, 0)->name, "net.0.mean");
	ck_assert_str_eq(fd_mlp_buffer(m, 1)->name, "net.0.var");
	ck_assert_ptr_null(fd_mlp_buffer(m, 2));
	for (int j = 0; j < 300; j++) {
		ck_assert_float_eq(fd_mlp_buffer(m, 0)->x[j], 0.0f);
		ck_assert_float_eq(fd_mlp_buffer(m, 1)->x[j], 1.0f);
		ck_assert_float_eq(fd_mlp_param(m, 1)->w[j], 1.0f); /* gamma 1 */
		ck_assert_float_eq(fd_mlp_param(m, 2)->w[j], 0.0f); /* beta 0 */
	}
	for (int j = 0; j < 200; j++)
		ck_assert_float_eq(fd_mlp_param(m, 4)->w[j], 0.0f); /* bias 0 */
	/* Glorot normal: std sqrt(2 / (300 + 200)) = 0.0632; se of the
	 * variance estimate over 60000 draws ~0.6% */
	p = fd_mlp_param(m, 3);
	for (size_t i = 0; i < p->n; i++)
		s2 += (double)p->w[i] * p->w[i];
	ck_assert_double_le(fabs(s2 / p->n / (2.0 / 500) - 1.0), 0.03);
	/* 6 n in out per dense layer */
	ck_assert_double_eq(fd_mlp_train_flops(m, 8),
			    6.0 * 8 * (100 * 300 + 300 * 200 + 200 * 10));
	fd_mlp_free(m);

	/* truncated normal: |w| <= 2 sigma; He normal: var 2 / fan_in */
	cfg.init = FD_INIT_TRUNC_NORMAL;
	cfg.init_sigma = 0.05f;
	m = make(&cfg, 10);
	p = fd_mlp_param(m, 0);
	s2 = 0;
	for (size_t i = 0; i < p->n; i++) {
		ck_assert_float_le(fabsf(p->w[i]), 0.1f);
		s2 += (double)p->w[i] * p->w[i];
	}
	ck_assert_double_le(fabs(s2 / p->n / (0.05 * 0.05) - 0.7737), 0.03);
	fd_mlp_free(m);
	cfg.init = FD_INIT_HE_NORMAL;
	m = make(&cfg, 11);
	p = fd_mlp_param(m, 3);
	s2 = 0;
	for (size_t i = 0; i < p->n; i++)
		s2 += (double)p->w[i] * p->w[i];
	ck_assert_double_le(fabs(s2 / p->n / (2.0 / 300) - 1.0), 0.03);
	fd_mlp_free(m);
}
END_TEST

START_TEST(test_same_seed_same_net)
{
	static const struct fd_layer_spec l[2] = {
		{ 16, 1, 1, 0.3f, FD_ACT_LEAKY },
		{ 3, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 6, 0);
	struct fd_mlp *a = make(&cfg, 12), *b = make(&cfg, 12), *c = make(&cfg, 13);
	struct fd_rng ra, rb;
	struct fd_err err;
	float X[20 * 6];

	ck_assert_int_eq(memcmp(fd_mlp_param(a, 0)->w, fd_mlp_param(b, 0)->w, 6 * 16 * 4), 0);
	ck_assert_int_ne(memcmp(fd_mlp_param(a, 0)->w, fd_mlp_param(c, 0)->w, 6 * 16 * 4), 0);
	ck_assert_int_eq(fd_mlp_reserve(a, 20, &err), 0);
	ck_assert_int_eq(fd_mlp_reserve(b, 20, &err), 0);
	fd_rng_seed(&ra, 14);
	fd_rng_fill_normal(&ra, X, 20 * 6, 1.0f);
	fd_rng_seed(&ra, 15);
	fd_rng_seed(&rb, 15);
	ck_assert_int_eq(memcmp(fd_mlp_forward(a, X, 20, &ra, NULL), fd_mlp_forward(b, X, 20, &rb, NULL),
				20 * 3 * 4),
			 0);
	fd_mlp_free(a);
	fd_mlp_free(b);
	fd_mlp_free(c);
}
END_TEST

START_TEST(test_learns)
{
	/* a short regression: Adam drives the training loss down 10x */
	static const struct fd_layer_spec l[3] = {
		{ 32, 1, 1, 0.0f, FD_ACT_LEAKY },
		{ 32, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ 2, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 3, 4, 0);
	struct fd_mlp *m = make(&cfg, 16);
	struct fd_adam opt = { 1e-2f, 0.9f, 0.999f, 1e-8f };
	struct fd_rng r;
	struct fd_err err;
	float X[64 * 4], T[64 * 2], dY[64 * 2];
	double first = 0, last = 0;

	ck_assert_int_eq(fd_mlp_reserve(m, 64, &err), 0);
	fd_rng_seed(&r, 17);
	fd_rng_fill_normal(&r, X, 64 * 4, 1.0f);
	for (int i = 0; i < 64; i++) {
		T[2 * i] = sinf(X[4 * i] + X[4 * i + 1]);
		T[2 * i + 1] = X[4 * i + 2] * X[4 * i + 3];
	}
	for (int it = 1; it <= 300; it++) {
		const float *Y = fd_mlp_forward(m, X, 64, &r, NULL);
		double L = 0;
		for (int i = 0; i < 128; i++) {
			dY[i] = 2.0f * (Y[i] - T[i]) / 128;
			L += (double)(Y[i] - T[i]) * (Y[i] - T[i]) / 128;
		}
		if (it == 1)
			first = L;
		last = L;
		fd_mlp_zero_grad(m);
		fd_mlp_backward(m, dY, NULL, NULL);
		for (int p = 0; p < fd_mlp_nparams(m); p++)
			fd_adam_update(&opt, fd_mlp_param(m, p), (uint64_t)it);
	}
	fprintf(stderr, "regression: loss %.4f -> %.4f\n", first, last);
	ck_assert_double_lt(last, first / 10);
	fd_mlp_free(m);
}
END_TEST

/* ---- argument checks ---- */
START_TEST(test_bad_args)
{
	struct fd_layer_spec l[2] = {
		{ 4, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ 2, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg cfg = base_cfg(l, 2, 3, 0), c;
	struct fd_mlp *m = (struct fd_mlp *)&cfg; /* must stay untouched on failure */
	struct fd_rng r;
	struct fd_err err;

	fd_rng_seed(&r, 18);
	fd_mlp_free(NULL); /* no-op */
	ck_assert_int_eq(fd_mlp_new(NULL, "n", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "cfg"));
	ck_assert_int_eq(fd_mlp_new(&cfg, "n", NULL, NULL, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "init_rng"));
#define BAD(FIELD, VAL, WORD) \
	do { \
		c = cfg; \
		c.FIELD = VAL; \
		ck_assert_int_eq(fd_mlp_new(&c, "n", NULL, &r, &err, &m), FDEN_E_INVALID); \
		ck_assert_msg(strstr(err.msg, WORD), "message '%s' lacks '%s'", err.msg, WORD); \
		ck_assert_str_eq(fden_last_error(), err.msg); \
	} while (0)
	BAD(in, 0, "input width");
	BAD(nlayers, 0, "layer");
	BAD(layers, NULL, "layer");
	BAD(leaky_slope, -0.5f, "slope");
	BAD(init, 9, "initialiser");
	BAD(bn_momentum, 1.5f, "momentum");
	BAD(bn_eps, 0.0f, "eps");
	c = cfg;
	c.init = FD_INIT_TRUNC_NORMAL;
	c.init_sigma = 0.0f;
	ck_assert_int_eq(fd_mlp_new(&c, "n", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "sigma"));
	l[1].width = 0;
	ck_assert_int_eq(fd_mlp_new(&cfg, "n", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "layer 1 width 0"));
	l[1].width = 2;
	l[0].dropout = 1.0f;
	ck_assert_int_eq(fd_mlp_new(&cfg, "n", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "dropout"));
	l[0].dropout = 0.0f;
	l[0].act = 7;
	ck_assert_int_eq(fd_mlp_new(&cfg, "n", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "activation 7"));
	l[0].act = FD_ACT_LEAKY;
	ck_assert_int_eq(fd_mlp_new(&cfg, "a_name_that_is_much_too_long_for_param_names", NULL, &r, &err, &m),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	ck_assert_ptr_eq(m, (struct fd_mlp *)&cfg);
#undef BAD

	/* a good net, misused */
	m = make(&cfg, 19);
	{
		float X[3 * 5] = { 0 }, dY[2 * 5] = { 0 };
		ck_assert_int_eq(fd_mlp_reserve(m, 0, &err), FDEN_E_INVALID);
		ck_assert_ptr_null(fd_mlp_forward(m, X, 1, &r, NULL)); /* nothing reserved */
		fd_mlp_backward(m, dY, NULL, NULL);                    /* no forward: no-op */
		ck_assert_int_eq(fd_mlp_reserve(m, 4, &err), FDEN_OK);
		ck_assert_ptr_null(fd_mlp_forward(m, X, 5, &r, NULL)); /* more than reserved */
		ck_assert_ptr_null(fd_mlp_forward(m, X, 0, &r, NULL));
		ck_assert_ptr_nonnull(fd_mlp_forward(m, X, 4, NULL, NULL)); /* no dropout: no rng needed */
		ck_assert_int_eq(fd_mlp_reserve(m, 5, &err), FDEN_OK);      /* grows */
		ck_assert_ptr_nonnull(fd_mlp_forward(m, X, 5, &r, NULL));
	}
	fd_mlp_free(m);
	l[0].dropout = 0.5f;
	m = make(&cfg, 20);
	{
		float X[3] = { 0 };
		ck_assert_int_eq(fd_mlp_reserve(m, 1, &err), FDEN_OK);
		ck_assert_ptr_null(fd_mlp_forward(m, X, 1, NULL, NULL)); /* dropout needs an rng */
	}
	fd_mlp_free(m);
}
END_TEST

static Suite *mlp_suite(void)
{
	Suite *s = suite_create("mlp");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_fd_net, 0, (int)(sizeof fd_cases / sizeof fd_cases[0]));
	tcase_add_test(tc, test_backward_accumulates);
	tcase_add_loop_test(tc, test_backward_set_ex, 0, 2);
	tcase_add_loop_test(tc, test_forward_to, 0, 2);
	tcase_add_test(tc, test_forward_pair);
	tcase_add_loop_test(tc, test_backward_two, 0, 2);
	tcase_add_test(tc, test_no_alloc_after_reserve);
	tcase_add_test(tc, test_nomem_cleans_up);
	tcase_add_test(tc, test_infer_reentrant);
	tcase_add_loop_test(tc, test_infer_strided, 0, 2);
	tcase_add_test(tc, test_layout_and_init);
	tcase_add_test(tc, test_same_seed_same_net);
	tcase_add_test(tc, test_learns);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(mlp_suite(), 0);
}
