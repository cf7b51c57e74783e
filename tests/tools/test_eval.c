/* Suite tools-eval: the evaluation building blocks of the fden tool
 * (examples/fden/eval.c, cca.c, json.c) against hand-made cases whose
 * answers are known in closed form. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cca.h"
#include "eval.h"
#include "json.h"
#include "../testutil.h"

static uint64_t rng_state;

static double uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform()); /* Box-Muller */
}

START_TEST(proto_nearest_mean)
{
	/* class means (0,0), (10,0), (0,10); two shots each */
	const float sup[] = { -1, 0, 1, 0, 9, 1, 11, -1, 0, 9, 0, 11 };
	const int32_t lab[] = { 0, 0, 1, 1, 2, 2 };
	const float q[] = { 0.5f, 0.5f, 9, 0, 1, 8, 4, 0, 6, 0 };
	int32_t pred[5];
	double work[3 * 2 + 3];
	ev_proto_predict(sup, lab, 6, 3, q, 5, 2, work, pred);
	ck_assert_int_eq(pred[0], 0);
	ck_assert_int_eq(pred[1], 1);
	ck_assert_int_eq(pred[2], 2);
	ck_assert_int_eq(pred[3], 0); /* 4 is nearer 0 than 10 */
	ck_assert_int_eq(pred[4], 1); /* 6 is nearer 10 */
	/* the mean, not the nearest shot: shots at 0 and 10 for class 0, 6 for class 1 */
	const float s2[] = { 0, 10, 6 };
	const int32_t l2[] = { 0, 0, 1 };
	const float q2[] = { 9 };
	double w2[2 + 2];
	ev_proto_predict(s2, l2, 3, 2, q2, 1, 1, w2, pred);
	ck_assert_int_eq(pred[0], 1); /* |9-5| > |9-6| */
}
END_TEST

START_TEST(match_cosine_scale_invariant)
{
	const float sup[] = { 1, 0, 0, 1, -1, 0 };
	const int32_t lab[] = { 0, 1, 2 };
	float q[] = { 3, 0.5f, 0.2f, 7, -5, -1 };
	int32_t pred[3], pred2[3];
	double work[3 + 3];
	ev_match_predict(sup, lab, 3, 3, q, 3, 2, work, pred);
	ck_assert_int_eq(pred[0], 0);
	ck_assert_int_eq(pred[1], 1);
	ck_assert_int_eq(pred[2], 2);
	for (int i = 0; i < 6; i++)
		q[i] *= 100;
	ev_match_predict(sup, lab, 3, 3, q, 3, 2, work, pred2);
	ck_assert_mem_eq(pred, pred2, sizeof pred);
	/* a query far along the support of class 1 but closer in Euclidean
	 * distance to class 0's shot: cosine picks class 1 */
	const float s3[] = { 1, 1, 100, 0 };
	const int32_t l3[] = { 0, 1 };
	const float q3[] = { 3, 0.1f };
	double w3[2 + 2];
	ev_match_predict(s3, l3, 2, 2, q3, 1, 2, w3, pred);
	ck_assert_int_eq(pred[0], 1);
}
END_TEST

START_TEST(ci95_formula)
{
	double v[100], mean, ci;
	for (int i = 0; i < 100; i++)
		v[i] = i % 2;
	ev_mean_ci95(v, 100, &mean, &ci);
	ck_assert_double_eq_tol(mean, 0.5, 1e-12);
	/* sample std: sqrt(100 * 0.25 / 99) */
	ck_assert_double_eq_tol(ci, 1.96 * sqrt(25.0 / 99.0) / 10.0, 1e-12);
	for (int i = 0; i < 100; i++)
		v[i] = 0.7;
	ev_mean_ci95(v, 100, &mean, &ci);
	ck_assert_double_eq_tol(ci, 0, 1e-12);
}
END_TEST

START_TEST(psnr_known)
{
	float a[64], b[64];
	for (int i = 0; i < 64; i++) {
		a[i] = 0.25f;
		b[i] = 0.35f;
	}
	ck_assert_double_eq_tol(ev_psnr(a, b, 64, 1.0), 20.0, 1e-4); /* mse 0.01 */
	ck_assert_double_eq_tol(ev_psnr(a, b, 64, 255.0), 20.0 + 20 * log10(255.0), 1e-4);
	ck_assert(isinf(ev_psnr(a, a, 64, 1.0)));
}
END_TEST

