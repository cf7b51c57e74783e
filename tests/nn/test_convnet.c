/* The sequential conv net: finite-difference checks of whole nets
 * (encoder-, decoder- and discriminator-shaped: conv, convt and dense
 * layers, batch norm over channels and over a dense layer's outputs,
 * every activation, stride 1 and 2, padding 0 and 1, odd sizes, output
 * padding) w.r.t. the input and every parameter; a strided output gradient;
 * no allocation after fd_convnet_reserve; running statistics seeded by the
 * first batch; reentrant inference from two
 * threads; tensor names and sizes from the plan; argument checks. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/convnet.h"
#include "nn/mlp.h"
#include "../testutil.h"

static void fill(struct fd_rng *r, float *x, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * fd_rng_uniform(r);
}

/* kind, ch, k, s, p, opad, out_h, out_w, bias, bn, act */
static const struct fd_cl_spec enc_l[] = {
	/* 6 x 5 x 2 input */
	{ FD_CL_CONV, 3, 3, 2, 1, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
	{ FD_CL_CONV, 2, 3, 1, 1, 0, 0, 0, 1, 0, FD_ACT_TANH },
	{ FD_CL_DENSE, 4, 0, 0, 0, 0, 0, 0, 1, 0, FD_ACT_LINEAR },
};
static const struct fd_cl_spec dec_l[] = {
	/* 1 x 1 x 3 latent */
	{ FD_CL_DENSE, 2, 0, 0, 0, 0, 3, 3, 0, 1, FD_ACT_LEAKY },
	{ FD_CL_CONVT, 3, 4, 2, 1, 1, 0, 0, 0, 1, FD_ACT_LEAKY },
	{ FD_CL_CONVT, 1, 3, 1, 1, 0, 0, 0, 1, 0, FD_ACT_SIGMOID },
};
static const struct fd_cl_spec dis_l[] = {
	/* 7 x 7 x 1 input */
	{ FD_CL_CONV, 2, 4, 2, 0, 0, 0, 0, 1, 0, FD_ACT_LEAKY },
	{ FD_CL_CONV, 3, 2, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LINEAR },
	{ FD_CL_DENSE, 1, 0, 0, 0, 0, 0, 0, 1, 0, FD_ACT_SIGMOID },
};

struct net_case {
	const char *name;
	int h, w, c, n;
	const struct fd_cl_spec *l;
	int nl;
};

static const struct net_case cases[] = {
	{ "encoder", 6, 5, 2, 3, enc_l, 3 },
	{ "decoder", 1, 1, 3, 5, dec_l, 3 },
	{ "discriminator", 7, 7, 1, 4, dis_l, 3 },
};

static struct fd_convnet_cfg cfg_of(const struct net_case *t)
{
	struct fd_convnet_cfg c = {
		.h = t->h,
		.w = t->w,
		.c = t->c,
		.nlayers = t->nl,
		.layers = t->l,
		.leaky_slope = 0.1f,
		.init = FD_INIT_HE_NORMAL,
		.init_sigma = 0.02f,
		.bn_momentum = 0.9f,
		.bn_eps = 1e-3f,
		.nthreads = 1,
	};
	return c;
}

static struct fd_convnet *make(const struct fd_convnet_cfg *c, const struct fden_allocator *al,
			       uint64_t seed)
{
	struct fd_rng r;
	struct fd_err err;
	struct fd_convnet *m = NULL;

	fd_rng_seed(&r, seed);
	ck_assert_int_eq(fd_convnet_new(c, "t", al, &r, &err, &m), FDEN_OK);
	ck_assert_ptr_nonnull(m);
	return m;
}

struct ctx {
	struct fd_convnet *m;
	int n;
	float *X, *dY0;
	size_t out;
};

static double net_loss(void *p)
{
	struct ctx *c = p;
	const float *Y = fd_convnet_forward(c->m, c->X, c->n);

	return fdc_dot(c->dY0, Y, (size_t)c->n * c->out);
}

/* _i = 2 case + smooth: smooth replaces leaky ReLU by tanh and allows no
 * kink; with leaky ReLU a unit near 0 puts a kink under every input of its
 * window, so kinks are allowed on up to 1/8 of the coordinates. */
START_TEST(test_net_fd)
{
	const struct net_case *t = &cases[_i / 2];
	int smooth = _i % 2;
	struct fd_cl_spec l[8];
	struct fd_convnet_cfg cfg = cfg_of(t);
	const struct fd_convnet_plan *pl;
	struct ctx c;
	struct fd_err err;
	struct fd_rng r;
	float *dX;
	size_t nin;
	int kinks = 0, nchecked = 0;
	char what[64];

	memcpy(l, t->l, (size_t)t->nl * sizeof l[0]);
	for (int i = 0; smooth && i < t->nl; i++)
		if (l[i].act == FD_ACT_LEAKY)
			l[i].act = FD_ACT_TANH;
	cfg.layers = l;
	c.m = make(&cfg, NULL, 40 + _i);
	c.n = t->n;
	pl = fd_convnet_get_plan(c.m);
	c.out = pl->out;
	nin = (size_t)c.n * pl->in;
	ck_assert_int_eq(fd_convnet_reserve(c.m, c.n, &err), FDEN_OK);
	c.X = fd_malloc(NULL, nin * sizeof(float));
	c.dY0 = fd_malloc(NULL, c.n * c.out * sizeof(float));
	dX = fd_malloc(NULL, nin * sizeof(float));
	fd_rng_seed(&r, 50 + _i);
	fill(&r, c.X, nin, -1, 1);
	fill(&r, c.dY0, c.n * c.out, -1, 1);
	/* non-trivial biases, gammas, betas */
	for (int p = 0; p < fd_convnet_nparams(c.m); p++) {
		struct fd_param *P = fd_convnet_param(c.m, p);
		if (strstr(P->name, ".b") || strstr(P->name, ".gamma"))
			fill(&r, P->w, P->n, 0.5f, 1.5f);
	}
	fd_convnet_zero_grad(c.m);
	fd_convnet_forward(c.m, c.X, c.n);
	fd_convnet_backward(c.m, c.dY0, (int)c.out, dX);
	snprintf(what, sizeof what, "%s%s dX", t->name, smooth ? "/tanh" : "");
	kinks += fdc_check(net_loss, &c, c.X, dX, nin, 4e-3f, !smooth, what).skipped;
	nchecked += (int)nin;
	for (int p = 0; p < fd_convnet_nparams(c.m); p++) {
		struct fd_param *P = fd_convnet_param(c.m, p);
		float *g = malloc(P->n * sizeof(float));
		memcpy(g, P->g, P->n * sizeof(float));
		snprintf(what, sizeof what, "%s%s %s", t->name, smooth ? "/tanh" : "", P->name);
		kinks += fdc_check(net_loss, &c, P->w, g, P->n, 4e-3f, !smooth, what).skipped;
		nchecked += (int)P->n;
		free(g);
	}
	ck_assert_msg(kinks * 8 <= nchecked, "%d kinks in %d coordinates", kinks, nchecked);
	fd_free(NULL, c.X);
	fd_free(NULL, c.dY0);
	fd_free(NULL, dX);
	fd_convnet_free(c.m);
}
END_TEST

/* backward with rows ldy apart = backward of the packed rows; a second
 * backward adds the same gradients again (the caches are kept) */
START_TEST(test_strided_and_twice)
{
	const struct net_case *t = &cases[0];
	struct fd_convnet_cfg cfg = cfg_of(t);
	struct fd_convnet *m = make(&cfg, NULL, 3);
	struct fd_err err;
	struct fd_rng r;
	size_t out = fd_convnet_get_plan(m)->out, in = fd_convnet_get_plan(m)->in;
	int n = 4, ld = (int)out + 3;
	float *X = fd_malloc(NULL, n * in * sizeof(float)), *dXa = fd_malloc(NULL, n * in * 4),
	      *dXb = fd_malloc(NULL, n * in * 4), *dY = malloc(n * out * 4), *dYs = malloc(n * ld * 4);
	float *g1 = malloc(fd_convnet_param(m, 0)->n * 4);

	ck_assert_int_eq(fd_convnet_reserve(m, n, &err), FDEN_OK);
	fd_rng_seed(&r, 9);
	fill(&r, X, n * in, -1, 1);
	fill(&r, dY, n * out, -1, 1);
	fill(&r, dYs, n * ld, 7, 8);
	for (int i = 0; i < n; i++)
		memcpy(dYs + i * ld, dY + i * out, out * 4);
	fd_convnet_forward(m, X, n);
	fd_convnet_zero_grad(m);
	fd_convnet_backward(m, dY, (int)out, dXa);
	memcpy(g1, fd_convnet_param(m, 0)->g, fd_convnet_param(m, 0)->n * 4);
	fd_convnet_backward(m, dYs, ld, dXb);
	for (size_t i = 0; i < n * in; i++)
		ck_assert_float_eq(dXa[i], dXb[i]);
	for (size_t i = 0; i < fd_convnet_param(m, 0)->n; i++)
		ck_assert_float_eq_tol(fd_convnet_param(m, 0)->g[i], 2 * g1[i],
				       1e-5f * (1 + fabsf(g1[i])));
	fd_free(NULL, X);
	fd_free(NULL, dXa);
	fd_free(NULL, dXb);
	free(dY);
	free(dYs);
	free(g1);
	fd_convnet_free(m);
}
END_TEST

START_TEST(test_no_alloc_after_reserve)
{
	const struct net_case *t = &cases[_i];
	struct fd_convnet_cfg cfg = cfg_of(t);
	struct tu_counter cnt = { 0 };
	struct fden_allocator al = tu_counting_allocator(&cnt);
	struct fd_convnet *m = make(&cfg, &al, 5);
	struct fd_err err;
	struct fd_rng r;
	size_t out = fd_convnet_get_plan(m)->out, in = fd_convnet_get_plan(m)->in;
	float *X, *dY, *dX, *Y, *ws;
	long before;

	ck_assert_int_eq(fd_convnet_reserve(m, 16, &err), FDEN_OK);
	X = fd_malloc(NULL, 16 * in * 4);
	dX = fd_malloc(NULL, 16 * in * 4);
	dY = fd_malloc(NULL, 16 * out * 4);
	Y = malloc(16 * out * 4);
	ws = fd_malloc(NULL, fd_convnet_infer_ws(m, 16) * 4);
	fd_rng_seed(&r, 1);
	fill(&r, X, 16 * in, 0, 1);
	fill(&r, dY, 16 * out, -1, 1);
	before = cnt.allocs;
	for (int step = 0; step < 3; step++) {
		fd_convnet_zero_grad(m);
		ck_assert_ptr_nonnull(fd_convnet_forward(m, X, 16 - step));
		fd_convnet_backward(m, dY, (int)out + (step == 2), dX);
		fd_convnet_infer(m, X, 9, Y, ws);
		ck_assert_int_eq(fd_convnet_reserve(m, 12, &err), FDEN_OK); /* no growth */
	}
	ck_assert_int_eq(cnt.allocs, before);
	ck_assert_ptr_null(fd_convnet_forward(m, X, 17)); /* above the reserve */
	fd_convnet_free(m);
	ck_assert_int_gt(cnt.allocs, 0);
	ck_assert_int_eq(cnt.allocs, cnt.frees);
	fd_free(NULL, X);
	fd_free(NULL, dX);
	fd_free(NULL, dY);
	fd_free(NULL, ws);
	free(Y);
}
END_TEST

struct job {
	const struct fd_convnet *m;
	const float *X;
	int n;
	float *Y;
};

static void *infer_job(void *p)
{
	struct job *j = p;
	float *ws = fd_malloc(NULL, fd_convnet_infer_ws(j->m, j->n) * 4);

	for (int k = 0; k < 20; k++)
		fd_convnet_infer(j->m, j->X, j->n, j->Y, ws);
	fd_free(NULL, ws);
	return NULL;
}

/* inference from two threads at once gives the bits of one thread, and
 * uses the running statistics (not the batch's) */
START_TEST(test_infer_reentrant)
{
	const struct net_case *t = &cases[1];
	struct fd_convnet_cfg cfg = cfg_of(t);
	struct fd_convnet *m = make(&cfg, NULL, 8);
	struct fd_err err;
	struct fd_rng r;
	size_t out = fd_convnet_get_plan(m)->out, in = fd_convnet_get_plan(m)->in;
	int n = 13;
	float *X = fd_malloc(NULL, n * in * 4), *Y0 = malloc(n * out * 4), *Y1 = malloc(n * out * 4),
	      *Y2 = malloc(n * out * 4), *ws = fd_malloc(NULL, fd_convnet_infer_ws(m, n) * 4);
	float *y1 = malloc(out * 4);
	struct job a = { m, X, n, Y1 }, b = { m, X, n, Y2 };
	pthread_t ta, tb;
	int differs = 0;

	fd_rng_seed(&r, 2);
	fill(&r, X, n * in, -1, 1);
	ck_assert_int_eq(fd_convnet_reserve(m, n, &err), FDEN_OK);
	for (int k = 0; k < 5; k++) /* move the running statistics */
		fd_convnet_forward(m, X, n);
	fd_convnet_infer(m, X, n, Y0, ws);
	ck_assert_int_eq(pthread_create(&ta, NULL, infer_job, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, infer_job, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert_int_eq(memcmp(Y0, Y1, n * out * 4), 0);
	ck_assert_int_eq(memcmp(Y0, Y2, n * out * 4), 0);
	/* rows are independent in inference: one row alone gives its bits */
	fd_convnet_infer(m, X + 4 * in, 1, y1, ws);
	for (size_t j = 0; j < out; j++)
		ck_assert_float_eq_tol(y1[j], Y0[4 * out + j], 1e-6f);
	/* training forward (batch statistics) differs from inference */
	{
		const float *Yt = fd_convnet_forward(m, X, n);
		for (size_t j = 0; j < n * out; j++)
			differs += fabsf(Yt[j] - Y0[j]) > 1e-4f;
	}
	ck_assert_int_gt(differs, 0);
	fd_free(NULL, X);
	fd_free(NULL, ws);
	free(Y0);
	free(Y1);
	free(Y2);
	free(y1);
	fd_convnet_free(m);
}
END_TEST

/* Running statistics: a new net's first training forward sets them to that
 * batch's, so inference on the same batch matches training (up to the
 * unbiased variance's n / (n - 1)) even when the start's variances are far
 * from 1 (std 0.01 weights, as ALI's); after fd_convnet_bn_keep (a loaded
 * net) the forward blends into the old ones instead. */
START_TEST(test_bn_first_batch)
{
	const struct net_case *t = &cases[1];
	struct fd_convnet_cfg cfg = cfg_of(t);
	int n = 64;
	double worst[2] = { 0, 0 }, range = 0;

	cfg.init = FD_INIT_TRUNC_NORMAL;
	cfg.init_sigma = 0.01f;
	cfg.bn_eps = 1e-6f;
	for (int keep = 0; keep < 2; keep++) {
		struct fd_convnet *m = make(&cfg, NULL, 8);
		struct fd_err err;
		struct fd_rng r;
		size_t out = fd_convnet_get_plan(m)->out, in = fd_convnet_get_plan(m)->in;
		float *X = fd_malloc(NULL, n * in * 4), *Y = malloc(n * out * 4),
		      *ws = fd_malloc(NULL, fd_convnet_infer_ws(m, n) * 4);
		const float *Yt;

		fd_rng_seed(&r, 2);
		fill(&r, X, n * in, -1, 1);
		ck_assert_int_eq(fd_convnet_reserve(m, n, &err), FDEN_OK);
		if (keep)
			fd_convnet_bn_keep(m);
		Yt = fd_convnet_forward(m, X, n);
		fd_convnet_infer(m, X, n, Y, ws);
		for (size_t j = 0; j < n * out; j++) {
			double e = fabs((double)Yt[j] - Y[j]);
			worst[keep] = e > worst[keep] ? e : worst[keep];
			if (!keep)
				range = fmax(range, fabs(Yt[j] - 0.5));
		}
		fd_free(NULL, X);
		fd_free(NULL, ws);
		free(Y);
		fd_convnet_free(m);
	}
	/* seeded stats agree to 1e-2 of the output's spread, old ones do not */
	fprintf(stderr, "bn first batch: range %g, seeded %g, kept %g\n", range, worst[0],
		worst[1]);
	ck_assert_double_gt(range, 1e-3);
	ck_assert_double_lt(worst[0], 1e-2 * range);
	ck_assert_double_gt(worst[1], 0.2 * range);
}
END_TEST

START_TEST(test_plan_names)
{
	struct fd_convnet_cfg cfg = cfg_of(&cases[1]);
	struct fd_convnet_plan p;
	struct fd_convnet *m = make(&cfg, NULL, 1);
	struct fd_err err;
	size_t total = 0;
	char nm[32];
	size_t n;

	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_OK);
	ck_assert_int_eq(p.in, 3);
	ck_assert_int_eq(p.L[1].oh, 7); /* (3 - 1) 2 - 2 + 4 + 1 */
	ck_assert_int_eq(p.out, 49);
	ck_assert_int_eq(p.nparams, 3 + 3 + 2);
	ck_assert_int_eq(p.nbuffers, 4);
	for (int i = 0; i < p.nparams; i++) {
		fd_convnet_param_desc(&p, "t", i, nm, &n);
		ck_assert_str_eq(nm, fd_convnet_param(m, i)->name);
		ck_assert_uint_eq(n, fd_convnet_param(m, i)->n);
		total += n;
	}
	ck_assert_uint_eq(total, p.param_floats);
	fd_convnet_param_desc(&p, "t", 0, nm, &n);
	ck_assert_str_eq(nm, "t0.w");
	ck_assert_uint_eq(n, 3 * 18);
	fd_convnet_param_desc(&p, "t", 1, nm, &n);
	ck_assert_str_eq(nm, "t0.gamma");
	ck_assert_uint_eq(n, 18); /* dense batch norm: per output */
	fd_convnet_param_desc(&p, "t", 4, nm, &n);
	ck_assert_str_eq(nm, "t1.gamma");
	ck_assert_uint_eq(n, 3); /* convt batch norm: per channel */
	fd_convnet_param_desc(&p, "t", 7, nm, &n);
	ck_assert_str_eq(nm, "t2.b");
	fd_convnet_buffer_desc(&p, "t", 3, nm, &n);
	ck_assert_str_eq(nm, "t1.var");
	ck_assert_str_eq(fd_convnet_buffer(m, 3)->name, "t1.var");
	for (size_t j = 0; j < 3; j++)
		ck_assert_float_eq(fd_convnet_buffer(m, 3)->x[j], 1.0f);
	ck_assert_double_gt(fd_convnet_train_flops(m, 2), 0);
	fd_convnet_free(m);
	fd_convnet_free(NULL);
}
END_TEST

START_TEST(test_bad_cfg)
{
	struct fd_cl_spec l[2] = { enc_l[0], enc_l[2] };
	struct fd_convnet_cfg cfg = cfg_of(&cases[0]);
	struct fd_convnet_plan p;
	struct fd_convnet *m = NULL;
	struct fd_err err;
	struct fd_rng r;

	fd_rng_seed(&r, 1);
	cfg.layers = l;
	cfg.nlayers = 2;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_OK);
	l[0].k = 9; /* empty output */
	ck_assert_int_eq(fd_convnet_new(&cfg, "x", NULL, &r, &err, &m), FDEN_E_INVALID);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(err.msg, "layer 0"));
	l[0].k = 3;
	l[1].act = 9;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
	l[1].act = FD_ACT_LINEAR;
	l[1].kind = 7;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
	l[1].kind = FD_CL_CONVT;
	l[1].s = 2;
	l[1].k = 3;
	l[1].opad = 2;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
	cfg.nlayers = 0;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
	cfg.nlayers = FD_CONVNET_MAX_LAYERS + 1;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
	cfg.nlayers = 2;
	cfg.h = 0;
	ck_assert_int_eq(fd_convnet_plan(&cfg, &p, &err), FDEN_E_INVALID);
}
END_TEST

static Suite *convnet_suite(void)
{
	Suite *s = suite_create("convnet");
	TCase *tc = tcase_create("net");
	int nc = (int)(sizeof cases / sizeof cases[0]);

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_net_fd, 0, 2 * nc);
	tcase_add_test(tc, test_strided_and_twice);
	tcase_add_loop_test(tc, test_no_alloc_after_reserve, 0, nc);
	tcase_add_test(tc, test_infer_reentrant);
	tcase_add_test(tc, test_bn_first_batch);
	tcase_add_test(tc, test_plan_names);
	tcase_add_test(tc, test_bad_cfg);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(convnet_suite(), 0);
}
