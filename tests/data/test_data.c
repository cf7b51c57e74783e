/* Data sets (new, select, split, argument checks) and the episode sampler's
 * invariants: distinct classes, distinct rows, labels match the data, the
 * layout of struct fden_episodes, seeded reproducibility, ineligible
 * classes never drawn, excluded ones neither (fden_sampler_new_except),
 * uniform coverage. */
#include <stdint.h>

#include "../testutil.h"
#include <fden/data.h>

/* n rows; row i = {i, label} so every row is identifiable from its data. */
static struct fden_dataset *make_ds(size_t n, const int32_t *labels)
{
	struct fden_dataset *ds;
	float *x = malloc(n * 2 * sizeof *x);
	size_t i;

	for (i = 0; i < n; i++) {
		x[2 * i] = (float)i;
		x[2 * i + 1] = (float)labels[i];
	}
	ck_assert_int_eq(fden_dataset_new(x, labels, n, 2, &ds), 0);
	free(x);
	return ds;
}

START_TEST(test_dataset)
{
	int32_t lab[10] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 };
	int32_t pick[2] = { 5, 1 };
	struct fden_dataset *ds = make_ds(10, lab), *sel, *tr, *te;
	float x[4] = { 0 };
	size_t i;

	ck_assert_uint_eq(fden_dataset_size(ds), 10);
	ck_assert_uint_eq(fden_dataset_dim(ds), 2);
	ck_assert_uint_eq((uintptr_t)fden_dataset_data(ds) % 64, 0);
	ck_assert_int_eq(fden_dataset_select(ds, pick, 2, &sel), 0);
	ck_assert_uint_eq(fden_dataset_size(sel), 4); /* rows 1, 3, 4, 8 in order */
	ck_assert_float_eq(fden_dataset_data(sel)[0], 1);
	ck_assert_float_eq(fden_dataset_data(sel)[2], 3);
	ck_assert_float_eq(fden_dataset_data(sel)[4], 4);
	ck_assert_float_eq(fden_dataset_data(sel)[6], 8);
	ck_assert_int_eq(fden_dataset_labels(sel)[2], 5);
	fden_dataset_free(sel);
	ck_assert_int_eq(fden_dataset_split(ds, 4, &tr, &te), 0);
	ck_assert_uint_eq(fden_dataset_size(tr) + fden_dataset_size(te), 10);
	ck_assert_uint_eq(fden_dataset_size(tr), 5);
	for (i = 0; i < fden_dataset_size(tr); i++)
		ck_assert_int_lt(fden_dataset_labels(tr)[i], 4);
	for (i = 0; i < fden_dataset_size(te); i++) {
		ck_assert_int_ge(fden_dataset_labels(te)[i], 4);
		/* data travels with its label */
		ck_assert_float_eq(fden_dataset_data(te)[2 * i + 1],
				   (float)fden_dataset_labels(te)[i]);
	}
	fden_dataset_free(tr);
	fden_dataset_free(te);
	/* errors */
	pick[0] = 42;
	pick[1] = 43;
	sel = NULL;
	ck_assert_int_eq(fden_dataset_select(ds, pick, 2, &sel), FDEN_E_INVALID);
	ck_assert_ptr_null(sel);
	ck_assert_int_eq(fden_dataset_split(ds, 100, &tr, &te), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "test part"));
	ck_assert_int_eq(fden_dataset_new(NULL, NULL, 2, 2, &sel), FDEN_E_INVALID);
	ck_assert_int_eq(fden_dataset_new(x, NULL, 0, 2, &sel), FDEN_E_INVALID);
	ck_assert_int_eq(fden_dataset_new(x, NULL, SIZE_MAX / 2, 4, &sel), FDEN_E_OVERFLOW);
	ck_assert_int_eq(fden_dataset_new(x, NULL, 2, 2, &sel), 0);
	ck_assert_int_eq(fden_dataset_labels(sel)[1], 0);
	fden_dataset_free(sel);
	fden_dataset_free(NULL);
	ck_assert_uint_eq(fden_dataset_size(NULL), 0);
	fden_dataset_free(ds);
}
END_TEST

/* 40 classes with ids 1000+7c; class c has 3 + c % 9 rows (some too few). */
static struct fden_dataset *make_classes(size_t *n_out, int32_t **lab_out)
{
	size_t n = 0, c, k, cap = 40 * 12;
	int32_t *lab = malloc(cap * sizeof *lab);
	struct fden_dataset *ds;

