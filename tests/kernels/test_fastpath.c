/* The performance paths (bench/README.md): fd_gemm's one-row kernel against
 * a naive double product and, where BLIS's own one-row order is the same
 * (k <= 64, n a multiple of 16, AVX2+FMA), against bli_sgemm bit for bit;
 * a setting fd_mlp_backward (fd_mlp_bwd.set) against zero_grad + an adding
 * one; the fused reductions (fd_vec_copy_sumsq, fd_clip_combine) against the plain ones. */
#include <blis.h>
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fden/clip.h"
#include "kernels/vec.h"
#include "kernels/gemm.h"
#include "kernels/rng.h"
#include "nn/mlp.h"
#include "../testutil.h"

static float *randv(struct fd_rng *r, size_t n)
{
	float *x = malloc(n * sizeof *x);

	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < n; i++)
		x[i] = 2.0f * fd_rng_uniform(r) - 1.0f;
	return x;
}

/* c (1 x n, padded to n + 5) = alpha op(a) B + beta c, against double */
static void row_case(int ta, int n, int k, float alpha, float beta)
{
	struct fd_rng r;
	int ldb = n + 3, lda = ta ? 7 : k; /* ta: a is a column of a k x 7 matrix */
	float *A, *B, *C, *C0;

	fd_rng_seed(&r, (uint64_t)(n * 131 + k * 7 + ta));
	A = randv(&r, (size_t)k * lda);
	B = randv(&r, (size_t)k * ldb);
	C = randv(&r, (size_t)n + 5);
	C0 = malloc(((size_t)n + 5) * sizeof *C0);
	ck_assert_ptr_nonnull(C0);
	if (beta == 0.0f)
		C[n / 2] = NAN; /* beta 0 must overwrite, not multiply */
	memcpy(C0, C, ((size_t)n + 5) * sizeof *C);
	fd_gemm(ta, 0, 1, n, k, alpha, A, lda, B, ldb, beta, C, n, 1);
	for (int j = 0; j < n; j++) {
		double s = 0;

		for (int p = 0; p < k; p++)
			s += (double)(ta ? A[(size_t)p * lda] : A[p]) * B[(size_t)p * ldb + j];
		s = alpha * s + (beta == 0.0f ? 0.0 : (double)beta * C0[j]);
		ck_assert_msg(fabs(C[j] - s) <= 1e-5 * (k + 1),
			      "n %d k %d ta %d: c[%d] = %g, expected %g", n, k, ta, j, (double)C[j], s);
	}
	for (int j = n; j < n + 5; j++) /* padding untouched */
		ck_assert(C[j] == C0[j]);
	free(A);
	free(B);
	free(C);
	free(C0);
}

START_TEST(row_matches_double)
{
	static const int ns[] = { 16, 48, 512, 1024, 1040 }, ks[] = { 1, 3, 4, 5, 64, 100, 1000 };

	for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
		for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
			for (int ta = 0; ta < 2; ta++) {
				row_case(ta, ns[a], ks[b], 1.0f, 0.0f);
				row_case(ta, ns[a], ks[b], 0.5f, 1.0f);
				row_case(ta, ns[a], ks[b], 1.0f, -2.0f);
			}
}
END_TEST

/* Same bits as BLIS's one-row sgemm (as fd_gemm configures it) where the
 * two share an order. */
