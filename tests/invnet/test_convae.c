/* The built-in convolutional autoencoder: the loss goes down and it
 * reconstructs better than the data's variance on blob images; any
 * H x W x C shape the strides allow (non-square, two channels, odd sizes);
 * training is deterministic for a seed; save/load is bit-exact; the loader
 * checks every record's presence and size before it allocates; encode is
 * reentrant and refuses non-finite input; options are checked; the time
 * budget ends fitting. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fden/fden.h>
#include "io/ckpt.h"
#include "kernels/rng.h"
#include "nn/warp.h"
#include "../testutil.h"

enum { N = 256,
       S = 12,
       K = 8 };

/* n images h x w x c: one Gaussian blob each at a random place and width
 * (a 3-parameter family: a small latent can hold it) */
static float *blobs(int n, int h, int w, int c, uint64_t seed)
{
	struct fd_rng r;
	float *X = malloc(sizeof(float) * n * h * w * c);

	fd_rng_seed(&r, seed);
	for (int i = 0; i < n; i++) {
		float cy = 1 + (h - 2) * fd_rng_uniform(&r), cx = 1 + (w - 2) * fd_rng_uniform(&r);
		float s = 1.0f + 1.5f * fd_rng_uniform(&r);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				for (int ch = 0; ch < c; ch++) {
					float d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
					X[((size_t)(i * h + y) * w + x) * c + ch] =
						expf(-d2 / (2 * s * s * (1 + ch)));
				}
	}
	return X;
}

struct losses {
	int n, budget_hit, n_nce;
	double mse[64], nce[64];
};

static void log_fn(void *ud, int level, const char *fmt, va_list ap)
{
	struct losses *l = ud;
	char buf[256];
	const char *p;

	vsnprintf(buf, sizeof buf, fmt, ap);
	ck_assert_int_eq(level, FDEN_LOG_INFO);
	p = strstr(buf, "mse ");
	if (!p)
		p = strstr(buf, "bce ");
	ck_assert_ptr_nonnull(p);
	if (strstr(buf, "time budget reached"))
		l->budget_hit++;
	if (strstr(buf, "nce ") && l->n_nce < 64)
		l->nce[l->n_nce++] = atof(strstr(buf, "nce ") + 4);
	if (l->n < 64)
		l->mse[l->n++] = atof(p + 4);
}

static struct fden_conv_options small_opts(struct losses *l)
{
	struct fden_conv_options o;

	fden_conv_options_default(&o);
	o.base_channels = 8;
	o.epochs = 25;
	o.batch = 32;
	o.lr = 3e-3;
	o.seed = 17;
	o.log = l ? log_fn : NULL;
	o.log_user_data = l;
	return o;
}

static double recon_mse(struct fden_invnet *net, const float *X, int n, size_t d)
{
	size_t k = fden_invnet_latent_dim(net);
	float *Z = malloc(sizeof(float) * n * k), *Y = malloc(sizeof(float) * n * d);
	double s = 0;

	ck_assert_int_eq(fden_invnet_encode(net, X, n, Z), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, Z, n, Y), FDEN_OK);
	for (size_t i = 0; i < n * d; i++) {
		ck_assert(Y[i] >= 0 && Y[i] <= 1); /* sigmoid output */
		s += (X[i] - (double)Y[i]) * (X[i] - (double)Y[i]);
	}
	free(Z);
	free(Y);
	return s / ((double)n * d);
}

static double variance(const float *X, size_t cnt)
{
	double mean = 0, var = 0;

	for (size_t i = 0; i < cnt; i++)
		mean += X[i] / cnt;
	for (size_t i = 0; i < cnt; i++)
		var += (X[i] - mean) * (X[i] - mean) / cnt;
	return var;
}

START_TEST(test_defaults)
{
	struct fden_conv_options o;

	memset(&o, 0x5a, sizeof o);
	fden_conv_options_default(&o);
	ck_assert_uint_eq(o.struct_size, sizeof o);
	ck_assert_uint_eq(o.height, 0);
	ck_assert_uint_eq(o.channels, 1);
	ck_assert_uint_eq(o.base_channels, 32);
	ck_assert_uint_eq(o.levels, 2);
	ck_assert_int_eq(o.loss, FDEN_CONV_LOSS_L2);
	ck_assert_double_eq(o.time_budget, 0);
	ck_assert_ptr_null(o.log);
	ck_assert_double_eq(o.contrast, 0.1);
	ck_assert_double_eq(o.contrast_tau, 0.2);
	ck_assert_double_eq(o.aug_rotation, 10);
	ck_assert_double_eq(o.aug_scale, 0.1);
	ck_assert_double_eq(o.aug_shift, 2);
	fden_conv_options_default(NULL);
}
END_TEST