	for (c = 0; c < 40; c++)
		for (k = 0; k < 3 + c % 9; k++)
			lab[n++] = 1000 + 7 * (int32_t)c;
	/* interleave rows so classes are not contiguous */
	for (k = 0; k + 1 < n; k += 2) {
		int32_t t = lab[k];

		lab[k] = lab[n - 1 - k];
		lab[n - 1 - k] = t;
	}
	ds = make_ds(n, lab);
	*n_out = n;
	*lab_out = lab;
	return ds;
}

START_TEST(test_sampler_invariants)
{
	const size_t W = 5, S = 2, Q = 3, E = 50, per = W * (S + Q);
	struct fden_sampler *s;
	size_t n, e, i, j, hist_rows = 0;
	int32_t *lab, *labels = malloc(E * per * sizeof *labels), *classes = malloc(E * W * 4);
	float *x = malloc(E * per * 2 * sizeof *x);
	struct fden_dataset *ds = make_classes(&n, &lab);
	unsigned *row_seen = calloc(n, sizeof *row_seen);

	ck_assert_int_eq(fden_sampler_new(ds, W, S, Q, 7, &s), 0);
	for (int round = 0; round < 4; round++) {
		ck_assert_int_eq(fden_sampler_next(s, E, x, labels, classes), 0);
		for (e = 0; e < E; e++) {
			const float *xe = x + e * per * 2;
			const int32_t *le = labels + e * per, *ce = classes + e * W;

			for (i = 0; i < W; i++) {
				int32_t cls = ce[i];
				size_t cnt = 0;

				/* eligible: class index c = (cls-1000)/7 has 3 + c%9 >= S+Q rows */
				ck_assert_int_eq((cls - 1000) % 7, 0);
				ck_assert_uint_ge(3 + ((size_t)(cls - 1000) / 7) % 9, S + Q);
				for (j = 0; j < i; j++)
					ck_assert_int_ne(ce[j], cls); /* distinct classes */
				for (j = 0; j < n; j++)
					cnt += lab[j] == cls;
				ck_assert_uint_ge(cnt, S + Q);
			}
			for (i = 0; i < per; i++) {
				size_t row = (size_t)xe[2 * i];
				int32_t c = le[i];

				ck_assert_int_ge(c, 0);
				ck_assert_int_lt(c, (int32_t)W);
				/* layout: support block class-major, then query block */
				if (i < W * S)
					ck_assert_int_eq(c, (int32_t)(i / S));
				else
					ck_assert_int_eq(c, (int32_t)((i - W * S) / Q));
				/* the row's true label is the episode's class c */
				ck_assert_int_eq(lab[row], ce[c]);
				ck_assert_float_eq(xe[2 * i + 1], (float)ce[c]);
				for (j = 0; j < i; j++) /* distinct rows */
					ck_assert_float_ne(xe[2 * j], xe[2 * i]);
				row_seen[row]++;
			}
		}
	}
	/* every row of every eligible class gets drawn over 200 episodes */
	for (j = 0; j < n; j++) {
		size_t c = (size_t)(lab[j] - 1000) / 7;

		if (3 + c % 9 >= S + Q) {
			ck_assert_msg(row_seen[j] > 0, "row %zu never drawn", j);
			hist_rows++;
		} else {
			ck_assert_uint_eq(row_seen[j], 0);
		}
	}
	ck_assert_uint_gt(hist_rows, 100);
	fden_sampler_free(s);
	fden_sampler_free(NULL);
	free(row_seen);
	free(x);
	free(labels);
	free(classes);
	free(lab);
	fden_dataset_free(ds);
}
END_TEST