START_TEST(loo_1nn)
{
	/* two tight clusters: perfect; alternating labels on a line: zero */
	float x[40];
	int32_t y[40];
	for (int i = 0; i < 20; i++) {
		x[i] = (float)(i < 10 ? 0.01 * i : 100 + 0.01 * i);
		y[i] = i < 10 ? 3 : 7;
	}
	ck_assert_double_eq_tol(ev_loo_1nn(x, y, 20, 1), 1.0, 1e-12);
	for (int i = 0; i < 40; i++) {
		x[i] = (float)i;
		y[i] = i % 2;
	}
	ck_assert_double_eq_tol(ev_loo_1nn(x, y, 40, 1), 0.0, 1e-12);
}
END_TEST

START_TEST(cholesky_and_jacobi)
{
	double L[9] = { 2, 0, 0, -1, 3, 0, 0.5, 1, 1.5 }, A[9], eig[3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			A[i * 3 + j] = 0;
			for (int k = 0; k < 3; k++)
				A[i * 3 + j] += L[i * 3 + k] * L[j * 3 + k]; /* A = L L^T */
		}
	ck_assert_int_eq(cca_cholesky(A, 3), 0);
	for (int i = 0; i < 9; i++)
		ck_assert_double_eq_tol(A[i], L[i], 1e-12);
	double notpd[4] = { 1, 2, 2, 1 };
	ck_assert_int_eq(cca_cholesky(notpd, 2), -1);
	/* Q diag(5, 2, -1) Q^T with Q a rotation about z then x */
	double c1 = cos(0.7), s1 = sin(0.7), c2 = cos(-1.1), s2 = sin(-1.1);
	double Rz[9] = { c1, -s1, 0, s1, c1, 0, 0, 0, 1 }, Rx[9] = { 1, 0, 0, 0, c2, -s2, 0, s2, c2 };
	double Q[9] = { 0 }, D[3] = { 5, 2, -1 }, M[9] = { 0 };
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 3; k++)
				Q[i * 3 + j] += Rz[i * 3 + k] * Rx[k * 3 + j];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 3; k++)
				M[i * 3 + j] += Q[i * 3 + k] * D[k] * Q[j * 3 + k];
	cca_jacobi_eigenvalues(M, 3, eig);
	int found[3] = { 0 };
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++)
			if (fabs(eig[i] - D[k]) < 1e-10)
				found[k] = 1;
	ck_assert(found[0] && found[1] && found[2]);
}
END_TEST

START_TEST(cca_known_correlations)
{
	const size_t n = 20000, d = 3;
	float *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y);
	float *ym = malloc(n * d * sizeof *ym);
	double corr[3], corr2[3];
	const double rho[3] = { 0.9, 0.5, 0.0 };
	/* an invertible mix of y's columns must not change the correlations */
	const double mixm[9] = { 1, 2, 0, -1, 0.5, 3, 0.2, 0, 1 };
	ck_assert(x && y && ym);
	rng_state = 12345;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			double a = normal(), e = normal();
			x[i * d + j] = (float)(3 * a + 1);
			y[i * d + j] = (float)(rho[j] * a + sqrt(1 - rho[j] * rho[j]) * e);
		}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			double s = 5;
			for (size_t k = 0; k < d; k++)
				s += mixm[j * 3 + k] * y[i * d + k];
			ym[i * d + j] = (float)s;
		}
	ck_assert_int_eq(cca(x, y, n, d, d, 1e-6, corr), 0);
	ck_assert_double_eq_tol(corr[0], 0.9, 0.02);
	ck_assert_double_eq_tol(corr[1], 0.5, 0.03);
	ck_assert_double_le(corr[2], 0.05);
	ck_assert_int_eq(cca(x, ym, n, d, d, 1e-6, corr2), 0);
	for (int k = 0; k < 3; k++)
		ck_assert_double_eq_tol(corr[k], corr2[k], 1e-3);
	/* unequal widths: x (3) vs the first column of y, correlation 0.9 */
	float *y1 = malloc(n * sizeof *y1);
	ck_assert(y1);
	for (size_t i = 0; i < n; i++)
		y1[i] = y[i * d];
	ck_assert_int_eq(cca(x, y1, n, d, 1, 1e-6, corr), 0);
	ck_assert_double_eq_tol(corr[0], 0.9, 0.02);
	free(x);
	free(y);
	free(ym);
	free(y1);
}
END_TEST

