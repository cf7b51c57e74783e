/* Out of memory and allocation discipline, through a counting allocator:
 * - every allocation along model creation + a training step, and along
 *   fden_model_load, is failed in turn: each attempt returns FDEN_E_NOMEM,
 *   hands nothing out and leaks nothing (allocations == frees);
 * - after a failed step the model still trains;
 * - the first inference calls fail cleanly at each of their allocations;
 * - the steady state allocates nothing: the 2nd..Nth fden_train_step (same
 *   or smaller batch) and serial fden_disentangle / fden_entangle. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../testutil.h"

/* Model creation then one step, failing the k-th allocation. Returns the
 * status of the first failing call (FDEN_OK if none failed). */
static int create_and_step(struct tu_counter *c, size_t k, const struct tu_episodes *b,
			   int *failed_in_step)
{
	struct fden_allocator a = tu_counting_allocator(c);
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	struct fden_model *m = (struct fden_model *)&m; /* poison: must stay untouched */
	int rc;

	memset(c, 0, sizeof *c);
	c->fail_at = k;
	ck_assert_int_eq(fden_config_set_allocator(cfg, &a), FDEN_OK);
	rc = fden_model_new(cfg, &m);
	fden_config_free(cfg);
	*failed_in_step = 0;
	if (rc != FDEN_OK) {
		ck_assert_msg(m == (struct fden_model *)&m, "fden_model_new set *out on failure");
		return rc;
	}
	rc = fden_train_step(m, &b->ep, NULL);
	if (rc != FDEN_OK) {
		*failed_in_step = 1;
		ck_assert_uint_eq(fden_model_step(m), 0);
		/* Memory is back: the same model takes the step. */
		c->fail_at = 0;
		ck_assert_msg(fden_train_step(m, &b->ep, NULL) == FDEN_OK,
			      "step after an OOM failed: %s", fden_last_error());
		ck_assert_uint_eq(fden_model_step(m), 1);
	}
	fden_model_free(m);
	return rc;
}

START_TEST(oom_every_allocation_create_and_step)
{
	struct tu_episodes b;
	struct tu_counter c;
	size_t k, total, in_step = 0;
	int rc, fis;

	tu_episodes_make(&b, 2, 3, 2, 1, TU_TINY_DIM);
	/* Count the allocations of a clean run. */
	rc = create_and_step(&c, 0, &b, &fis);
	ck_assert_int_eq(rc, FDEN_OK);
	total = c.allocs;
	ck_assert_uint_gt(total, 0);
	ck_assert_uint_eq(c.allocs, c.frees);
	for (k = 1; k <= total; k++) {
		rc = create_and_step(&c, k, &b, &fis);
		ck_assert_msg(rc == FDEN_E_NOMEM, "allocation %zu of %zu failed: status %d (%s)",
			      k, total, rc, fden_last_error());
		ck_assert_msg(fden_last_error()[0] != '\0', "no detail for OOM at %zu", k);
		ck_assert_msg(c.allocs == c.frees, "allocation %zu failed: %zu allocs, %zu frees",
			      k, c.allocs, c.frees);
		in_step += (size_t)fis;
	}
	fprintf(stderr, "oom: %zu allocations along create+step (%zu in the step), all failed cleanly\n",
		total, in_step);
	tu_episodes_free(&b);
}
END_TEST