START_TEST(test_sampler_seeded)
{
	const size_t per = 4 * (1 + 2), E = 20;
	struct fden_sampler *a, *b, *c;
	size_t n;
	int32_t *lab, la[240], lb[240], ca[80], cb[80];
	float xa[480], xb[480];
	struct fden_dataset *ds = make_classes(&n, &lab);

	ck_assert_int_eq(fden_sampler_new(ds, 4, 1, 2, 123, &a), 0);
	ck_assert_int_eq(fden_sampler_new(ds, 4, 1, 2, 123, &b), 0);
	ck_assert_int_eq(fden_sampler_new(ds, 4, 1, 2, 124, &c), 0);
	for (int r = 0; r < 3; r++) {
		ck_assert_int_eq(fden_sampler_next(a, E, xa, la, ca), 0);
		ck_assert_int_eq(fden_sampler_next(b, E, xb, lb, cb), 0);
		ck_assert_mem_eq(xa, xb, sizeof xa);
		ck_assert_mem_eq(la, lb, sizeof la);
		ck_assert_mem_eq(ca, cb, sizeof ca);
	}
	ck_assert_int_eq(fden_sampler_next(c, E, xb, lb, NULL), 0);
	ck_assert(memcmp(xa, xb, E * per * 2 * sizeof *xa) != 0);
	/* reset: a (drawn from three times) draws what a fresh sampler with the
	 * new seed draws, arrangement included */
	{
		struct fden_sampler *d;
		ck_assert_int_eq(fden_sampler_new(ds, 4, 1, 2, 77, &d), 0);
		ck_assert_int_eq(fden_sampler_reset(a, 77), FDEN_OK);
		for (int r = 0; r < 2; r++) {
			ck_assert_int_eq(fden_sampler_next(a, E, xa, la, ca), 0);
			ck_assert_int_eq(fden_sampler_next(d, E, xb, lb, cb), 0);
			ck_assert_mem_eq(xa, xb, sizeof xa);
			ck_assert_mem_eq(ca, cb, sizeof ca);
		}
		fden_sampler_free(d);
		ck_assert_int_eq(fden_sampler_reset(NULL, 1), FDEN_E_INVALID);
	}
	/* errors */
	ck_assert_int_eq(fden_sampler_next(a, 0, xa, la, ca), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_next(a, 1, NULL, la, ca), FDEN_E_INVALID);
	fden_sampler_free(a);
	fden_sampler_free(b);
	fden_sampler_free(c);
	/* too many ways: only 4 of the 40 classes have 11 rows */
	a = NULL;
	ck_assert_int_eq(fden_sampler_new(ds, 5, 5, 6, 1, &a), FDEN_E_INVALID);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "only 4 of 40"));
	ck_assert_int_eq(fden_sampler_new(ds, 41, 1, 0, 1, &a), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new(ds, 40, 1, 0, 1, &a), 0); /* every class, 0 queries */
	fden_sampler_free(a);
	ck_assert_int_eq(fden_sampler_new(ds, 0, 1, 1, 1, &a), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new(ds, 2, 0, 1, 1, &a), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new(ds, SIZE_MAX / 2, 2, 1, 1, &a), FDEN_E_OVERFLOW);
	ck_assert_int_eq(fden_sampler_new(NULL, 2, 1, 1, 1, &a), FDEN_E_INVALID);
	free(lab);
	fden_dataset_free(ds);
}
END_TEST

/* Labels of make_classes() fden_sampler_new_except() is given: 6 eligible
 * classes (one twice, out of order), one with too few rows anyway (class 0,
 * 3 rows, for S+Q = 5) and one the data set does not have. */
static const int32_t EXCL[] = { 1000 + 7 * 13, 1000 + 7 * 5, 1000 + 7 * 39, 1000 + 7 * 8,
				1000 + 7 * 5, 1000 + 7 * 22, 1000 + 7 * 30, 1000,
				-77 };
#define N_EXCL (sizeof EXCL / sizeof *EXCL)

static int excluded(int32_t label)
{
	for (size_t i = 0; i < N_EXCL; i++)
		if (EXCL[i] == label)
			return 1;
	return 0;
}

/* An excluded class is never drawn, not as a class and not through a row;
 * every row of every other eligible class is. */
