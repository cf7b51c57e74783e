/* PCA by randomized SVD: exact on low-rank data, the same subspace as an
 * exact (Jacobi) eigen-decomposition of the covariance, deterministic, and
 * identical after a save/load round trip. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fden/fden.h>
#include "invnet/builtin.h"
#include "kernels/rng.h"
#include "../testutil.h"

/* X (n x d) = A (n x r) diag(0.8^q) B (r x d) + offset, A and B normal:
 * a geometrically decaying spectrum, as images have. */
static float *low_rank(size_t n, size_t d, size_t r, uint64_t seed, float offset)
{
	struct fd_rng rng;
	float *A = malloc(n * r * sizeof(float)), *B = malloc(r * d * sizeof(float));
	float *X = malloc(n * d * sizeof(float));

	fd_rng_seed(&rng, seed);
	fd_rng_fill_normal(&rng, A, n * r, 1.0f);
	fd_rng_fill_normal(&rng, B, r * d, 1.0f);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			double s = offset + 0.1 * (double)j;
			for (size_t q = 0; q < r; q++)
				s += (double)A[i * r + q] * B[q * d + j] * pow(0.8, (double)q);
			X[i * d + j] = (float)s;
		}
	free(A);
	free(B);
	return X;
}

/* Relative reconstruction error ||X - decode(encode(X))|| / ||X - mean||. */
static double recon_error(struct fden_invnet *net, const float *X, size_t n, size_t d)
{
	size_t k = fden_invnet_latent_dim(net);
	float *Z = malloc(n * k * sizeof(float)), *R = malloc(n * d * sizeof(float));
	double *mean = calloc(d, sizeof(double)), num = 0, den = 0;

	ck_assert_int_eq(fden_invnet_encode(net, X, n, Z), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, Z, n, R), FDEN_OK);
	for (size_t i = 0; i < n * d; i++)
		mean[i % d] += X[i] / (double)n;
	for (size_t i = 0; i < n * d; i++) {
		num += (X[i] - (double)R[i]) * (X[i] - (double)R[i]);
		den += (X[i] - mean[i % d]) * (X[i] - mean[i % d]);
	}
	free(Z);
	free(R);
	free(mean);
	return sqrt(num / den);
}

START_TEST(test_low_rank_exact)
{
	const size_t n = 600, d = 50, r = 5;
	float *X = low_rank(n, d, r, 11, 3.0f);
	size_t ks[] = { 5, 8, 20 };

	for (int t = 0; t < 3; t++) {
		struct fden_invnet *net = NULL;
		double e;

		ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, ks[t], 1, &net), FDEN_OK);
		e = recon_error(net, X, n, d);
		ck_assert_msg(e < 1e-5, "k=%zu: relative error %g", ks[t], e);
		fden_invnet_free(net);
	}
	/* k < rank loses information */
	{
		struct fden_invnet *net = NULL;
		ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, 3, 1, &net), FDEN_OK);
		ck_assert_double_gt(recon_error(net, X, n, d), 0.05);
		fden_invnet_free(net);
	}
	free(X);
}
END_TEST

START_TEST(test_jacobi)
{
	/* a random symmetric 12 x 12: A V = V diag(w), V^T V = I, w descending */
	enum { N = 12 };
	double A[N * N], A0[N * N], V[N * N], w[N];
	struct fd_rng rng;

	fd_rng_seed(&rng, 5);
	for (int i = 0; i < N; i++)
		for (int j = 0; j <= i; j++)
			A[i * N + j] = A[j * N + i] = fd_rng_normal(&rng);
	memcpy(A0, A, sizeof A);
	ck_assert_int_le(fd_jacobi_eigh(A, N, w, V, 50), 50);
	for (int i = 0; i < N; i++) {
		if (i)
			ck_assert_double_ge(w[i - 1], w[i]);
		for (int j = 0; j < N; j++) {
			double av = 0, vv = 0;
			for (int q = 0; q < N; q++) {
				av += A0[i * N + q] * V[q * N + j];
				vv += V[q * N + i] * V[q * N + j];
			}
			ck_assert_double_eq_tol(av, V[i * N + j] * w[j], 1e-10);
			ck_assert_double_eq_tol(vv, i == j, 1e-12);
		}
	}
	/* a known one: [[2,1],[1,2]] has 3 and 1 */
	{
		double B[4] = { 2, 1, 1, 2 }, U[4], u[2];
		fd_jacobi_eigh(B, 2, u, U, 10);
		ck_assert_double_eq_tol(u[0], 3, 1e-14);
		ck_assert_double_eq_tol(u[1], 1, 1e-14);
		ck_assert_double_eq_tol(fabs(U[0]), sqrt(0.5), 1e-14);
	}
}
END_TEST

