/* The built-in MLP autoencoder: the loss goes down, training is
 * deterministic for a seed, save/load gives identical encodings, options
 * and inputs are checked. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fden/fden.h>
#include "kernels/rng.h"
#include "../testutil.h"

enum { N = 512,
       D = 64,
       R = 4,
       K = 8 };

/* x = sigmoid(A B), A N x R, B R x D normal: inputs in (0, 1) on a curved
 * rank-R manifold. */
static float *make_data(uint64_t seed)
{
	struct fd_rng rng;
	float A[N * R], B[R * D];
	float *X = malloc(sizeof(float) * N * D);

	fd_rng_seed(&rng, seed);
	fd_rng_fill_normal(&rng, A, N * R, 1.0f);
	fd_rng_fill_normal(&rng, B, R * D, 1.0f);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++) {
			double s = 0;
			for (int q = 0; q < R; q++)
				s += A[i * R + q] * B[q * D + j];
			X[i * D + j] = (float)(1 / (1 + exp(-s)));
		}
	return X;
}

struct losses {
	int n;
	double mse[64];
};

static void log_fn(void *ud, int level, const char *fmt, va_list ap)
{
	struct losses *l = ud;
	char buf[256];
	const char *p;

	vsnprintf(buf, sizeof buf, fmt, ap);
	ck_assert_int_eq(level, FDEN_LOG_INFO);
	p = strstr(buf, "mse ");
	ck_assert_ptr_nonnull(p);
	if (l->n < 64)
		l->mse[l->n++] = atof(p + 4);
}

static struct fden_ae_options small_opts(struct losses *l)
{
	struct fden_ae_options o;

	fden_ae_options_default(&o);
	o.hidden = 64;
	o.epochs = 30;
	o.batch = 32;
	o.lr = 3e-3;
	o.seed = 17;
	o.log = l ? log_fn : NULL;
	o.log_user_data = l;
	return o;
}

static double recon_mse(struct fden_invnet *net, const float *X)
{
	float *Z = malloc(sizeof(float) * N * K), *Y = malloc(sizeof(float) * N * D);
	double s = 0;

	ck_assert_int_eq(fden_invnet_encode(net, X, N, Z), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, Z, N, Y), FDEN_OK);
	for (int i = 0; i < N * D; i++)
		s += (X[i] - (double)Y[i]) * (X[i] - (double)Y[i]);
	free(Z);
	free(Y);
	return s / (N * D);
}

START_TEST(test_defaults)
{
	struct fden_ae_options o;

	memset(&o, 0x5a, sizeof o);
	fden_ae_options_default(&o);
	ck_assert_uint_eq(o.struct_size, sizeof o);
	ck_assert_uint_eq(o.hidden, 512);
	ck_assert_uint_eq(o.epochs, 10);
	ck_assert_uint_eq(o.batch, 128);
	ck_assert_double_eq(o.lr, 1e-3);
	ck_assert_int_eq(o.threads, 1);
	ck_assert_ptr_null(o.log);
	fden_ae_options_default(NULL);
}
END_TEST

START_TEST(test_loss_goes_down)
{
	float *X = make_data(1);
	struct losses l = { 0 };
	struct fden_ae_options o = small_opts(&l);
	struct fden_invnet *net = NULL;
	double var = 0, mean = 0, mse;

	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_OK);
	ck_assert_uint_eq(fden_invnet_input_dim(net), D);
	ck_assert_uint_eq(fden_invnet_latent_dim(net), K);
	ck_assert_int_eq(l.n, 30); /* one progress line per epoch */
	for (int i = 1; i < l.n; i++)
		ck_assert(isfinite(l.mse[i]));
	ck_assert_msg(l.mse[l.n - 1] < 0.25 * l.mse[0], "mse %g -> %g", l.mse[0],
		      l.mse[l.n - 1]);
	for (int i = 0; i < N * D; i++)
		mean += X[i] / (N * D);
	for (int i = 0; i < N * D; i++)
		var += (X[i] - mean) * (X[i] - mean) / (N * D);
	mse = recon_mse(net, X);
	ck_assert_msg(mse < 0.1 * var, "reconstruction mse %g vs data variance %g", mse, var);
	fprintf(stderr, "autoencoder: training mse %.5f -> %.5f, eval mse %.5f, variance %.5f\n",
		l.mse[0], l.mse[l.n - 1], mse, var);
	fden_invnet_free(net);
	free(X);
}
END_TEST

START_TEST(test_deterministic_save_load)
{
	float *X = make_data(2);
	struct fden_ae_options o = small_opts(NULL);
	struct fden_invnet *a = NULL, *b = NULL, *c = NULL;
	float *Za = malloc(sizeof(float) * N * K), *Zb = malloc(sizeof(float) * N * K);
	float *Ya = malloc(sizeof(float) * N * D), *Yb = malloc(sizeof(float) * N * D);
	char path[] = "/tmp/fden-ae-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	o.epochs = 3;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &a), FDEN_OK);
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &b), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(a, X, N, Za), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(b, X, N, Zb), FDEN_OK);
	ck_assert_mem_eq(Za, Zb, sizeof(float) * N * K);
	fden_invnet_free(b);
	b = NULL;
	/* a different seed gives a different network */
	o.seed = 18;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &c), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(c, X, N, Zb), FDEN_OK);
	ck_assert(memcmp(Za, Zb, sizeof(float) * N * K) != 0);
	fden_invnet_free(c);

	ck_assert_int_eq(fden_invnet_save(a, path), FDEN_OK);
	ck_assert_int_eq(fden_invnet_load(path, &b), FDEN_OK);
	ck_assert_uint_eq(fden_invnet_input_dim(b), D);
	ck_assert_uint_eq(fden_invnet_latent_dim(b), K);
	ck_assert_int_eq(fden_invnet_encode(b, X, N, Zb), FDEN_OK);
	ck_assert_mem_eq(Za, Zb, sizeof(float) * N * K);
	ck_assert_int_eq(fden_invnet_decode(a, Za, N, Ya), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(b, Za, N, Yb), FDEN_OK);
	ck_assert_mem_eq(Ya, Yb, sizeof(float) * N * D);
	for (int i = 0; i < N * D; i++)
		ck_assert(Ya[i] >= 0 && Ya[i] <= 1); /* sigmoid output */
	ck_assert_int_eq(fden_invnet_encode_dist(b, X, 1, Za, Zb), FDEN_E_UNSUPPORTED);
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

START_TEST(test_bad_args)
{
	float *X = make_data(3);
	struct fden_ae_options o = small_opts(NULL);
	struct fden_invnet *net = (void *)0x1;

	o.struct_size = 8;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_VERSION);
	o = small_opts(NULL);
	o.hidden = 0;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "hidden"));
	o = small_opts(NULL);
	o.lr = 0;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_INVALID);
	o.lr = NAN;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	o.epochs = 0;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_INVALID);
	o = small_opts(NULL);
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, 0, K, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, 0, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, 0, D, K, &o, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_autoencoder(NULL, N, D, K, &o, &net), FDEN_E_INVALID);
	X[100] = INFINITY;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(X, N, D, K, &o, &net), FDEN_E_NONFINITE);
	ck_assert_ptr_eq(net, (void *)0x1);
	free(X);
}
END_TEST

static Suite *ae_suite(void)
{
	Suite *s = suite_create("autoencoder");
	TCase *tc = tcase_create("autoencoder");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_loss_goes_down);
	tcase_add_test(tc, test_deterministic_save_load);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(ae_suite(), 0);
}