START_TEST(row_same_bits_as_blis)
{
	static const int ns[] = { 16, 64, 256, 512, 1024 }, ks[] = { 1, 2, 7, 8, 33, 64 };
	struct fd_rng r;
	rntm_t rntm = BLIS_RNTM_INITIALIZER;

	const char *pre = getenv("LD_PRELOAD");

	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return; /* the row kernel is not used: fd_gemm is BLIS itself */
	if (pre && strstr(pre, "vgpreload"))
		return; /* valgrind's FMA emulation does not round like the hardware */
	bli_rntm_set_num_threads(1, &rntm);
	bli_rntm_disable_l3_sup(&rntm); /* BLIS as fd_gemm calls it */
	fd_rng_seed(&r, 9);
	for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
		for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
			for (int bz = 0; bz < 2; bz++) {
				int n = ns[a], k = ks[b];
				float *A = randv(&r, (size_t)k), *B = randv(&r, (size_t)k * n);
				float *C1 = randv(&r, (size_t)n), *C2 = malloc((size_t)n * sizeof *C2);
				float one = 1.0f, beta = bz ? 1.0f : 0.0f;

				ck_assert_ptr_nonnull(C2);
				memcpy(C2, C1, (size_t)n * sizeof *C1);
				fd_gemm(0, 0, 1, n, k, 1.0f, A, k, B, n, beta, C1, n, 1);
				bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, 1, n, k, &one, A, k, 1,
					     B, n, 1, &beta, C2, n, 1, NULL, &rntm);
				ck_assert_msg(!memcmp(C1, C2, (size_t)n * sizeof *C1),
					      "n %d k %d beta %g: bits differ from BLIS", n, k, (double)beta);
				free(A);
				free(B);
				free(C1);
				free(C2);
			}
}
END_TEST

/* backward_set over stale gradients == zero_grad + backward */
START_TEST(backward_set_equals_zero_then_add)
{
	struct fd_layer_spec l[3] = {
		{ .width = 24, .bias = 1, .batchnorm = 1, .dropout = 0.2f, .act = FD_ACT_LEAKY },
		{ .width = 16, .bias = 1, .batchnorm = 0, .dropout = 0.2f, .act = FD_ACT_LEAKY },
		{ .width = 5, .bias = 1, .batchnorm = 0, .dropout = 0.0f, .act = FD_ACT_LINEAR },
	};
	struct fd_mlp_cfg c = {
		.in = 9,
		.nlayers = 3,
		.layers = l,
		.leaky_slope = 0.01f,
		.drop_before = 0,
		.init = FD_INIT_GLOROT_NORMAL,
		.init_sigma = 0.02f,
		.bn_momentum = 0.99f,
		.bn_eps = 1e-3f,
		.nthreads = 1,
	};
	enum { NR = 13 };
	struct fd_rng r, dr;
	struct fd_err err;
	struct fd_mlp *m = NULL;
	float *X, *dY, dX1[NR * 9], dX2[NR * 9], **g1;
	int np;

	fd_rng_seed(&r, 4);
	ck_assert_int_eq(fd_mlp_new(&c, "t", NULL, &r, &err, &m), FDEN_OK);
	ck_assert_int_eq(fd_mlp_reserve(m, NR, &err), FDEN_OK);
	X = randv(&r, NR * 9);
	dY = randv(&r, NR * 5);
	fd_rng_seed(&dr, 77);
	ck_assert_ptr_nonnull(fd_mlp_forward(m, X, NR, &dr, NULL));
	np = fd_mlp_nparams(m);
	g1 = calloc((size_t)np, sizeof *g1);
	ck_assert_ptr_nonnull(g1);
	fd_mlp_zero_grad(m);
	fd_mlp_backward(m, dY, dX1, NULL);
	for (int i = 0; i < np; i++) {
		struct fd_param *p = fd_mlp_param(m, i);

		g1[i] = malloc(p->n * sizeof **g1);
		ck_assert_ptr_nonnull(g1[i]);
		memcpy(g1[i], p->g, p->n * sizeof **g1);
		for (size_t j = 0; j < p->n; j++) /* stale values, NaN included */
			p->g[j] = j % 3 ? 1e30f : NAN;
	}
	for (int rep = 0; rep < 2; rep++) { /* twice: a second set does not add */
		ck_assert_int_eq(fd_mlp_backward(m, dY, dX2, &(struct fd_mlp_bwd){ .set = 1 }), FDEN_OK);
		for (int i = 0; i < np; i++) {
			struct fd_param *p = fd_mlp_param(m, i);

			for (size_t j = 0; j < p->n; j++)
				ck_assert_msg(p->g[j] == g1[i][j], "rep %d %s[%zu]: %g vs %g", rep,
					      p->name, j, (double)p->g[j], (double)g1[i][j]);
		}
		ck_assert(!memcmp(dX1, dX2, sizeof dX1));
	}
	for (int i = 0; i < np; i++)
		free(g1[i]);
	free(g1);
	free(X);
	free(dY);
	fd_mlp_free(m);
}
END_TEST

