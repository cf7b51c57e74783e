/* API hygiene through the shared library, as a user sees it: statuses and
 * their messages, versions, the thread-local error detail, *_free(NULL),
 * and bad arguments to every exported call. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

#include "../testutil.h"

static const int all_status[] = {
	FDEN_OK,
	FDEN_E_INVALID,
	FDEN_E_NOMEM,
	FDEN_E_SHAPE,
	FDEN_E_IO,
	FDEN_E_FORMAT,
	FDEN_E_VERSION,
	FDEN_E_CORRUPT,
	FDEN_E_NONFINITE,
	FDEN_E_HOST,
	FDEN_E_STATE,
	FDEN_E_OVERFLOW,
	FDEN_E_UNSUPPORTED,
};
#define N_STATUS (sizeof all_status / sizeof all_status[0])

/* The detail message must exist and mention `word` (case-sensitive). */
#define ck_detail(word) \
	do { \
		const char *d_ = fden_last_error(); \
		ck_assert_ptr_nonnull(d_); \
		ck_assert_msg(strstr(d_, (word)) != NULL, \
			      "detail \"%s\" does not mention \"%s\"", d_, (word)); \
	} while (0)

START_TEST(status_messages)
{
	size_t i, j;

	/* Values are ABI: pinned here. */
	ck_assert_int_eq(FDEN_OK, 0);
	ck_assert_int_eq(FDEN_E_INVALID, -1);
	ck_assert_int_eq(FDEN_E_UNSUPPORTED, -12);
	for (i = 0; i < N_STATUS; i++) {
		const char *m = fden_strerror(all_status[i]);

		ck_assert_ptr_nonnull(m);
		ck_assert_msg(strlen(m) > 3, "status %d: message too short", all_status[i]);
		ck_assert_msg(strcmp(m, "unknown status") != 0, "status %d has no message",
			      all_status[i]);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(m, fden_strerror(all_status[j])) != 0,
				      "statuses %d and %d share the message \"%s\"",
				      all_status[i], all_status[j], m);
	}
	/* Codes past the last one, positive values and extremes are unknown. */
	ck_assert_str_eq(fden_strerror(FDEN_E_UNSUPPORTED - 1), "unknown status");
	ck_assert_str_eq(fden_strerror(1), "unknown status");
	ck_assert_str_eq(fden_strerror(-2147483647 - 1), "unknown status");
	ck_assert_str_eq(fden_strerror(2147483647), "unknown status");
}
END_TEST

START_TEST(version_matches_macros)
{
	char buf[64];

	ck_assert_str_eq(fden_version(), FDEN_VERSION_STRING);
	ck_assert_uint_eq(fden_version_number(), FDEN_VERSION_NUMBER);
	snprintf(buf, sizeof buf, "%d.%d.%d", FDEN_VERSION_MAJOR, FDEN_VERSION_MINOR,
		 FDEN_VERSION_PATCH);
	ck_assert_str_eq(fden_version(), buf);
	ck_assert_uint_eq(fden_version_number(), (unsigned)(FDEN_VERSION_MAJOR * 10000 +
							    FDEN_VERSION_MINOR * 100 + FDEN_VERSION_PATCH));
}
END_TEST

static void *read_last_error(void *arg)
{
	const char **out = arg;

	*out = fden_last_error();
	return NULL;
}