/* _i: 0 L2 square, 1 BCE square, 2 L2 on 10 x 6 x 2 (odd sizes inside) */
START_TEST(test_loss_goes_down)
{
	int h = _i == 2 ? 10 : S, w = _i == 2 ? 6 : S, c = _i == 2 ? 2 : 1;
	size_t d = (size_t)h * w * c;
	float *X = blobs(N, h, w, c, 1 + _i);
	struct losses l = { 0 };
	struct fden_conv_options o = small_opts(&l);
	struct fden_invnet *net = NULL;
	double var = variance(X, N * d), mse;

	if (_i == 1)
		o.loss = FDEN_CONV_LOSS_BCE;
	if (_i == 2) {
		o.height = (size_t)h;
		o.width = (size_t)w;
		o.channels = (size_t)c;
	}
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &net), FDEN_OK);
	ck_assert_uint_eq(fden_invnet_input_dim(net), d);
	ck_assert_uint_eq(fden_invnet_latent_dim(net), K);
	ck_assert_int_eq(l.n, 25);
	for (int i = 0; i < l.n; i++)
		ck_assert(isfinite(l.mse[i]));
	ck_assert_msg(l.mse[l.n - 1] < 0.7 * l.mse[0], "loss %g -> %g", l.mse[0], l.mse[l.n - 1]);
	mse = recon_mse(net, X, N, d);
	ck_assert_msg(mse < 0.25 * var, "reconstruction mse %g vs data variance %g", mse, var);
	fprintf(stderr, "conv ae %d: loss %.5f -> %.5f, eval mse %.5f, variance %.5f\n", _i,
		l.mse[0], l.mse[l.n - 1], mse, var);
	fden_invnet_free(net);
	free(X);
}
END_TEST

/* Stroke "glyphs": class k is three random line segments on an S x S
 * canvas; each of its `per` samples is the template under a random warp
 * (up to 12 degrees, 1 +- 0.1, 1.5 px), so one class's samples differ in
 * pixels while their shape stays. */
static float *strokes(int classes, int per, uint64_t seed)
{
	const size_t d = S * S;
	float *T = calloc(d, sizeof(float)), *X = malloc(sizeof(float) * classes * per * d);
	struct fd_warp cfg = { 12.0f, 0.1f, 1.5f };
	struct fd_rng r;

	fd_rng_seed(&r, seed);
	for (int k = 0; k < classes; k++) {
		memset(T, 0, d * sizeof(float));
		for (int seg = 0; seg < 3; seg++) {
			float x0 = 2 + 8 * fd_rng_uniform(&r), y0 = 2 + 8 * fd_rng_uniform(&r);
			float x1 = 2 + 8 * fd_rng_uniform(&r), y1 = 2 + 8 * fd_rng_uniform(&r);
			for (int t = 0; t <= 24; t++) {
				int x = (int)(x0 + (x1 - x0) * t / 24.0f), y = (int)(y0 + (y1 - y0) * t / 24.0f);
				T[y * S + x] = 1.0f;
			}
		}
		fd_warp_batch(T, 1, S, S, 1, &cfg, &r, X + (size_t)k * per * d); /* sample 0 */
		for (int i = 1; i < per; i++)
			fd_warp_batch(T, 1, S, S, 1, &cfg, &r, X + ((size_t)k * per + i) * d);
	}
	free(T);
	return X;
}

/* 5-way 1-shot nearest-class-mean accuracy of the latents of `classes`
 * unseen stroke classes (`per` samples each), 400 seeded episodes: an
 * outside reading of what the latent keeps of a class. */
static double ncm_5w1s(struct fden_invnet *net, const float *X, int classes, int per)
{
	size_t k = fden_invnet_latent_dim(net), n = (size_t)classes * per;
	float *Z = malloc(sizeof(float) * n * k);
	struct fd_rng r;
	int right = 0, total = 0;

	ck_assert_int_eq(fden_invnet_encode(net, X, n, Z), FDEN_OK);
	fd_rng_seed(&r, 5);
	for (int e = 0; e < 400; e++) {
		int cls[5], shot[5];
		for (int w = 0; w < 5; w++) {
again:
			cls[w] = (int)fd_rng_below(&r, (uint32_t)classes);
			for (int v = 0; v < w; v++)
				if (cls[v] == cls[w])
					goto again;
			shot[w] = (int)fd_rng_below(&r, (uint32_t)per);
		}
		for (int w = 0; w < 5; w++)
			for (int q = 0; q < per; q++) {
				const float *zq = Z + ((size_t)cls[w] * per + q) * k;
				double best = INFINITY;
				int arg = -1;
				if (q == shot[w])
					continue;
				for (int v = 0; v < 5; v++) {
					const float *zs = Z + ((size_t)cls[v] * per + shot[v]) * k;
					double dd = 0;
					for (size_t c = 0; c < k; c++)
						dd += (zq[c] - zs[c]) * (zq[c] - zs[c]);
					if (dd < best) {
						best = dd;
						arg = v;
					}
				}
				right += arg == w;
				total++;
			}
	}
	free(Z);
	return 100.0 * right / total;
}