/* copy + sum of squares in one pass == memcpy + fd_vec_sumsq, bit for bit */
START_TEST(copy_sumsq_same_bits)
{
	struct fd_rng r;

	fd_rng_seed(&r, 12);
	for (size_t n = 0; n < 70; n += 3) {
		float *x = randv(&r, n + 1), *y = malloc((n + 1) * sizeof *y);
		double s;

		ck_assert_ptr_nonnull(y);
		y[n] = 42.0f;
		s = fd_vec_copy_sumsq(y, x, n);
		ck_assert(s == fd_vec_sumsq(x, n));
		ck_assert(!memcmp(x, y, n * sizeof *x));
		ck_assert(y[n] == 42.0f); /* nothing past n */
		free(x);
		free(y);
	}
}
END_TEST

/* fd_clip_combine == fd_clip_adaptive (values, factor), the same bits with
 * out = g_u as with out = g_m, and its sum of squares is the result's; a
 * non-finite g_m gives a non-finite sum */
START_TEST(clip_combine_matches)
{
	struct fd_rng r;

	fd_rng_seed(&r, 13);
	for (int clip = 0; clip < 2; clip++)
		for (size_t n = 1; n < 300; n += 37)
			for (int big = 0; big < 2; big++) {
				float *gu = randv(&r, n), *gm = randv(&r, n), *a = malloc(n * sizeof *a);
				float *b = malloc(n * sizeof *b);
				double f1, f2, f3, f4, sq, sq3, sq4;

				ck_assert_ptr_nonnull(a);
				ck_assert_ptr_nonnull(b);
				for (size_t i = 0; i < n; i++)
					gm[i] *= big ? 30.0f : 0.01f; /* clipped or not */
				memcpy(a, gu, n * sizeof *a);
				f1 = fd_clip_adaptive(a, gm, n, clip); /* a = g_u + f g_m */
				/* out = g_u (the in-place clipping hook) */
				memcpy(b, gu, n * sizeof *b);
				/* ||g_u|| computed inside (nu2 < 0): the same up to rounding */
				f4 = fd_clip_combine(b, -1.0, gm, b, n, clip, &sq4);
				memcpy(b, gu, n * sizeof *b);
				f3 = fd_clip_combine(b, fd_vec_sumsq(b, n), gm, b, n, clip, &sq3);
				ck_assert_double_eq_tol(f4, f3, 1e-5 * f3);
				ck_assert_double_eq_tol(sq4, sq3, 1e-4 * (1 + sq3));
				f2 = fd_clip_combine(gu, fd_vec_sumsq(gu, n), gm, gm, n, clip, &sq); /* gm = ... */
				ck_assert_double_eq_tol(f1, f2, 1e-12 * (1 + f1));
				ck_assert(f2 == f3 && sq == sq3);

				for (size_t i = 0; i < n; i++) {
					ck_assert_float_eq_tol(gm[i], a[i], 1e-6f * (1 + fabsf(a[i])));
					ck_assert(b[i] == gm[i]); /* either alias: the same bits */
				}
				ck_assert_double_eq_tol(sq, fd_vec_sumsq(gm, n), 1e-9 * (1 + sq));
				if (clip && big)
					ck_assert(f2 < 1.0);
				gm[n / 2] = NAN;
				fd_clip_combine(gu, fd_vec_sumsq(gu, n), gm, gm, n, clip, &sq);
				ck_assert(!isfinite(sq));
				free(gu);
				free(gm);
				free(a);
				free(b);
			}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fastpath");
	TCase *t = tcase_create("fastpath");

	tcase_add_test(t, row_matches_double);
	tcase_add_test(t, row_same_bits_as_blis);
	tcase_add_test(t, backward_set_equals_zero_then_add);
	tcase_add_test(t, copy_sumsq_same_bits);
	tcase_add_test(t, clip_combine_matches);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_check_main(suite(), 0);
}
