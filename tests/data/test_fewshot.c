/* Suite io-fewshot: fden_fewshot_eval against a brute-force reference
 * written here (double precision, the distance to every support mean
 * computed in full), on the episodes the call reports; the episodes are
 * the sampler's, independent of the features; label mapping; errors. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "../testutil.h"

static uint64_t rs = 12345;

static double unif(void)
{
	rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}

static double gauss(void)
{
	double u = unif() + 1e-12, v = unif();
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#define NC 12  /* classes */
#define PER 10 /* rows per class */
#define N (NC * PER)
#define D 7

/* Rows of class c scattered around a random centre (overlapping classes,
 * so accuracy is neither 0 nor 1), labels 100 + 3 c (not 0..C-1). */
static void make_data(float *x, int32_t *y, double spread)
{
	double centre[NC][D];
	for (int c = 0; c < NC; c++)
		for (int j = 0; j < D; j++)
			centre[c][j] = gauss() + 2.0;
	for (int i = 0; i < N; i++) {
		int c = (i * 7) % NC; /* classes interleaved */
		y[i] = 100 + 3 * c;
		for (int j = 0; j < D; j++)
			x[i * D + j] = (float)(centre[c][j] + spread * gauss());
	}
}

/* The reference for one episode: features transformed in double, support
 * means, full squared distances; ties (a gap below 1e-9 of the scale)
 * counted as right or wrong in *lo and *hi. */
static void reference_episode(const float *x, const size_t *rows, size_t W, size_t K, size_t Q,
			      int transform, const float *center, double *lo, double *hi)
{
	double f[64][D], p[16][D];
	size_t per = W * (K + Q), right = 0, amb = 0;
	ck_assert(per <= 64 && W <= 16);
	for (size_t t = 0; t < per; t++) {
		double ss = 0;
		for (int j = 0; j < D; j++) {
			f[t][j] = x[rows[t] * D + j];
			if (transform == FDEN_FEWSHOT_SIMPLESHOT) {
				f[t][j] -= center ? center[j] : 0;
				ss += f[t][j] * f[t][j];
			}
		}
		for (int j = 0; transform == FDEN_FEWSHOT_SIMPLESHOT && ss > 0 && j < D; j++)
			f[t][j] /= sqrt(ss);
	}
	for (size_t c = 0; c < W; c++)
		for (int j = 0; j < D; j++) {
			p[c][j] = 0;
			for (size_t k = 0; k < K; k++)
				p[c][j] += f[c * K + k][j] / (double)K;
		}
	for (size_t i = 0; i < W * Q; i++) {
		const double *q = f[W * K + i];
		double best = INFINITY, second = INFINITY;
		size_t arg = 0;
		for (size_t c = 0; c < W; c++) {
			double d = 0;
			for (int j = 0; j < D; j++)
				d += (q[j] - p[c][j]) * (q[j] - p[c][j]);
			if (d < best) {
				second = best;
				best = d;
				arg = c;
			} else if (d < second) {
				second = d;
			}
		}
		if (second - best < 1e-9 * (1 + best))
			amb++;
		else
			right += arg == i / Q;
	}
	*lo = (double)right / (double)(W * Q);
	*hi = (double)(right + amb) / (double)(W * Q);
}

