/* The built-in ALI host (libfden/invnet/ali.c):
 * - finite-difference checks of its two losses' gradients: the
 *   discriminator's L_D w.r.t. every D tensor, the generators' L_G (through
 *   D's input gradients) w.r.t. every G_z and G_x tensor, and L_G + w L_rec
 *   with the reconstruction term, on a tiny 20x20 net (training-mode
 *   forward, dropout masks from a reseeded rng, so each evaluation of the
 *   loss is the same function);
 * - a steady-state step allocates nothing (counting allocator);
 * - a short fit with the L2 term reconstructs better than the untrained
 *   net, and D's accuracy over the fit is reported (not asserted);
 * - save/load reproduces encode, encode_dist and decode bit for bit; a
 *   checkpoint with a missing or resized record is refused;
 * - options and shapes are checked. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fden/fden.h>
#include "core/alloc.h"
#include "core/error.h"
#include "invnet/ali.h"
#include "io/ckpt.h"
#include "kernels/rng.h"
#include "../testutil.h"

enum { S = 20,
       L = 3,
       NB = 4,
       PER_TENSOR = 12 };

struct fdctx {
	struct fd_ali *a;
	float *xb, *zp, *eps;
	int which; /* 0: L_D, 1: L_G + w L_rec */
	float l2w;
};

/* Finite differences on a window of a tensor, judged as a whole: central
 * differences at h and h/2 combined by Richardson extrapolation (as
 * tests/nn/fdcheck.h), then ||num - ana|| / max(||num||, ||ana||, 0.05).
 * The nets are built with leaky slope 1 here: at ALI's 0.01, a step of a
 * first-layer weight moves many leaky-ReLU inputs across 0 and the one-
 * channel test net's batch norm amplifies those kinks (measured: 10-60%
 * off on first-layer windows at slope 0.01, 2-25% at 0.5, 1e-4 at 1 on
 * the same code). The leaky ReLU's own derivative is the containers'
 * (tests/nn); what is checked here is ALI's: the losses, D's two passes,
 * the reparameterisation, the pixel bias, the dropout mask, the L2 term.
 * Measured on correct code: worst 0.018 (float32 noise, 7e-4, on gradients
 * that are 0 by batch-norm invariance, under the 0.05 floor; 1% on a few
 * windows of the decoder); a wrong sign,
 * factor or missing path is O(1). */
#define FD_H 5e-3f
#define REL_TOL 0.05
static double loss_of(void *ud);
static double window_check(void *c, float *theta, const float *ana, size_t n, const char *what)
{
	double e2 = 0, a2 = 0, n2 = 0, rel;

	for (size_t i = 0; i < n; i++) {
		float t0 = theta[i];
		double d[2];

		for (int k = 0; k < 2; k++) {
			float h = k ? 0.5f * FD_H : FD_H;
			double hp, hm, lp, lm;
			theta[i] = t0 + h;
			hp = (double)theta[i] - t0;
			lp = loss_of(c);
			theta[i] = t0 - h;
			hm = (double)t0 - theta[i];
			lm = loss_of(c);
			d[k] = (lp - lm) / (hp + hm);
		}
		theta[i] = t0;
		d[0] = (4 * d[1] - d[0]) / 3; /* Richardson */
		e2 += (d[0] - ana[i]) * (d[0] - ana[i]);
		a2 += (double)ana[i] * ana[i];
		n2 += d[0] * d[0];
	}
	rel = sqrt(e2) / fmax(sqrt(fmax(a2, n2)), 0.05);
	fprintf(stderr, "fd %-22s n=%-3zu |ana| %.3e |num| %.3e rel err %.3g\n", what, n,
		sqrt(a2), sqrt(n2), rel);
	return rel;
}

static double loss_of(void *ud)
{
	struct fdctx *c = ud;
	struct fd_rng r;
	struct fd_ali_stats st;

	fd_rng_seed(&r, 99); /* the same dropout masks every time */
	st = fd_ali_losses(c->a, c->xb, c->zp, c->eps, NB, c->l2w, &r);
	return c->which == 0 ? st.d_loss : st.g_loss + c->l2w * st.rec;
}