START_TEST(json_writer)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	struct json j;
	json_init(&j, f);
	json_open(&j, NULL, '{');
	json_str(&j, "name", "a\"b\\c\n");
	json_num(&j, "x", 1.5);
	json_num(&j, "nan", NAN);
	json_open(&j, "list", '[');
	json_int(&j, NULL, 3);
	json_bool(&j, NULL, 1);
	json_close(&j, ']');
	json_open(&j, "empty", '{');
	json_close(&j, '}');
	json_close(&j, '}');
	fclose(f);
	ck_assert_str_eq(buf, "{\n  \"name\": \"a\\\"b\\\\c\\n\",\n  \"x\": 1.5,\n  \"nan\": null,\n"
			      "  \"list\": [\n    3,\n    true\n  ],\n  \"empty\": {}\n}\n");
	free(buf);
}
END_TEST

START_TEST(report_json_fields)
{
	struct ev_report r;
	memset(&r, 0, sizeof r);
	r.n_tasks = 1;
	r.task[0].ways = 5;
	r.task[0].shots = 1;
	r.task[0].done = 1;
	r.task[0].mean[EV_IDE] = 0.5;
	r.task[0].ci95[EV_IDE] = 0.01;
	r.psnr_fden = NAN;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ev_write_json(f, &r, "x");
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"f_ide\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"mean\": 50,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"psnr_fden_vs_host\": null"));
	ck_assert_ptr_nonnull(strstr(buf, "\"chance\": 20"));
	ck_assert_ptr_nonnull(strstr(buf, "\"best_raw_z\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"probe\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"hsic\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"swap_judge\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"style_judge\": {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"mass_corr_b\": "));
	ck_assert_ptr_nonnull(strstr(buf, "\"analogy_residual_nearer_b\": "));
	free(buf);
	/* the compact row lines up with its header: same number of columns */
	buf = NULL;
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ev_print_compact_header(f, &r);
	ev_print_compact(f, "cfg", &r);
	fclose(f);
	char *nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	int cols[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		const char *p = k ? nl + 1 : buf, *e = k ? buf + strlen(buf) : nl;
		for (int in = 0; p < e; p++) {
			if (*p != ' ' && *p != '\n' && !in)
				cols[k]++;
			in = *p != ' ' && *p != '\n';
		}
	}
	ck_assert_int_eq(cols[0], cols[1]);
	ck_assert_ptr_nonnull(strstr(nl, " 50.0 "));
	free(buf);
}
END_TEST

START_TEST(best_raw_is_strongest)
{
	struct ev_fewshot t;
	memset(&t, 0, sizeof t);
	for (int k = 0; k < EV_N_ROWS; k++)
		t.mean[k] = 0.1 * k;
	t.mean[EV_IDE] = 0.99; /* never a raw-z row */
	t.mean[EV_HEAD] = 0.98;
	t.mean[EV_Z_PROTO] = 0.40;
	t.mean[EV_Z_MATCH] = 0.45;
	t.mean[EV_ZSTD_PROTO] = 0.41;
	t.mean[EV_Z_SS] = 0.47;
	double acc;
	ck_assert_int_eq(ev_best_raw(&t, &acc), EV_Z_SS);
	ck_assert_double_eq(acc, 0.47);
	t.mean[EV_Z_MATCH] = 0.50;
	ck_assert_int_eq(ev_best_raw(&t, &acc), EV_Z_MATCH);
	ck_assert_double_eq(acc, 0.50);
}
END_TEST

/* n rows of C classes (i % C), dim d: class means on the axes times
 * `sep` plus unit Gaussian noise. */
static void blobs(float *x, int32_t *y, size_t n, size_t C, size_t d, double sep)
{
	for (size_t i = 0; i < n; i++) {
		y[i] = (int32_t)(100 + i % C); /* labels need not start at 0 */
		for (size_t j = 0; j < d; j++)
			x[i * d + j] = (float)(normal() + (j == i % C % d ? sep : 0) +
					       (j == (i % C + 1) % d && i % C >= d ? sep : 0));
	}
}

START_TEST(probe_separable_and_random)
{
	enum { N = 400,
	       C = 10,
	       D = 8 };
	float *x = malloc(N * D * sizeof *x);
	int32_t *y = malloc(N * sizeof *y);
	size_t ntr, nte;
	rng_state = 7;
	blobs(x, y, N, C, D, 8.0); /* far apart: separable */
	double a = ev_probe(x, y, N, D, 300, 1e-3, &ntr, &nte);
	ck_assert_uint_eq(ntr, 200);
	ck_assert_uint_eq(nte, 200);
	ck_assert_msg(a > 0.97, "separable blobs: probe accuracy %.3f", a);
	/* the same features with labels unrelated to them */
	for (size_t i = 0; i < N; i++)
		y[i] = (int32_t)((uint32_t)(uniform() * C) % C);
	y[0] = 0; /* keep every class with >= 2 rows (seeded; checked below) */
	a = ev_probe(x, y, N, D, 300, 1e-3, &ntr, &nte);
	ck_assert(!isnan(a));
	ck_assert_msg(a < 0.2, "random labels: probe accuracy %.3f (chance 0.1)", a);
	/* a class with one row cannot be split */
	y[0] = 999;
	ck_assert(isnan(ev_probe(x, y, N, D, 10, 1e-3, NULL, NULL)));
	free(x);
	free(y);
}
END_TEST