/* The contrastive term: its loss goes down; on stroke classes never
 * trained on, nearest-class-mean on its latents beats the plain fit of
 * the same data, steps and seed; the fit is deterministic; it still
 * reconstructs. */
START_TEST(test_contrast)
{
	enum { TRAIN = 60,
	       TEST = 30,
	       PER = 8 };
	const size_t d = S * S;
	float *X = strokes(TRAIN, PER, 8), *Xt = strokes(TEST, PER, 9);
	struct losses l = { 0 }, l2 = { 0 };
	struct fden_conv_options o = small_opts(&l);
	struct fden_invnet *plain = NULL, *nce = NULL, *again = NULL;
	float *Z1 = malloc(sizeof(float) * TRAIN * PER * K), *Z2 = malloc(sizeof(float) * TRAIN * PER * K);
	double a_plain, a_nce, mse;

	o.epochs = 30;
	o.contrast = 0;
	ck_assert_int_eq(fden_invnet_fit_conv(X, TRAIN * PER, d, K, &o, &plain), FDEN_OK);
	ck_assert_int_eq(l.n_nce, 0);
	o.contrast = 0.1;
	l.n = 0;
	ck_assert_int_eq(fden_invnet_fit_conv(X, TRAIN * PER, d, K, &o, &nce), FDEN_OK);
	ck_assert_int_eq(l.n_nce, 30);
	ck_assert_msg(l.nce[29] < 0.8 * l.nce[0], "nce %g -> %g", l.nce[0], l.nce[29]);
	mse = recon_mse(nce, X, TRAIN * PER, d);
	ck_assert_msg(mse < 0.5 * variance(X, TRAIN * PER * d), "mse %g", mse);
	a_plain = ncm_5w1s(plain, Xt, TEST, PER);
	a_nce = ncm_5w1s(nce, Xt, TEST, PER);
	fprintf(stderr, "contrast: nce %.4f -> %.4f; unseen 5-way 1-shot %.1f%% plain, %.1f%% "
			"contrastive; mse %.5f\n",
		l.nce[0], l.nce[29], a_plain, a_nce, mse);
	ck_assert_msg(a_nce > a_plain + 5, "5-way 1-shot %g%% (plain %g%%)", a_nce, a_plain);
	o.log_user_data = &l2;
	ck_assert_int_eq(fden_invnet_fit_conv(X, TRAIN * PER, d, K, &o, &again), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(nce, X, TRAIN * PER, Z1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(again, X, TRAIN * PER, Z2), FDEN_OK);
	ck_assert_int_eq(memcmp(Z1, Z2, sizeof(float) * TRAIN * PER * K), 0);
	fden_invnet_free(plain);
	fden_invnet_free(nce);
	fden_invnet_free(again);
	free(Z1);
	free(Z2);
	free(X);
	free(Xt);
}
END_TEST

static char *tmp_path(void)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/fden-cae-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return path;
}