/* Images: a bright disc of random radius and place on a dark ground. */
static void make_images(float *x, size_t n, size_t side, uint64_t seed)
{
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		float cy = 5 + 10 * fd_rng_uniform(&r), cx = 5 + 10 * fd_rng_uniform(&r);
		float rad = 2 + 4 * fd_rng_uniform(&r);
		for (size_t y = 0; y < side; y++)
			for (size_t xx = 0; xx < side; xx++) {
				float dy = (float)y - cy, dx = (float)xx - cx;
				float v = 1.0f / (1.0f + expf(2.0f * (sqrtf(dy * dy + dx * dx) - rad)));
				x[(i * side + y) * side + xx] = 0.05f + 0.9f * v;
			}
	}
}

static void grad_check(float dropout, float l2w, int out_act)
{
	size_t d[FD_ALI_NDIMS] = { S, S, 1, L, 1, (size_t)out_act };
	struct fdctx c = { 0 };
	struct fd_rng r;
	struct fd_err err;
	float *ana;
	double worst = 0;

	fd_err_clear(&err);
	fd_rng_seed(&r, 5);
	ck_assert_int_eq(fd_ali_new(d, dropout, 1.0f, 1, NULL, &r, &err, &c.a), FDEN_OK);
	ck_assert_int_eq(fd_ali_reserve(c.a, NB, l2w > 0, &err), FDEN_OK);
	/* larger weights than ALI's 0.01 start, so no layer is near-silent */
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < fd_ali_nparams(c.a, w); i++) {
			struct fd_param *p = fd_ali_param(c.a, w, i);
			if (strstr(p->name, ".w"))
				fd_rng_fill_normal(&r, p->w, p->n, 0.3f);
			else if (strstr(p->name, "gamma"))
				for (size_t k = 0; k < p->n; k++)
					p->w[k] = 1.0f + 0.2f * fd_rng_normal(&r);
			else
				fd_rng_fill_normal(&r, p->w, p->n, 0.1f);
		}
	c.xb = fd_malloc(NULL, NB * S * S * sizeof(float));
	c.zp = fd_malloc(NULL, NB * L * sizeof(float));
	c.eps = fd_malloc(NULL, NB * L * sizeof(float));
	make_images(c.xb, NB, S, 3);
	if (out_act == FDEN_ALI_TANH)
		for (int i = 0; i < NB * S * S; i++)
			c.xb[i] = 2 * c.xb[i] - 1;
	fd_rng_fill_normal(&r, c.zp, NB * L, 1.0f);
	fd_rng_fill_normal(&r, c.eps, NB * L, 1.0f);
	c.l2w = l2w;
	{
		struct fd_rng dr;
		fd_rng_seed(&dr, 99);
		fd_ali_grads(c.a, c.xb, c.zp, c.eps, NB, l2w, &dr);
	}
	for (int w = 0; w < 2; w++) {
		c.which = w;
		for (int i = 0; i < fd_ali_nparams(c.a, w); i++) {
			struct fd_param *p = fd_ali_param(c.a, w, i);
			size_t m = p->n < PER_TENSOR ? p->n : PER_TENSOR, off;
			char what[64];
			double rel;

			ana = malloc(p->n * sizeof(float));
			memcpy(ana, p->g, p->n * sizeof(float));
			off = (p->n - m) / 2; /* a window from the middle */
			snprintf(what, sizeof what, "%s %s", w ? "L_G" : "L_D", p->name);
			rel = window_check(&c, p->w + off, ana + off, m, what);
			if (rel > worst)
				worst = rel;
			ck_assert_msg(rel < REL_TOL, "%s: relative error %.3g", what, rel);
			free(ana);
		}
	}
	fprintf(stderr, "ali fd (dropout %g, l2 %g, %s): worst relative error %.3g\n",
		(double)dropout, (double)l2w, out_act ? "tanh" : "sigmoid", worst);
	fd_free(NULL, c.xb);
	fd_free(NULL, c.zp);
	fd_free(NULL, c.eps);
	fd_ali_free(c.a);
}

START_TEST(fd_losses)
{
	/* _i: 0 plain, 1 with dropout, 2 with the L2 term, 3 tanh + L2 */
	static const float drop[] = { 0.0f, 0.2f, 0.0f, 0.2f };
	static const float l2[] = { 0.0f, 0.0f, 0.5f, 0.5f };
	static const int act[] = { FDEN_ALI_SIGMOID, FDEN_ALI_SIGMOID, FDEN_ALI_SIGMOID,
				   FDEN_ALI_TANH };

	grad_check(drop[_i], l2[_i], act[_i]);
}
END_TEST