START_TEST(hsic_dependent_and_independent)
{
	enum { N = 200,
	       D = 3 };
	float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y);
	double st, nm, p;
	rng_state = 11;
	for (size_t i = 0; i < N * D; i++) {
		x[i] = (float)normal();
		y[i] = (float)normal();
	}
	ck_assert_int_eq(ev_hsic(x, D, y, D, N, 200, 1, &st, &nm, &p), 0);
	ck_assert_msg(p > 0.01, "independent: p %.4f", p);
	ck_assert(st >= 0 && nm < 0.2);
	/* y depends on x non-linearly (uncorrelated: y0 = x0^2), the kernel sees it */
	for (size_t i = 0; i < N; i++)
		y[i * D] = x[i * D] * x[i * D] + 0.1f * (float)normal();
	ck_assert_int_eq(ev_hsic(x, D, y, D, N, 200, 1, &st, &nm, &p), 0);
	ck_assert_msg(p <= 0.01, "dependent: p %.4f", p);
	/* identical inputs: normalised HSIC 1, smallest p */
	ck_assert_int_eq(ev_hsic(x, D, x, D, N, 50, 1, &st, &nm, &p), 0);
	ck_assert_double_eq_tol(nm, 1.0, 1e-5);
	ck_assert_double_eq_tol(p, 1.0 / 51, 1e-12);
	ck_assert_int_eq(ev_hsic(x, D, y, D, 3, 10, 1, &st, &nm, &p), -1); /* too few rows */
	free(x);
	free(y);
}
END_TEST

START_TEST(pixel_judge_leaves_own_image_out)
{
	/* 1-pixel images; class 0 rows {0, 0, 6}, class 1 rows {4, 4}, class 2 {10, 10} */
	const float x[] = { 0, 0, 6, 4, 4, 10, 10 };
	const int32_t y[] = { 5, 5, 5, 7, 7, 9, 9 };
	/* pair 0: A = row 2 (the 6 of class 0), B = row 3; swap image 5.
	 *   with A in its mean: class 0 mean 2, |5-2| = 3 > |5-4| = 1 -> B.
	 *   A left out: class 0 mean 0, |5-0| = 5; B left out: class 1 mean 4 -> B.
	 * pair 1: A = row 3 (class 1), B = row 0; image 3.4: class 1 without
	 *   row 3 is 4 (0.6 away), class 0 without row 0 is 3 (0.4 away) -> B.
	 * pair 2: A = row 5 (class 2), B = row 2; image 9: class 2 (10) at 1,
	 *   class 0 without row 2 (0) at 9 -> A, and the nearest of all -> A.
	 * pair 3: A = row 0 (class 0), B = row 5; image 3.9: class 0 without
	 *   row 0 is 3 (0.9), class 2 10 -> A against B; among all, class 1
	 *   (4, 0.1 away) is nearer -> not A. */
	const float s[] = { 5, 3.4f, 9, 3.9f };
	const size_t a[] = { 2, 3, 5, 0 }, b[] = { 3, 0, 2, 5 };
	double ab, all;
	ck_assert_int_eq(ev_pixel_judge(x, y, 7, 1, s, a, b, 4, &ab, &all), 0);
	ck_assert_double_eq_tol(ab, 2.0 / 4, 1e-12);
	ck_assert_double_eq_tol(all, 1.0 / 4, 1e-12);
	/* where leaving A's and B's own images out decides: class 0 {0, 0, 12},
	 * class 1 {6, 2}.
	 * pair X: A = row 2 (12), B = row 3 (6), image 3.5: class 0 without
	 *   row 2 is 0 (3.5 away), class 1 without row 3 is 2 (1.5) -> B; with
	 *   row 2 kept class 0 would be 4 (0.5 away) -> A.
	 * pair Y: A = row 0, B = row 3, image 4.8: class 0 without row 0 is 6
	 *   (1.2), class 1 without row 3 is 2 (2.8) -> A; with row 3 kept class
	 *   1 would be 4 (0.8) -> B. */
	const float x2[] = { 0, 0, 12, 6, 2 };
	const int32_t y2[] = { 0, 0, 0, 1, 1 };
	const float s2[] = { 3.5f, 4.8f };
	const size_t a2[] = { 2, 0 }, b2[] = { 3, 3 };
	ck_assert_int_eq(ev_pixel_judge(x2, y2, 5, 1, s2, a2, b2, 2, &ab, &all), 0);
	ck_assert_double_eq_tol(ab, 0.5, 1e-12);
	ck_assert_double_eq_tol(all, 0.5, 1e-12);
	ck_assert_int_eq(ev_pixel_judge(x2, y2, 5, 1, s2, a2, b2, 1, &ab, &all), 0);
	ck_assert_double_eq(ab, 0); /* pair X alone: B */
}
END_TEST