START_TEST(test_sampler_except_never_draws)
{
	const size_t W = 5, S = 2, Q = 3, E = 100, per = W * (S + Q);
	struct fden_sampler *s = NULL;
	size_t n, j;
	int32_t *lab, *labels = malloc(E * per * sizeof *labels), *classes = malloc(E * W * 4);
	float *x = malloc(E * per * 2 * sizeof *x);
	struct fden_dataset *ds = make_classes(&n, &lab);
	unsigned *row_seen = calloc(n, sizeof *row_seen);

	ck_assert_int_eq(fden_sampler_new_except(ds, W, S, Q, 7, EXCL, N_EXCL, &s), FDEN_OK);
	for (int round = 0; round < 4; round++) {
		if (round == 2) /* the exclusion outlives a reset */
			ck_assert_int_eq(fden_sampler_reset(s, 8), FDEN_OK);
		ck_assert_int_eq(fden_sampler_next(s, E, x, labels, classes), FDEN_OK);
		for (size_t i = 0; i < E * W; i++)
			ck_assert_msg(!excluded(classes[i]), "excluded class %d drawn", classes[i]);
		for (size_t i = 0; i < E * per; i++) {
			size_t row = (size_t)x[2 * i];
			ck_assert_msg(!excluded(lab[row]), "row %zu of excluded class %d drawn", row,
				      lab[row]);
			ck_assert_int_eq(lab[row], classes[(i / per) * W + (size_t)labels[i]]);
			row_seen[row]++;
		}
	}
	for (j = 0; j < n; j++) {
		size_t c = (size_t)(lab[j] - 1000) / 7;
		if (3 + c % 9 >= S + Q && !excluded(lab[j]))
			ck_assert_msg(row_seen[j] > 0, "row %zu never drawn", j);
		else
			ck_assert_uint_eq(row_seen[j], 0);
	}
	fden_sampler_free(s);
	free(row_seen);
	free(x);
	free(labels);
	free(classes);
	free(lab);
	fden_dataset_free(ds);
}
END_TEST

/* Draw E episodes from a and b; they must be the same (the rows are
 * compared by their data: row i of make_ds() holds i and its label, which
 * fden_dataset_select() keeps). */
static void same_draws(struct fden_sampler *a, struct fden_sampler *b, size_t W, size_t S,
		       size_t Q)
{
	enum { E = 20 };
	size_t rows = E * W * (S + Q);
	float *xa = malloc(rows * 2 * sizeof *xa), *xb = malloc(rows * 2 * sizeof *xb);
	int32_t *la = malloc(rows * sizeof *la), *lb = malloc(rows * sizeof *lb);
	int32_t ca[E * 8], cb[E * 8];

	ck_assert_uint_le(W, 8);
	for (int r = 0; r < 3; r++) {
		ck_assert_int_eq(fden_sampler_next(a, E, xa, la, ca), FDEN_OK);
		ck_assert_int_eq(fden_sampler_next(b, E, xb, lb, cb), FDEN_OK);
		ck_assert_mem_eq(xa, xb, rows * 2 * sizeof *xa);
		ck_assert_mem_eq(la, lb, rows * sizeof *la);
		ck_assert_mem_eq(ca, cb, E * W * sizeof *ca);
	}
	free(xa);
	free(xb);
	free(la);
	free(lb);
}

/* Excluding classes draws what fden_sampler_new() draws from a copy of the
 * other rows, also after resets; excluding none draws what
 * fden_sampler_new() draws from the whole set. */
START_TEST(test_sampler_except_as_select)
{
	const size_t W = 4, S = 1, Q = 2;
	struct fden_sampler *a, *b;
	struct fden_dataset *ds, *rest;
	int32_t *lab, keep[40];
	size_t n, nk = 0;

	ds = make_classes(&n, &lab);
	for (int32_t c = 0; c < 40; c++)
		if (!excluded(1000 + 7 * c))
			keep[nk++] = 1000 + 7 * c;
	ck_assert_int_eq(fden_dataset_select(ds, keep, nk, &rest), FDEN_OK);
	ck_assert_int_eq(fden_sampler_new_except(ds, W, S, Q, 123, EXCL, N_EXCL, &a), FDEN_OK);
	ck_assert_int_eq(fden_sampler_new(rest, W, S, Q, 123, &b), FDEN_OK);
	same_draws(a, b, W, S, Q);
	ck_assert_int_eq(fden_sampler_reset(a, 99), FDEN_OK);
	ck_assert_int_eq(fden_sampler_reset(b, 99), FDEN_OK);
	same_draws(a, b, W, S, Q);
	fden_sampler_free(a);
	fden_sampler_free(b);
	/* nothing excluded: fden_sampler_new()'s draws (exclude NULL or not) */
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(fden_sampler_new_except(ds, W, S, Q, 5, k ? EXCL : NULL, 0, &a),
				 FDEN_OK);
		ck_assert_int_eq(fden_sampler_new(ds, W, S, Q, 5, &b), FDEN_OK);
		same_draws(a, b, W, S, Q);
		ck_assert_int_eq(fden_sampler_reset(a, 6), FDEN_OK);
		ck_assert_int_eq(fden_sampler_reset(b, 6), FDEN_OK);
		same_draws(a, b, W, S, Q);
		fden_sampler_free(a);
		fden_sampler_free(b);
	}
	fden_dataset_free(rest);
	free(lab);
	fden_dataset_free(ds);
}
END_TEST