START_TEST(steady_state_allocates_nothing)
{
	size_t d[FD_ALI_NDIMS] = { 28, 28, 1, 8, 2, 0 };
	struct tu_counter cnt = { 0 };
	struct fden_allocator al;
	struct fd_ali *a;
	struct fd_rng r;
	struct fd_err err;
	float *xb, *zp, *eps;
	size_t before;
	float l2w = _i ? 1.0f : 0.0f;

	al = tu_counting_allocator(&cnt);
	fd_err_clear(&err);
	fd_rng_seed(&r, 1);
	ck_assert_int_eq(fd_ali_new(d, 0.2f, 0.01f, 1, &al, &r, &err, &a), FDEN_OK);
	ck_assert_int_eq(fd_ali_reserve(a, 16, _i, &err), FDEN_OK);
	xb = fd_malloc(NULL, 16 * 784 * sizeof(float));
	zp = fd_malloc(NULL, 16 * 8 * sizeof(float));
	eps = fd_malloc(NULL, 16 * 8 * sizeof(float));
	make_images(xb, 16, 28, 2);
	fd_rng_fill_normal(&r, zp, 16 * 8, 1.0f);
	fd_rng_fill_normal(&r, eps, 16 * 8, 1.0f);
	fd_ali_grads(a, xb, zp, eps, 16, l2w, &r);
	before = cnt.allocs;
	for (int k = 0; k < 3; k++)
		fd_ali_grads(a, xb, zp, eps, k == 1 ? 9 : 16, l2w, &r);
	ck_assert_msg(cnt.allocs == before, "%zu allocations in steady-state steps",
		      cnt.allocs - before);
	ck_assert_uint_gt(before, 0); /* the allocator was the one in use */
	fd_ali_free(a);
	ck_assert_uint_eq(cnt.allocs, cnt.frees);
	fd_free(NULL, xb);
	fd_free(NULL, zp);
	fd_free(NULL, eps);
}
END_TEST

/* ---- fitting through the public API ---- */
struct curve {
	int n;
	double mse[64], acc[64], dl[64], gl[64];
};

static void log_fn(void *ud, int level, const char *fmt, va_list ap)
{
	struct curve *cv = ud;
	char buf[512];
	const char *p;

	vsnprintf(buf, sizeof buf, fmt, ap);
	ck_assert_int_eq(level, FDEN_LOG_INFO);
	fprintf(stderr, "%s\n", buf);
	p = strstr(buf, "recon mse ");
	ck_assert_ptr_nonnull(p);
	if (cv->n >= 64)
		return;
	cv->mse[cv->n] = atof(p + 10);
	cv->acc[cv->n] = (p = strstr(buf, "D acc ")) ? atof(p + 6) : NAN;
	cv->dl[cv->n] = (p = strstr(buf, "D loss ")) ? atof(p + 7) : NAN;
	cv->gl[cv->n] = (p = strstr(buf, "G loss ")) ? atof(p + 7) : NAN;
	cv->n++;
}

enum { NFIT = 400 };

static struct fden_ali_options fit_opts(struct curve *cv)
{
	struct fden_ali_options o;

	fden_ali_options_default(&o);
	o.base_channels = 2;
	o.epochs = 10;
	o.batch = 20;
	o.lr = 3e-3;
	o.l2_weight = 10.0;
	o.seed = 7;
	o.log = log_fn;
	o.log_user_data = cv;
	return o;
}

START_TEST(fit_reduces_reconstruction)
{
	float *x = malloc(NFIT * S * S * sizeof(float));
	struct curve cv = { 0 };
	struct fden_ali_options o = fit_opts(&cv);
	struct fden_invnet *net = NULL;
	double acc = 0;

	make_images(x, NFIT, S, 11);
	ck_assert_int_eq(fden_invnet_fit_ali(x, NFIT, S * S, 8, &o, &net), FDEN_OK);
	ck_assert_int_eq(cv.n, 11); /* epoch 0 (untrained) and 10 epochs */
	ck_assert_msg(cv.mse[10] < 0.9 * cv.mse[0], "recon mse %g untrained, %g after the fit",
		      cv.mse[0], cv.mse[10]);
	for (int e = 1; e < cv.n; e++) {
		ck_assert(isfinite(cv.dl[e]) && isfinite(cv.gl[e]));
		acc += cv.acc[e] / (cv.n - 1);
	}
	/* measured, not asserted: a collapsed D sits at 0.5 +- 0 or 1.0 */
	fprintf(stderr, "ali fit: recon mse %.5f -> %.5f, mean D accuracy %.3f\n", cv.mse[0],
		cv.mse[10], acc);
	ck_assert_uint_eq(fden_invnet_input_dim(net), S * S);
	ck_assert_uint_eq(fden_invnet_latent_dim(net), 8);
	fden_invnet_free(net);
	free(x);
}
END_TEST