START_TEST(steady_state_allocates_nothing)
{
	struct tu_counter c;
	struct fden_allocator a = tu_counting_allocator(&c);
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	struct fden_model *m = NULL;
	struct tu_episodes b, small;
	size_t n = 700, before, i; /* more rows than one inference chunk */
	float *z = malloc(n * TU_TINY_DIM * sizeof *z), *fi = malloc(n * TU_TINY_DIM * sizeof *fi);
	float *fs = malloc(n * TU_TINY_DIM * sizeof *fs), *zo = malloc(n * TU_TINY_DIM * sizeof *zo);

	memset(&c, 0, sizeof c);
	ck_assert(z && fi && fs && zo);
	tu_fill(z, n * TU_TINY_DIM);
	/* _i 0: the default (flow) disentangler, 48 rows a step; _i 1: the MLP
	 * one at 264 rows (its two D passes one after the other), then 18 rows
	 * (both at once, in the same workspace) */
	tu_episodes_make(&b, _i ? 22 : 4, 3, 2, 2, TU_TINY_DIM);
	tu_episodes_make(&small, 2, 3, 2, 1, TU_TINY_DIM);
	if (_i)
		ck_assert_int_eq(fden_config_set(cfg, FDEN_P_DISENTANGLER, FDEN_DIS_MLP), FDEN_OK);
	ck_assert_int_eq(fden_config_set_allocator(cfg, &a), FDEN_OK);
	ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
	fden_config_free(cfg);
	ck_assert_int_eq(fden_train_step(m, &b.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(m, z, n, fi, fs), FDEN_OK);
	ck_assert_int_eq(fden_entangle(m, fi, fs, n, zo), FDEN_OK);

	before = c.calls;
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(fden_train_step(m, &b.ep, NULL), FDEN_OK);
		ck_assert_msg(c.calls == before, "train step %zu allocated %zu times", i + 2,
			      c.calls - before);
	}
	ck_assert_int_eq(fden_train_step(m, &small.ep, NULL), FDEN_OK);
	ck_assert_msg(c.calls == before, "a smaller batch allocated %zu times", c.calls - before);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(fden_disentangle(m, z, n, fi, fs), FDEN_OK);
		ck_assert_int_eq(fden_disentangle(m, z, 5, fi, NULL), FDEN_OK);
		ck_assert_int_eq(fden_entangle(m, fi, fs, n, zo), FDEN_OK);
		ck_assert_msg(c.calls == before, "inference allocated %zu times", c.calls - before);
	}
	fden_model_free(m);
	ck_assert_uint_eq(c.allocs, c.frees);
	tu_episodes_free(&b);
	tu_episodes_free(&small);
	free(z);
	free(fi);
	free(fs);
	free(zo);
}
END_TEST

/* The first inference calls take their workspaces: fail each of those
 * allocations in turn; the call reports FDEN_E_NOMEM, the next call works
 * and gives the same bits as a model that never failed. */
START_TEST(oom_every_allocation_first_inference)
{
	struct tu_counter c;
	struct fden_allocator a = tu_counting_allocator(&c);
	size_t n = 300, k, total = 0, nd = n * TU_TINY_DIM;
	float *z = malloc(nd * sizeof *z), *fi = malloc(nd * sizeof *fi);
	float *fs = malloc(nd * sizeof *fs), *zo = malloc(nd * sizeof *zo);
	float *ref_i = malloc(nd * sizeof *ref_i), *ref_o = malloc(nd * sizeof *ref_o);
	int pass;

	ck_assert(z && fi && fs && zo && ref_i && ref_o);
	tu_fill(z, nd);
	for (k = 0; k == 0 || k <= total; k++) {
		struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
		struct fden_model *m = NULL;
		size_t before;
		int rc1, rc2;

		memset(&c, 0, sizeof c);
		ck_assert_int_eq(fden_config_set_allocator(cfg, &a), FDEN_OK);
		ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
		fden_config_free(cfg);
		before = c.calls;
		c.fail_at = k ? before + k : 0;
		rc1 = fden_disentangle(m, z, n, fi, fs);
		rc2 = rc1 == FDEN_OK ? fden_entangle(m, fi, fs, n, zo) : FDEN_OK;
		if (k == 0) {
			ck_assert_int_eq(rc1, FDEN_OK);
			ck_assert_int_eq(rc2, FDEN_OK);
			total = c.calls - before;
			memcpy(ref_i, fi, nd * sizeof *fi);
			memcpy(ref_o, zo, nd * sizeof *zo);
		} else {
			ck_assert_msg((rc1 == FDEN_E_NOMEM) != (rc2 == FDEN_E_NOMEM) &&
					      (rc1 == FDEN_OK || rc1 == FDEN_E_NOMEM) &&
					      (rc2 == FDEN_OK || rc2 == FDEN_E_NOMEM),
				      "inference allocation %zu of %zu: statuses %d, %d", k, total, rc1, rc2);
			c.fail_at = 0;
			for (pass = 0; pass < 2; pass++) {
				ck_assert_int_eq(fden_disentangle(m, z, n, fi, fs), FDEN_OK);
				ck_assert_int_eq(fden_entangle(m, fi, fs, n, zo), FDEN_OK);
			}
			ck_assert(memcmp(fi, ref_i, n * fden_model_ide_dim(m) * sizeof *fi) == 0);
			ck_assert(memcmp(zo, ref_o, nd * sizeof *zo) == 0);
		}
		fden_model_free(m);
		ck_assert_msg(c.allocs == c.frees, "inference allocation %zu: %zu allocs, %zu frees",
			      k, c.allocs, c.frees);
	}
	fprintf(stderr, "oom: %zu allocations along the first disentangle+entangle, all failed cleanly\n",
		total);
	free(z);
	free(fi);
	free(fs);
	free(zo);
	free(ref_i);
	free(ref_o);
}
END_TEST