static void check_against_reference(int transform, const float *center, size_t W, size_t K,
				    size_t Q, size_t E)
{
	float x[N * D];
	int32_t y[N];
	make_data(x, y, 1.2);
	struct fden_fewshot_options o;
	fden_fewshot_options_default(&o);
	o.ways = W;
	o.shots = K;
	o.queries = Q;
	o.episodes = E;
	o.seed = 99;
	o.transform = transform;
	o.center = center;
	size_t per = W * (K + Q);
	double *acc = malloc(E * sizeof *acc);
	size_t *rows = malloc(E * per * sizeof *rows);
	o.episode_accuracy = acc;
	o.episode_rows = rows;
	struct fden_fewshot_result r;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_OK);
	ck_assert_int_eq(r.episodes, E);
	ck_assert_int_eq(r.classes, NC);
	double sum = 0, sq = 0, mn = 1, mx = 0;
	for (size_t e = 0; e < E; e++) {
		const size_t *re = rows + e * per;
		/* the episode's shape: distinct classes, distinct rows, support
		 * and queries of class c share c's label */
		for (size_t t = 0; t < per; t++) {
			ck_assert_uint_lt(re[t], N);
			for (size_t u = 0; u < t; u++)
				ck_assert_uint_ne(re[t], re[u]);
		}
		for (size_t c = 0; c < W; c++) {
			int32_t lab = y[re[c * K]];
			for (size_t k = 0; k < K; k++)
				ck_assert_int_eq(y[re[c * K + k]], lab);
			for (size_t q = 0; q < Q; q++)
				ck_assert_int_eq(y[re[W * K + c * Q + q]], lab);
			for (size_t c2 = 0; c2 < c; c2++)
				ck_assert_int_ne(y[re[c2 * K]], lab);
		}
		double lo, hi;
		reference_episode(x, re, W, K, Q, transform, center, &lo, &hi);
		ck_assert_msg(acc[e] >= lo - 1e-12 && acc[e] <= hi + 1e-12,
			      "episode %zu: %g, reference [%g, %g]", e, acc[e], lo, hi);
		sum += acc[e];
		mn = fmin(mn, acc[e]);
		mx = fmax(mx, acc[e]);
	}
	double mean = sum / (double)E;
	for (size_t e = 0; e < E; e++)
		sq += (acc[e] - mean) * (acc[e] - mean);
	ck_assert_double_eq_tol(r.mean, mean, 1e-12);
	ck_assert_double_eq_tol(r.ci95, 1.96 * sqrt(sq / (double)(E - 1)) / sqrt((double)E), 1e-12);
	ck_assert_msg(mn < mx, "every episode scored %g: the data do not test anything", mn);
	/* without the outputs: the same numbers */
	o.episode_accuracy = NULL;
	o.episode_rows = NULL;
	struct fden_fewshot_result r2;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r2), FDEN_OK);
	ck_assert(r2.mean == r.mean && r2.ci95 == r.ci95);
	free(acc);
	free(rows);
}

START_TEST(matches_reference_raw)
{
	check_against_reference(FDEN_FEWSHOT_NONE, NULL, 5, 1, 3, 200);
	check_against_reference(FDEN_FEWSHOT_NONE, NULL, 4, 3, 2, 100);
}
END_TEST

START_TEST(matches_reference_simpleshot)
{
	float centre[D];
	for (int j = 0; j < D; j++)
		centre[j] = (float)(2.0 + 0.3 * j);
	check_against_reference(FDEN_FEWSHOT_SIMPLESHOT, centre, 5, 1, 3, 200);
	check_against_reference(FDEN_FEWSHOT_SIMPLESHOT, NULL, 5, 2, 2, 100);
}
END_TEST

/* The episodes are fden_sampler's with the same seed, whatever the
 * features: two feature sets of the same rows get the same rows. */
START_TEST(episodes_are_the_samplers)
{
	float x[N * D], x2[N * D];
	int32_t y[N];
	make_data(x, y, 1.0);
	for (int i = 0; i < N * D; i++)
		x2[i] = (float)gauss();
	const size_t W = 5, K = 2, Q = 3, E = 20, per = W * (K + Q);
	struct fden_fewshot_options o;
	fden_fewshot_options_default(&o);
	o.ways = W;
	o.shots = K;
	o.queries = Q;
	o.episodes = E;
	o.seed = 5;
	size_t rows[20 * 25], rows2[20 * 25];
	struct fden_fewshot_result r;
	o.episode_rows = rows;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_OK);
	o.episode_rows = rows2;
	o.transform = FDEN_FEWSHOT_SIMPLESHOT;
	ck_assert_int_eq(fden_fewshot_eval(x2, y, N, D, &o, &r), FDEN_OK);
	ck_assert_mem_eq(rows, rows2, sizeof rows);
	/* the sampler with the same seed draws the same rows */
	struct fden_dataset *ds;
	struct fden_sampler *s;
	float ex[25 * D];
	int32_t el[25];
	ck_assert_int_eq(fden_dataset_new(x, y, N, D, &ds), FDEN_OK);
	ck_assert_int_eq(fden_sampler_new(ds, W, K, Q, 5, &s), FDEN_OK);
	for (size_t e = 0; e < E; e++) {
		ck_assert_int_eq(fden_sampler_next(s, 1, ex, el, NULL), FDEN_OK);
		for (size_t t = 0; t < per; t++)
			ck_assert_mem_eq(ex + t * D, x + rows[e * per + t] * D, D * sizeof *x);
	}
	fden_sampler_free(s);
	fden_dataset_free(ds);
	/* another seed, other episodes */
	o.seed = 6;
	ck_assert_int_eq(fden_fewshot_eval(x2, y, N, D, &o, &r), FDEN_OK);
	ck_assert(memcmp(rows, rows2, sizeof rows) != 0);
}
END_TEST