/* A new thread sees "" whatever failed elsewhere. */
START_TEST(last_error_thread_local)
{
	pthread_t t;
	const char *seen = NULL;

	double lo, hi;

	ck_assert_int_eq(fden_config_bounds(100000, &lo, &hi), FDEN_E_INVALID);
	ck_assert_msg(fden_last_error()[0] != '\0', "no detail after a failure");
	ck_assert_int_eq(pthread_create(&t, NULL, read_last_error, &seen), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(seen);
	ck_assert_str_eq(seen, "");
}
END_TEST

START_TEST(free_null_is_noop)
{
	int n = 0;

	fden_config_free(NULL);
	n++;
	fden_model_free(NULL);
	n++;
	fden_invnet_free(NULL);
	n++;
	fden_dataset_free(NULL);
	n++;
	fden_sampler_free(NULL);
	n++;
	/* Nothing failed, so nothing to report. */
	(void)n;
}
END_TEST

START_TEST(config_new_null)
{
	ck_assert_int_eq(fden_config_new(NULL), FDEN_E_INVALID);
	ck_assert_msg(fden_last_error()[0] != '\0', "no detail for fden_config_new(NULL)");
}
END_TEST

/* Every key: a name, a range, both ends accepted, a value past either end
 * and NaN rejected with a detail naming the key, the stored value intact. */
START_TEST(config_every_key_bounds)
{
	struct fden_config *cfg = NULL;
	int key, nkeys = 0;

	ck_assert_int_eq(fden_config_new(&cfg), FDEN_OK);
	ck_assert_ptr_nonnull(cfg);
	/* Keys are numbered 1, 2, ... with no gap; the first unnamed one ends them. */
	for (key = FDEN_P_DIM; fden_config_key_name(key) != NULL; key++) {
		const char *name = fden_config_key_name(key);
		double lo, hi, v, before;
		int k2;

		ck_assert_msg(name != NULL && name[0] != '\0', "key %d has no name", key);
		for (k2 = FDEN_P_DIM; k2 < key; k2++)
			ck_assert_msg(strcmp(name, fden_config_key_name(k2)) != 0,
				      "keys %d and %d share the name %s", key, k2, name);
		ck_assert_int_eq(fden_config_bounds(key, &lo, &hi), FDEN_OK);
		ck_assert_msg(lo <= hi, "key %s: bounds [%g, %g]", name, lo, hi);
		ck_assert_int_eq(fden_config_get(cfg, key, &before), FDEN_OK);
		ck_assert_msg(before >= lo && before <= hi, "key %s: default %g outside [%g, %g]",
			      name, before, lo, hi);
		ck_assert_int_eq(fden_config_set(cfg, key, lo), FDEN_OK);
		ck_assert_int_eq(fden_config_get(cfg, key, &v), FDEN_OK);
		ck_assert(v == lo);
		if (isfinite(hi)) {
			ck_assert_int_eq(fden_config_set(cfg, key, hi), FDEN_OK);
			ck_assert_int_eq(fden_config_get(cfg, key, &v), FDEN_OK);
			ck_assert(v == hi);
			ck_assert_int_eq(fden_config_set(cfg, key, hi + 1.0 + fabs(hi)), FDEN_E_INVALID);
			ck_detail(name);
		}
		if (isfinite(lo)) {
			ck_assert_int_eq(fden_config_set(cfg, key, lo - 1.0 - fabs(lo)), FDEN_E_INVALID);
			ck_detail(name);
		}
		ck_assert_int_eq(fden_config_set(cfg, key, NAN), FDEN_E_INVALID);
		ck_detail(name);
		/* A rejected set leaves the value alone. */
		ck_assert_int_eq(fden_config_get(cfg, key, &v), FDEN_OK);
		ck_assert(v == lo || v == hi);
		nkeys++;
	}
	ck_assert_int_ge(nkeys, FDEN_P_BN_MOMENTUM);
	for (key = nkeys + 1; key < nkeys + 100; key++)
		ck_assert_msg(fden_config_key_name(key) == NULL, "key %d named after a gap", key);
	fden_config_free(cfg);
}
END_TEST

START_TEST(config_bad_arguments)
{
	struct fden_config *cfg = NULL;
	double v = -1, lo, hi;
	int last = FDEN_P_DIM;
	char num[16];

	ck_assert_int_eq(fden_config_new(&cfg), FDEN_OK);
	/* Unknown keys: 0, one past the last, negative. */
	ck_assert_int_eq(fden_config_set(cfg, 0, 1.0), FDEN_E_INVALID);
	ck_detail("0");
	while (fden_config_key_name(last + 1) != NULL)
		last++;
	snprintf(num, sizeof num, "%d", last + 1);
	ck_assert_int_eq(fden_config_set(cfg, last + 1, 1.0), FDEN_E_INVALID);
	ck_detail(num);
	ck_assert_int_eq(fden_config_set(cfg, -5, 1.0), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_get(cfg, 9999, &v), FDEN_E_INVALID);
	ck_assert(v == -1);
	ck_assert_int_eq(fden_config_bounds(9999, &lo, &hi), FDEN_E_INVALID);
	ck_assert_ptr_null(fden_config_key_name(0));
	ck_assert_ptr_null(fden_config_key_name(9999));
	/* Integer keys reject fractions; zero width rejected. */
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_DIM, 64.5), FDEN_E_INVALID);
	ck_detail(fden_config_key_name(FDEN_P_DIM));
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_DIM, 0), FDEN_E_INVALID);
	ck_detail(fden_config_key_name(FDEN_P_DIM));
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_LR, INFINITY), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_DROPOUT, 1.5), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_ALIGN_HEAD, 99), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_INIT, -1), FDEN_E_INVALID);
	/* NULL handles and out-pointers. */
	ck_assert_int_eq(fden_config_set(NULL, FDEN_P_DIM, 64), FDEN_E_INVALID);
	ck_assert_msg(fden_last_error()[0] != '\0', "no detail for a NULL config");
	ck_assert_int_eq(fden_config_get(NULL, FDEN_P_DIM, &v), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_get(cfg, FDEN_P_DIM, NULL), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_bounds(FDEN_P_DIM, NULL, &hi), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_bounds(FDEN_P_DIM, &lo, NULL), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_preset(cfg, 99), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_preset(cfg, -1), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_preset(NULL, FDEN_PRESET_DEFAULT), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_preset(cfg, FDEN_PRESET_PAPER), FDEN_OK);
	ck_assert_int_eq(fden_config_get(cfg, FDEN_P_DROPOUT, &v), FDEN_OK);
	ck_assert(fabs(v - 0.2) < 1e-12); /* Appendix B */
	{
		struct fden_allocator a = { NULL, NULL, NULL };

		ck_assert_int_eq(fden_config_set_allocator(cfg, &a), FDEN_E_INVALID);
		ck_detail("alloc");
		ck_assert_int_eq(fden_config_set_allocator(NULL, NULL), FDEN_E_INVALID);
		ck_assert_int_eq(fden_config_set_allocator(cfg, NULL), FDEN_OK);
	}
	fden_config_free(cfg);
}
END_TEST