static void tmp_path(char *buf, size_t n, const char *tag)
{
	const char *dir = getenv("TMPDIR");

	snprintf(buf, n, "%s/test-ali-%s-%ld.fden", dir ? dir : "/tmp", tag, (long)getpid());
}

START_TEST(save_load_bit_exact)
{
	float *x = malloc(64 * S * S * sizeof(float));
	float z1[64 * 8], z2[64 * 8], m1[64 * 8], s1[64 * 8], m2[64 * 8], s2[64 * 8];
	float *x1 = malloc(64 * S * S * sizeof(float)), *x2 = malloc(64 * S * S * sizeof(float));
	struct curve cv = { 0 };
	struct fden_ali_options o = fit_opts(&cv);
	struct fden_invnet *net = NULL, *back = NULL;
	char path[256];

	make_images(x, 64, S, 4);
	o.epochs = 1;
	o.batch = 16;
	o.output = _i ? FDEN_ALI_TANH : FDEN_ALI_SIGMOID;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 64, S * S, 8, &o, &net), FDEN_OK);
	tmp_path(path, sizeof path, "rt");
	ck_assert_int_eq(fden_invnet_save(net, path), FDEN_OK);
	ck_assert_int_eq(fden_invnet_load(path, &back), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(net, x, 64, z1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(back, x, 64, z2), FDEN_OK);
	ck_assert_mem_eq(z1, z2, sizeof z1);
	ck_assert_int_eq(fden_invnet_encode_dist(net, x, 64, m1, s1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode_dist(back, x, 64, m2, s2), FDEN_OK);
	ck_assert_mem_eq(m1, m2, sizeof m1);
	ck_assert_mem_eq(s1, s2, sizeof s1);
	ck_assert_mem_eq(m1, z1, sizeof m1); /* encode is the mean */
	ck_assert_int_eq(fden_invnet_decode(net, z1, 64, x1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(back, z1, 64, x2), FDEN_OK);
	ck_assert_mem_eq(x1, x2, 64 * S * S * sizeof(float));
	for (int i = 0; i < 64 * S * S; i++)
		ck_assert(_i ? x1[i] >= -1 && x1[i] <= 1 : x1[i] >= 0 && x1[i] <= 1);
	unlink(path);
	fden_invnet_free(net);
	fden_invnet_free(back);
	free(x);
	free(x1);
	free(x2);
}
END_TEST

/* Rewrite a saved file with one record dropped or shortened. */
static int rewrite(const char *from, const char *to, const char *victim, int shorten)
{
	struct fd_ckpt_reader *r;
	struct fd_ckpt_writer *w;
	struct fd_err err;
	int rc;

	fd_err_clear(&err);
	if ((rc = fd_ckpt_read(from, FD_CKPT_ALI, NULL, &err, &r)))
		return rc;
	if ((rc = fd_ckpt_writer_new(FD_CKPT_ALI, NULL, &err, &w))) {
		fd_ckpt_reader_free(r);
		return rc;
	}
	for (size_t i = 0; i < fd_ckpt_count(r); i++) {
		const char *name;
		const void *data;
		size_t cnt;
		int type;

		fd_ckpt_record(r, i, &name, &type, &data, &cnt);
		if (!strcmp(name, victim)) {
			if (!shorten)
				continue;
			cnt -= 1;
		}
		fd_ckpt_put(w, name, type, data, cnt);
	}
	fd_ckpt_reader_free(r);
	return fd_ckpt_write(w, to);
}

START_TEST(load_refuses_bad_records)
{
	static const char *const victims[] = { "ali.dims", "gz0.w", "gz6.b", "gx0.gamma",
					       "gx3.mean", "gx6.w", "gx.pixb" };
	float *x = malloc(64 * S * S * sizeof(float));
	struct curve cv = { 0 };
	struct fden_ali_options o = fit_opts(&cv);
	struct fden_invnet *net = NULL, *back = (struct fden_invnet *)&back;
	char path[256], bad[256];

	make_images(x, 64, S, 4);
	o.epochs = 1;
	o.batch = 16;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 64, S * S, 8, &o, &net), FDEN_OK);
	tmp_path(path, sizeof path, "ok");
	tmp_path(bad, sizeof bad, "bad");
	ck_assert_int_eq(fden_invnet_save(net, path), FDEN_OK);
	for (size_t v = 0; v < sizeof victims / sizeof *victims; v++)
		for (int sh = 0; sh < 2; sh++) {
			ck_assert_int_eq(rewrite(path, bad, victims[v], sh), FDEN_OK);
			ck_assert_msg(fden_invnet_load(bad, &back) == FDEN_E_FORMAT,
				      "%s %s: loaded (%s)", victims[v], sh ? "shortened" : "missing",
				      fden_last_error());
			ck_assert_ptr_eq(back, (struct fden_invnet *)&back);
		}
	ck_assert_int_eq(rewrite(path, bad, "none", 0), FDEN_OK); /* the control loads */
	ck_assert_int_eq(fden_invnet_load(bad, &back), FDEN_OK);
	fden_invnet_free(back);
	unlink(path);
	unlink(bad);
	fden_invnet_free(net);
	free(x);
}
END_TEST