/* Components read through the public API: decode(0) = mean, and
 * encode(mean + e_i) = row i of V. */
static void components(struct fden_invnet *net, size_t d, double *V)
{
	size_t k = fden_invnet_latent_dim(net);
	float *zero = calloc(k, sizeof(float)), *mean = malloc(d * sizeof(float));
	float *E = malloc(d * d * sizeof(float)), *Z = malloc(d * k * sizeof(float));

	ck_assert_int_eq(fden_invnet_decode(net, zero, 1, mean), FDEN_OK);
	for (size_t i = 0; i < d; i++)
		for (size_t j = 0; j < d; j++)
			E[i * d + j] = mean[j] + (i == j);
	ck_assert_int_eq(fden_invnet_encode(net, E, d, Z), FDEN_OK);
	for (size_t i = 0; i < d * k; i++)
		V[i] = Z[i];
	free(zero);
	free(mean);
	free(E);
	free(Z);
}

START_TEST(test_matches_exact)
{
	/* full-rank data with a decaying spectrum: rank 30 signal + noise */
	const size_t n = 800, d = 40, k = 6;
	float *X = low_rank(n, d, 30, 23, -1.0f);
	double C[40 * 40], U[40 * 40], w[40], V[40 * 6], mean[40] = { 0 };
	struct fden_invnet *net = NULL;
	double maxdiff = 0;

	for (size_t i = 0; i < n * d; i++)
		mean[i % d] += X[i] / (double)n;
	for (size_t a = 0; a < d; a++)
		for (size_t b = 0; b < d; b++) {
			double s = 0;
			for (size_t i = 0; i < n; i++)
				s += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]);
			C[a * d + b] = s / (double)(n - 1);
		}
	fd_jacobi_eigh(C, (int)d, w, U, 100);
	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, k, 99, &net), FDEN_OK);
	components(net, d, V);
	/* each component equals the exact eigenvector up to sign */
	for (size_t j = 0; j < k; j++) {
		double dot = 0;
		for (size_t i = 0; i < d; i++)
			dot += V[i * k + j] * U[i * d + j];
		ck_assert_msg(fabs(fabs(dot) - 1) < 1e-4, "component %zu: |cos| = %.8f", j, fabs(dot));
	}
	/* and the projectors agree */
	for (size_t a = 0; a < d; a++)
		for (size_t b = 0; b < d; b++) {
			double p = 0, q = 0;
			for (size_t j = 0; j < k; j++) {
				p += V[a * k + j] * V[b * k + j];
				q += U[a * d + j] * U[b * d + j];
			}
			if (fabs(p - q) > maxdiff)
				maxdiff = fabs(p - q);
		}
	ck_assert_msg(maxdiff < 1e-4, "projector difference %g", maxdiff);
	/* the latents are uncorrelated with variances w_j */
	{
		float *Z = malloc(n * k * sizeof(float));
		ck_assert_int_eq(fden_invnet_encode(net, X, n, Z), FDEN_OK);
		for (size_t a = 0; a < k; a++)
			for (size_t b = 0; b < k; b++) {
				double s = 0;
				for (size_t i = 0; i < n; i++)
					s += (double)Z[i * k + a] * Z[i * k + b];
				s /= (double)(n - 1);
				ck_assert_double_eq_tol(s, a == b ? w[a] : 0, 1e-3 * w[0]);
			}
		free(Z);
	}
	fden_invnet_free(net);
	free(X);
}
END_TEST