/* Keys 1..fden_config_key_count() are every named key; fden_config_key_find
 * is fden_config_key_name's inverse and rejects anything else with a
 * detail. */
START_TEST(config_key_count_find)
{
	int n = fden_config_key_count(), key;
	int named = 0;

	while (fden_config_key_name(named + 1) != NULL)
		named++;
	ck_assert_int_eq(n, named);
	ck_assert_int_ge(n, FDEN_P_EMA);
	ck_assert_ptr_null(fden_config_key_name(n + 1));
	for (int k = 1; k <= n; k++) {
		key = -1;
		ck_assert_int_eq(fden_config_key_find(fden_config_key_name(k), &key), FDEN_OK);
		ck_assert_int_eq(key, k);
	}
	key = -1;
	ck_assert_int_eq(fden_config_key_find("lr", &key), FDEN_OK);
	ck_assert_int_eq(key, FDEN_P_LR);
	key = -1;
	ck_assert_int_eq(fden_config_key_find("no_such_key", &key), FDEN_E_INVALID);
	ck_detail("no_such_key");
	ck_assert_int_eq(key, -1); /* untouched on failure */
	ck_assert_int_eq(fden_config_key_find("LR", &key), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_key_find("l", &key), FDEN_E_INVALID); /* no prefixes */
	ck_assert_int_eq(fden_config_key_find("lr ", &key), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_key_find("", &key), FDEN_E_INVALID);
	ck_assert_int_eq(key, -1);
	ck_assert_int_eq(fden_config_key_find(NULL, &key), FDEN_E_INVALID);
	ck_detail("name is NULL");
	ck_assert_int_eq(fden_config_key_find("lr", NULL), FDEN_E_INVALID);
	ck_detail("key is NULL");
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, status_messages);
	tcase_add_test(tc, version_matches_macros);
	tcase_add_test(tc, last_error_thread_local);
	tcase_add_test(tc, free_null_is_noop);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, config_new_null);
	tcase_add_test(tc, config_every_key_bounds);
	tcase_add_test(tc, config_bad_arguments);
	tcase_add_test(tc, config_key_count_find);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(api_suite(), 0);
}