START_TEST(bad_args)
{
	float x[2 * 400] = { 0 };
	struct fden_ali_options o;
	struct fden_invnet *net = (struct fden_invnet *)&net;

	fden_ali_options_default(&o);
	ck_assert_uint_eq(o.struct_size, sizeof o);
	ck_assert_int_eq(fden_invnet_fit_ali(NULL, 2, 400, 4, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_ali(x, 1, 400, 4, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 399, 4, &o, &net), FDEN_E_INVALID);
	o.struct_size = sizeof o - 1;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_VERSION);
	fden_ali_options_default(&o);
	o.dropout = 1.0;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_INVALID);
	fden_ali_options_default(&o);
	o.l2_weight = -1;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_INVALID);
	fden_ali_options_default(&o);
	o.height = 16; /* 16 x 25: too small a side */
	o.width = 25;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_INVALID);
	o.height = 21; /* 21 x 20 (needs 420 floats): the shape does not match */
	o.width = 20;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_INVALID);
	fden_ali_options_default(&o);
	x[5] = NAN;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 2, 400, 4, &o, &net), FDEN_E_NONFINITE);
	ck_assert_ptr_eq(net, (struct fden_invnet *)&net);
}
END_TEST

START_TEST(non_square_shape)
{
	float *x = malloc(40 * 24 * 32 * sizeof(float)), z[40 * 4], *xr;
	struct fden_ali_options o;
	struct fden_invnet *net = NULL;

	for (int i = 0; i < 40 * 24 * 32; i++)
		x[i] = (float)((i * 7919) % 100) / 100.0f;
	fden_ali_options_default(&o);
	o.height = 24;
	o.width = 32;
	o.base_channels = 1;
	o.epochs = 1;
	o.batch = 8;
	ck_assert_int_eq(fden_invnet_fit_ali(x, 40, 24 * 32, 4, &o, &net), FDEN_OK);
	xr = malloc(40 * 24 * 32 * sizeof(float));
	ck_assert_int_eq(fden_invnet_encode(net, x, 40, z), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, z, 40, xr), FDEN_OK);
	fden_invnet_free(net);
	free(x);
	free(xr);
}
END_TEST

static Suite *ali_suite(void)
{
	Suite *s = suite_create("ali");
	TCase *tc = tcase_create("ali");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, fd_losses, 0, 4);
	tcase_add_loop_test(tc, steady_state_allocates_nothing, 0, 2);
	tcase_add_test(tc, fit_reduces_reconstruction);
	tcase_add_loop_test(tc, save_load_bit_exact, 0, 2);
	tcase_add_test(tc, load_refuses_bad_records);
	tcase_add_test(tc, bad_args);
	tcase_add_test(tc, non_square_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(ali_suite(), 0);
}