/* Separated classes: every query right; classes on top of each other:
 * chance, within the interval's reach. */
START_TEST(separated_and_chance)
{
	float x[N * D];
	int32_t y[N];
	make_data(x, y, 1e-3);
	struct fden_fewshot_options o;
	struct fden_fewshot_result r;
	fden_fewshot_options_default(&o);
	o.episodes = 50;
	o.queries = 5;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_OK);
	ck_assert(r.mean == 1.0 && r.ci95 == 0.0);
	for (int i = 0; i < N * D; i++)
		x[i] = (float)gauss();
	o.episodes = 2000;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_OK);
	ck_assert_msg(fabs(r.mean - 0.2) < 4 * r.ci95 / 1.96 + 0.01, "chance 0.2, got %g +- %g",
		      r.mean, r.ci95);
}
END_TEST

/* label_map: odd classes left out, the others merged in pairs. */
START_TEST(label_mapping)
{
	float x[N * D];
	int32_t y[N], map[200];
	make_data(x, y, 1.0);
	for (int i = 0; i < 200; i++)
		map[i] = -1;
	for (int c = 0; c < NC; c += 2)
		map[100 + 3 * c] = c / 4; /* classes 0,2 -> 0; 4,6 -> 1; 8,10 -> 2 */
	struct fden_fewshot_options o;
	struct fden_fewshot_result r;
	size_t rows[10 * 3 * 4];
	fden_fewshot_options_default(&o);
	o.ways = 3;
	o.shots = 1;
	o.queries = 3;
	o.episodes = 10;
	o.label_map = map;
	o.n_label_map = 200;
	o.episode_rows = rows;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_OK);
	ck_assert_int_eq(r.classes, 3);
	for (size_t e = 0; e < 10; e++)
		for (size_t c = 0; c < 3; c++) {
			int32_t m = map[y[rows[e * 12 + c]]];
			ck_assert_int_ge(m, 0);
			for (size_t q = 0; q < 3; q++)
				ck_assert_int_eq(map[y[rows[e * 12 + 3 + c * 3 + q]]], m);
		}
	o.ways = 4; /* only 3 classes after the mapping */
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	for (int i = 0; i < 200; i++)
		map[i] = -1;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "no rows"));
}
END_TEST

START_TEST(bad_arguments)
{
	float x[N * D];
	int32_t y[N];
	make_data(x, y, 1.0);
	struct fden_fewshot_options o;
	struct fden_fewshot_result r = { .mean = -1 };
	fden_fewshot_options_default(&o);
	o.episodes = 3;
	ck_assert_int_eq(fden_fewshot_eval(NULL, y, N, D, &o, &r), FDEN_E_INVALID);
	ck_assert_int_eq(fden_fewshot_eval(x, NULL, N, D, &o, &r), FDEN_E_INVALID);
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, NULL), FDEN_E_INVALID);
	ck_assert_int_eq(fden_fewshot_eval(x, y, 0, D, &o, &r), FDEN_E_INVALID);
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, 0, &o, &r), FDEN_E_INVALID);
	o.ways = 1;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	o.ways = NC + 1;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "fden_fewshot_eval"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "13 ways"));
	o.ways = 5;
	o.shots = PER; /* shots + queries > rows per class */
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	o.shots = 1;
	o.queries = 0;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	o.queries = 2;
	o.transform = 7;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_INVALID);
	o.transform = FDEN_FEWSHOT_NONE;
	o.struct_size = sizeof o - 1;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_VERSION);
	o.struct_size = sizeof o;
	x[17] = NAN;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_NONFINITE);
	x[17] = 0;
	float c[D] = { 0 };
	c[3] = INFINITY;
	o.center = c;
	o.transform = FDEN_FEWSHOT_SIMPLESHOT;
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, &o, &r), FDEN_E_NONFINITE);
	ck_assert(r.mean == -1); /* untouched on failure */
	/* NULL options: the defaults (5-way 1-shot 15 queries: too many here) */
	ck_assert_int_eq(fden_fewshot_eval(x, y, N, D, NULL, &r), FDEN_E_INVALID);
	fden_fewshot_options_default(NULL); /* no-op */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io-fewshot");
	TCase *tc = tcase_create("fewshot");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, matches_reference_raw);
	tcase_add_test(tc, matches_reference_simpleshot);
	tcase_add_test(tc, episodes_are_the_samplers);
	tcase_add_test(tc, separated_and_chance);
	tcase_add_test(tc, label_mapping);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