START_TEST(test_deterministic_and_args)
{
	const size_t n = 300, d = 30, k = 4;
	float *X = low_rank(n, d, 10, 3, 0.5f);
	float *Z1 = malloc(n * k * sizeof(float)), *Z2 = malloc(n * k * sizeof(float));
	struct fden_invnet *a = NULL, *b = NULL, *c = (void *)0x1;

	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, k, 7, &a), FDEN_OK);
	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, k, 7, &b), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(a, X, n, Z1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(b, X, n, Z2), FDEN_OK);
	ck_assert_mem_eq(Z1, Z2, n * k * sizeof(float));
	ck_assert_int_eq(fden_invnet_encode_dist(a, X, 1, Z1, Z2), FDEN_E_UNSUPPORTED);
	fden_invnet_free(a);
	fden_invnet_free(b);

	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, d + 1, 7, &c), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, 0, 7, &c), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_pca(X, 1, d, k, 7, &c), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_fit_pca(NULL, n, d, k, 7, &c), FDEN_E_INVALID);
	X[17] = NAN;
	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, k, 7, &c), FDEN_E_NONFINITE);
	ck_assert_ptr_eq(c, (void *)0x1);
	/* k = d and n < k + oversampling still give an orthonormal basis */
	X[17] = 0;
	ck_assert_int_eq(fden_invnet_fit_pca(X, 8, d, d, 7, &a), FDEN_OK);
	ck_assert_double_lt(recon_error(a, X, 8, d), 1e-5);
	fden_invnet_free(a);
	free(X);
	free(Z1);
	free(Z2);
}
END_TEST

START_TEST(test_save_load)
{
	const size_t n = 300, d = 30, k = 6;
	float *X = low_rank(n, d, 10, 4, 2.0f);
	float *Z1 = malloc(n * k * sizeof(float)), *Z2 = malloc(n * k * sizeof(float));
	float *R1 = malloc(n * d * sizeof(float)), *R2 = malloc(n * d * sizeof(float));
	struct fden_invnet *a = NULL, *b = NULL;
	char path[] = "/tmp/fden-pca-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fden_invnet_fit_pca(X, n, d, k, 1, &a), FDEN_OK);
	ck_assert_int_eq(fden_invnet_save(a, path), FDEN_OK);
	ck_assert_int_eq(fden_invnet_load(path, &b), FDEN_OK);
	ck_assert_uint_eq(fden_invnet_input_dim(b), d);
	ck_assert_uint_eq(fden_invnet_latent_dim(b), k);
	ck_assert_int_eq(fden_invnet_encode(a, X, n, Z1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(b, X, n, Z2), FDEN_OK);
	ck_assert_mem_eq(Z1, Z2, n * k * sizeof(float));
	ck_assert_int_eq(fden_invnet_decode(a, Z1, n, R1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(b, Z1, n, R2), FDEN_OK);
	ck_assert_mem_eq(R1, R2, n * d * sizeof(float));
	fden_invnet_free(a);
	fden_invnet_free(b);
	/* a truncated or altered file is an error, never a crash */
	{
		FILE *f = fopen(path, "r+b");
		long len;
		struct fden_invnet *c = (void *)0x1;
		int rc;

		ck_assert_ptr_nonnull(f);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, len / 2, SEEK_SET);
		fputc(fgetc(f) ^ 0x40, f); /* flip a bit in the compressed payload */
		fclose(f);
		rc = fden_invnet_load(path, &c);
		ck_assert_msg(rc == FDEN_E_CORRUPT || rc == FDEN_E_FORMAT, "altered: %d", rc);
		ck_assert_int_eq(truncate(path, len / 3), 0);
		rc = fden_invnet_load(path, &c);
		ck_assert_msg(rc == FDEN_E_FORMAT || rc == FDEN_E_CORRUPT, "truncated: %d", rc);
		ck_assert_ptr_nonnull(strstr(fden_last_error(), path));
		ck_assert_ptr_eq(c, (void *)0x1);
	}
	unlink(path);
	free(X);
	free(Z1);
	free(Z2);
	free(R1);
	free(R2);
}
END_TEST

static Suite *pca_suite(void)
{
	Suite *s = suite_create("pca");
	TCase *tc = tcase_create("pca");

	tcase_add_test(tc, test_jacobi);
	tcase_add_test(tc, test_low_rank_exact);
	tcase_add_test(tc, test_matches_exact);
	tcase_add_test(tc, test_deterministic_and_args);
	tcase_add_test(tc, test_save_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(pca_suite(), 0);
}