/* An allocator that fills every new block with one byte value. */
static void *filling_alloc(void *ud, size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, *(const unsigned char *)ud, n);
	return p;
}

static void filling_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}

static char *save_bytes(unsigned char fill, const struct tu_episodes *b, size_t *n)
{
	struct fden_allocator a;
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	struct fden_model *m = NULL;
	char path[] = "/tmp/fden-uninit-XXXXXX";
	int fd = mkstemp(path);
	char *buf;

	ck_assert_int_ge(fd, 0);
	close(fd);
	a.alloc = filling_alloc;
	a.free = filling_free;
	a.user_data = &fill;
	ck_assert_int_eq(fden_config_set_allocator(cfg, &a), FDEN_OK);
	ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
	fden_config_free(cfg);
	ck_assert_int_eq(fden_train_step(m, &b->ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	fden_model_free(m);
	buf = tu_slurp(path, n);
	unlink(path);
	return buf;
}

/* A checkpoint holds only state the model set: two models whose memory
 * starts as 0x00 and as 0xff bytes save the same file. (Otherwise the file
 * would carry whatever the heap held: nondeterministic, and a leak.) */
START_TEST(checkpoint_has_no_uninitialised_bytes)
{
	struct tu_episodes b;
	size_t n0, n1;
	char *f0, *f1;

	tu_episodes_make(&b, 2, 3, 2, 1, TU_TINY_DIM);
	f0 = save_bytes(0x00, &b, &n0);
	f1 = save_bytes(0xff, &b, &n1);
	ck_assert_msg(n0 == n1 && memcmp(f0, f1, n0) == 0,
		      "checkpoints differ with the allocator's fill byte (%zu vs %zu bytes): "
		      "uninitialised memory is saved",
		      n0, n1);
	free(f0);
	free(f1);
	tu_episodes_free(&b);
}
END_TEST

START_TEST(oom_every_allocation_load)
{
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	struct fden_model *m = NULL, *l;
	struct tu_episodes b;
	struct tu_counter c;
	struct fden_allocator a = tu_counting_allocator(&c);
	char path[] = "/tmp/fden-oom-XXXXXX";
	size_t k, total;
	int fd = mkstemp(path), rc;

	ck_assert_int_ge(fd, 0);
	close(fd);
	tu_episodes_make(&b, 2, 3, 2, 1, TU_TINY_DIM);
	ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
	fden_config_free(cfg);
	ck_assert_int_eq(fden_train_step(m, &b.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	fden_model_free(m);

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(fden_model_load(path, &a, &l), FDEN_OK);
	ck_assert_uint_eq(fden_model_step(l), 1);
	fden_model_free(l);
	total = c.allocs;
	ck_assert_uint_gt(total, 0);
	ck_assert_uint_eq(c.allocs, c.frees);
	for (k = 1; k <= total; k++) {
		memset(&c, 0, sizeof c);
		c.fail_at = k;
		l = (struct fden_model *)&l;
		rc = fden_model_load(path, &a, &l);
		ck_assert_msg(rc == FDEN_E_NOMEM, "load, allocation %zu of %zu failed: status %d (%s)",
			      k, total, rc, fden_last_error());
		ck_assert_msg(l == (struct fden_model *)&l, "fden_model_load set *out on failure");
		ck_assert_msg(c.allocs == c.frees, "load, allocation %zu failed: %zu allocs, %zu frees",
			      k, c.allocs, c.frees);
	}
	fprintf(stderr, "oom: %zu allocations along load, all failed cleanly\n", total);
	unlink(path);
	tu_episodes_free(&b);
}
END_TEST

static Suite *oom_suite(void)
{
	Suite *s = suite_create("api-oom");
	TCase *tc = tcase_create("oom");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, oom_every_allocation_create_and_step);
	tcase_add_loop_test(tc, steady_state_allocates_nothing, 0, 2);
	tcase_add_test(tc, oom_every_allocation_first_inference);
	tcase_add_test(tc, oom_every_allocation_load);
	tcase_add_test(tc, checkpoint_has_no_uninitialised_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(oom_suite(), 0);
}