static double u01(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*st >> 11) / 9007199254740992.0;
}

/* Images = class shape + a per-image style pattern and intensity. A swap
 * that is A's own decode carries no style of B: residual never nearer B's,
 * intensity follows A's exactly. A swap made of A's shape and B's style
 * carries it: nearer B's in (nearly) every pair, intensity following B's. */
START_TEST(style_judge_no_transfer_and_transfer)
{
	enum { C = 6,
	       R = 8,
	       N = C * R,
	       D = 24,
	       M = 300 };
	float *x = malloc(N * D * sizeof *x), *sty = malloc(N * D * sizeof *sty);
	float *s = malloc(M * D * sizeof *s), *ra = malloc(M * D * sizeof *ra);
	float *rb = malloc(M * D * sizeof *rb);
	int32_t y[N];
	size_t a[M], b[M];
	uint64_t st = 12345;
	double sb, mb, ma;
	float shape[C][D];
	for (int c = 0; c < C; c++)
		for (int k = 0; k < D; k++)
			shape[c][k] = (float)(4 * u01(&st));
	for (int i = 0; i < N; i++) {
		double level = 2 * u01(&st); /* the image's intensity */
		y[i] = 100 + i / R;
		for (int k = 0; k < D; k++) {
			sty[i * D + k] = (float)(u01(&st) - 0.5 + level);
			x[i * D + k] = shape[i / R][k] + sty[i * D + k];
		}
	}
	for (int i = 0; i < M; i++) {
		a[i] = (size_t)(u01(&st) * N);
		do
			b[i] = (size_t)(u01(&st) * N);
		while (y[b[i]] == y[a[i]]);
		for (int k = 0; k < D; k++) {
			ra[i * D + k] = x[a[i] * D + k];
			rb[i * D + k] = x[b[i] * D + k];
		}
	}
	/* no transfer: the swap is A's own image */
	ck_assert_int_eq(ev_style_judge(x, y, N, D, ra, ra, rb, a, b, M, &sb, &mb, &ma), 0);
	ck_assert_double_eq(sb, 0);
	ck_assert_double_eq_tol(ma, 1, 1e-9);
	ck_assert_msg(fabs(mb) < 0.25, "intensity of A against B's: r = %g", mb);
	/* transfer: A's shape, B's style */
	for (int i = 0; i < M; i++)
		for (int k = 0; k < D; k++)
			s[i * D + k] = shape[y[a[i]] - 100][k] + sty[b[i] * D + k];
	ck_assert_int_eq(ev_style_judge(x, y, N, D, s, ra, rb, a, b, M, &sb, &mb, &ma), 0);
	ck_assert_msg(sb > 0.95, "residual nearer B's in %g of pairs", sb);
	ck_assert_msg(mb > 0.9, "intensity follows B's: r = %g", mb);
	ck_assert_msg(fabs(ma) < 0.25, "intensity follows A's: r = %g", ma);
	free(x);
	free(sty);
	free(s);
	free(ra);
	free(rb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tools-eval");
	TCase *tc = tcase_create("eval");
	tcase_add_test(tc, proto_nearest_mean);
	tcase_add_test(tc, match_cosine_scale_invariant);
	tcase_add_test(tc, ci95_formula);
	tcase_add_test(tc, psnr_known);
	tcase_add_test(tc, loo_1nn);
	tcase_add_test(tc, cholesky_and_jacobi);
	tcase_add_test(tc, cca_known_correlations);
	tcase_add_test(tc, json_writer);
	tcase_add_test(tc, report_json_fields);
	tcase_add_test(tc, best_raw_is_strongest);
	tcase_add_test(tc, probe_separable_and_random);
	tcase_add_test(tc, hsic_dependent_and_independent);
	tcase_add_test(tc, pixel_judge_leaves_own_image_out);
	tcase_add_test(tc, style_judge_no_transfer_and_transfer);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