START_TEST(test_deterministic_save_load)
{
	const size_t d = S * S;
	float *X = blobs(N, S, S, 1, 2);
	struct fden_conv_options o = small_opts(NULL);
	struct fden_invnet *a = NULL, *b = NULL, *c = NULL;
	float *Za = malloc(sizeof(float) * N * K), *Zb = malloc(sizeof(float) * N * K);
	float *Ya = malloc(sizeof(float) * N * d), *Yb = malloc(sizeof(float) * N * d);
	const char *path = tmp_path();

	o.epochs = 2;
	o.threads = 2;
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &a), FDEN_OK);
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &b), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(a, X, N, Za), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(b, X, N, Zb), FDEN_OK);
	ck_assert_mem_eq(Za, Zb, sizeof(float) * N * K);
	fden_invnet_free(b);
	b = NULL;
	o.seed = 18; /* a different seed, a different network */
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &c), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(c, X, N, Zb), FDEN_OK);
	ck_assert(memcmp(Za, Zb, sizeof(float) * N * K) != 0);
	fden_invnet_free(c);

	ck_assert_int_eq(fden_invnet_save(a, path), FDEN_OK);
	ck_assert_int_eq(fden_invnet_load(path, &b), FDEN_OK);
	ck_assert_uint_eq(fden_invnet_input_dim(b), d);
	ck_assert_uint_eq(fden_invnet_latent_dim(b), K);
	ck_assert_int_eq(fden_invnet_encode(b, X, N, Zb), FDEN_OK);
	ck_assert_mem_eq(Za, Zb, sizeof(float) * N * K);
	ck_assert_int_eq(fden_invnet_decode(a, Za, N, Ya), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(b, Za, N, Yb), FDEN_OK);
	ck_assert_mem_eq(Ya, Yb, sizeof(float) * N * d);
	ck_assert_int_eq(fden_invnet_encode_dist(b, X, 1, Za, Zb), FDEN_E_UNSUPPORTED);
	/* a row encodes alone as in a batch (inference uses running statistics) */
	ck_assert_int_eq(fden_invnet_encode(b, X + 7 * d, 1, Zb), FDEN_OK);
	for (int j = 0; j < K; j++)
		ck_assert_float_eq_tol(Zb[j], Za[7 * K + j], 1e-5f * (1 + fabsf(Za[7 * K + j])));
	fden_invnet_free(a);
	fden_invnet_free(b);
	unlink(path);
	free(X);
	free(Za);
	free(Zb);
	free(Ya);
	free(Yb);
}
END_TEST

/* Copy the saved file's records into a new file, changing one: `drop` is
 * left out, `shrink` loses its last element, and "conv.dims" may be
 * replaced by dims (when not NULL). */
static void rewrite(const char *src, const char *dst, const char *drop, const char *shrink,
		    const uint64_t *dims)
{
	struct fd_ckpt_reader *r;
	struct fd_ckpt_writer *w;
	struct fd_err err;

	ck_assert_int_eq(fd_ckpt_read(src, FD_CKPT_CONV, NULL, &err, &r), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_CONV, NULL, &err, &w), FDEN_OK);
	for (size_t i = 0; i < fd_ckpt_count(r); i++) {
		const char *name;
		const void *data;
		size_t cnt;
		int type;

		ck_assert_int_eq(fd_ckpt_record(r, i, &name, &type, &data, &cnt), FDEN_OK);
		if (drop && !strcmp(name, drop))
			continue;
		if (shrink && !strcmp(name, shrink))
			cnt--;
		if (dims && !strcmp(name, "conv.dims"))
			data = dims;
		ck_assert_int_eq(fd_ckpt_put(w, name, type, data, cnt), FDEN_OK);
	}
	ck_assert_int_eq(fd_ckpt_write(w, dst), FDEN_OK);
	fd_ckpt_reader_free(r);
}

START_TEST(test_loader_checks_records)
{
	const size_t d = S * S;
	float *X = blobs(64, S, S, 1, 3);
	struct fden_conv_options o = small_opts(NULL);
	struct fden_invnet *a = NULL, *b = (void *)0x1;
	char src[64], dst[64];
	uint64_t big[7] = { 4096, 4096, 64, 65536, 1024, 2, 0 };
	uint64_t bad[7] = { S, S, 1, K, 8, 2, 9 };
	uint64_t odd[7] = { 13, 12, 1, K, 8, 2, 0 }; /* 13 x 12: parities differ */

	strcpy(src, tmp_path());
	strcpy(dst, tmp_path());
	o.epochs = 1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &a), FDEN_OK);
	ck_assert_int_eq(fden_invnet_save(a, src), FDEN_OK);
	rewrite(src, dst, "dec1.w", NULL, NULL);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "dec1.w"));
	rewrite(src, dst, NULL, "enc0.gamma", NULL);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	rewrite(src, dst, "dec0.var", NULL, NULL);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	/* header values that would make a huge net, records of the small one:
	 * refused before anything of that size is allocated */
	rewrite(src, dst, NULL, NULL, big);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	rewrite(src, dst, NULL, NULL, bad);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	rewrite(src, dst, NULL, NULL, odd);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	rewrite(src, dst, "conv.dims", NULL, NULL);
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_E_FORMAT);
	ck_assert_ptr_eq(b, (void *)0x1);    /* untouched on failure */
	rewrite(src, dst, NULL, NULL, NULL); /* unchanged: loads */
	ck_assert_int_eq(fden_invnet_load(dst, &b), FDEN_OK);
	fden_invnet_free(b);
	fden_invnet_free(a);
	unlink(src);
	unlink(dst);
	free(X);
}
END_TEST