/* Bad arguments: a status, a message, *out left alone. */
START_TEST(test_sampler_except_errors)
{
	struct fden_sampler *s = NULL;
	struct fden_dataset *ds;
	int32_t *lab, all[40];
	size_t n;

	ds = make_classes(&n, &lab);
	for (int32_t c = 0; c < 40; c++)
		all[c] = 1000 + 7 * c;
	ck_assert_int_eq(fden_sampler_new_except(ds, 2, 1, 1, 1, NULL, 3, &s), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "exclude is NULL"));
	ck_assert_ptr_null(s);
	/* 11 rows: 4 classes; 2 of them excluded (classes 8 and 17) leave 2 */
	ck_assert_int_eq(fden_sampler_new_except(ds, 3, 5, 6, 1, all + 8, 10, &s),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "only 2 of 40 classes (10 excluded)"));
	ck_assert_ptr_null(s);
	ck_assert_int_eq(fden_sampler_new_except(ds, 2, 5, 6, 1, all + 8, 10, &s), FDEN_OK);
	fden_sampler_free(s);
	s = NULL;
	/* every class excluded */
	ck_assert_int_eq(fden_sampler_new_except(ds, 1, 1, 0, 1, all, 40, &s), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "only 0 of 40 classes (40 excluded)"));
	ck_assert_ptr_null(s);
	ck_assert_int_eq(fden_sampler_new_except(ds, 1, 1, 0, 1, all, 39, &s), FDEN_OK);
	fden_sampler_free(s);
	s = NULL;
	ck_assert_int_eq(fden_sampler_new_except(ds, 0, 1, 1, 1, all, 1, &s), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new_except(ds, 2, 0, 1, 1, all, 1, &s), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new_except(ds, SIZE_MAX / 2, 2, 1, 1, all, 1, &s),
			 FDEN_E_OVERFLOW);
	ck_assert_int_eq(fden_sampler_new_except(ds, 2, 1, 1, 1, all, SIZE_MAX / 2, &s),
			 FDEN_E_OVERFLOW);
	ck_assert_int_eq(fden_sampler_new_except(NULL, 2, 1, 1, 1, all, 1, &s), FDEN_E_INVALID);
	ck_assert_int_eq(fden_sampler_new_except(ds, 2, 1, 1, 1, all, 1, NULL), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "fden_sampler_new_except"));
	ck_assert_ptr_null(s);
	free(lab);
	fden_dataset_free(ds);
}
END_TEST

/* Class choice is uniform: each of 8 equal classes is drawn ~ 3/8 of episodes. */
START_TEST(test_sampler_uniform)
{
	int32_t lab[80], cls[3 * 4000];
	float *x = malloc(4000 * 3 * 2 * 2 * sizeof *x);
	int32_t *l = malloc(4000 * 6 * sizeof *l);
	struct fden_dataset *ds;
	struct fden_sampler *s;
	size_t i, count[8] = { 0 };

	for (i = 0; i < 80; i++)
		lab[i] = (int32_t)(i % 8);
	ds = make_ds(80, lab);
	ck_assert_int_eq(fden_sampler_new(ds, 3, 1, 1, 99, &s), 0);
	ck_assert_int_eq(fden_sampler_next(s, 4000, x, l, cls), 0);
	for (i = 0; i < 3 * 4000; i++)
		count[cls[i]]++;
	for (i = 0; i < 8; i++) /* mean 1500, sd ~ 31 */
		ck_assert_msg(count[i] > 1350 && count[i] < 1650, "class %zu: %zu", i, count[i]);
	fden_sampler_free(s);
	fden_dataset_free(ds);
	free(x);
	free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("data");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_dataset);
	tcase_add_test(tc, test_sampler_invariants);
	tcase_add_test(tc, test_sampler_seeded);
	tcase_add_test(tc, test_sampler_except_never_draws);
	tcase_add_test(tc, test_sampler_except_as_select);
	tcase_add_test(tc, test_sampler_except_errors);
	tcase_add_test(tc, test_sampler_uniform);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