struct job {
	struct fden_invnet *net;
	const float *X;
	float *Z;
	int rc;
};

static void *enc_job(void *p)
{
	struct job *j = p;

	for (int k = 0; k < 10 && !j->rc; k++)
		j->rc = fden_invnet_encode(j->net, j->X, N, j->Z);
	return NULL;
}

START_TEST(test_reentrant_and_nonfinite)
{
	const size_t d = S * S;
	float *X = blobs(N, S, S, 1, 4);
	struct fden_conv_options o = small_opts(NULL);
	struct fden_invnet *net = NULL;
	float *Z0 = malloc(sizeof(float) * N * K), *Z1 = malloc(sizeof(float) * N * K),
	      *Z2 = malloc(sizeof(float) * N * K), *Y = malloc(sizeof(float) * d);
	struct job a, b;
	pthread_t ta, tb;

	o.epochs = 1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &net), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(net, X, N, Z0), FDEN_OK);
	a = (struct job){ net, X, Z1, 0 };
	b = (struct job){ net, X, Z2, 0 };
	ck_assert_int_eq(pthread_create(&ta, NULL, enc_job, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, enc_job, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert_int_eq(a.rc, FDEN_OK);
	ck_assert_int_eq(b.rc, FDEN_OK);
	ck_assert_mem_eq(Z0, Z1, sizeof(float) * N * K);
	ck_assert_mem_eq(Z0, Z2, sizeof(float) * N * K);
	X[5 * d + 3] = NAN;
	ck_assert_int_eq(fden_invnet_encode(net, X, N, Z1), FDEN_E_HOST);
	Z0[2] = INFINITY;
	ck_assert_int_eq(fden_invnet_decode(net, Z0, 1, Y), FDEN_E_HOST);
	fden_invnet_free(net);
	free(X);
	free(Z0);
	free(Z1);
	free(Z2);
	free(Y);
}
END_TEST

START_TEST(test_time_budget)
{
	const size_t d = S * S;
	float *X = blobs(N, S, S, 1, 5);
	struct losses l = { 0 };
	struct fden_conv_options o = small_opts(&l);
	struct fden_invnet *net = NULL;

	o.epochs = 1000000;
	o.time_budget = 0.2;
	ck_assert_int_eq(fden_invnet_fit_conv(X, N, d, K, &o, &net), FDEN_OK);
	ck_assert_int_eq(l.budget_hit, 1);
	ck_assert_int_lt(l.n, 1000000);
	fden_invnet_free(net);
	free(X);
}
END_TEST

START_TEST(test_bad_args)
{
	const size_t d = S * S;
	float *X = blobs(64, S, S, 1, 6);
	struct fden_conv_options o = small_opts(NULL);
	struct fden_invnet *net = (void *)0x1;

	o.struct_size = 8;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_VERSION);
	o = small_opts(NULL);
	o.height = 5; /* 5 x 12 x 1 != 144 */
	o.width = 12;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "shape"));
	o = small_opts(NULL);
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, 143, K, &o, &net), FDEN_E_INVALID);
	o.levels = 5; /* 12 -> 6 -> 3 -> 1 -> too small */
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.lr = NAN;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.loss = 2;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.time_budget = -1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.height = 13; /* 13 x 12: the two axes halve with different parities */
	o.width = 12;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 12, 156, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.contrast = -1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "contrast"));
	o = small_opts(NULL);
	o.contrast = 0.5;
	o.contrast_tau = 0;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o.contrast_tau = 0.2;
	o.aug_scale = 1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o.aug_scale = 0.1;
	o.aug_rotation = NAN;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o.aug_rotation = 10;
	o.batch = 1;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, 0, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_conv(NULL, 64, d, K, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, NULL), FDEN_E_INVALID);
	X[17] = NAN;
	ck_assert_int_eq(fden_invnet_fit_conv(X, 64, d, K, &o, &net), FDEN_E_NONFINITE);
	ck_assert_ptr_eq(net, (void *)0x1);
	free(X);
}
END_TEST

static Suite *convae_suite(void)
{
	Suite *s = suite_create("convae");
	TCase *tc = tcase_create("convae");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_loss_goes_down, 0, 3);
	tcase_add_test(tc, test_deterministic_save_load);
	tcase_add_test(tc, test_loader_checks_records);
	tcase_add_test(tc, test_reentrant_and_nonfinite);
	tcase_add_test(tc, test_time_budget);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_contrast);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(convae_suite(), 0);
}
