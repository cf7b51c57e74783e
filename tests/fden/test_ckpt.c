/* Checkpoints: round trip, resume == uninterrupted bit for bit, and
 * corrupt, truncated and future-version files giving a clear status. */
#include <stdio.h>
#include <unistd.h>

#include "../testutil.h"
#include "fden/model_int.h"
#include "io/ckpt.h"

static char dir[256];

static void mkpath(char *out, const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/fden-model-ckpt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* every lever that touches random state or extra state is on */
static struct fden_model *busy_model(void)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_RELATION);
	struct fden_model *m = NULL;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_DROPOUT, 0.2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_MINE_MA, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STOCHASTIC, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-3), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	float mean[4] = { 0.1f, 0.2f, -0.1f, 0 }, sd[4] = { 1, 2, 0.5f, 1.5f };
	ck_assert_int_eq(fden_model_set_standardization(m, mean, sd), FDEN_OK);
	return m;
}

static void steps(struct fden_model *m, int from, int to)
{
	for (int s = from; s < to; s++) {
		struct tu_episodes t;
		tu_state = 1000 + (uint64_t)s; /* batch s is the same in every run */
		tu_episodes_make(&t, 2, 3, 2, 1, 4);
		t.ep.z_log_sigma = t.ls;
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
		tu_episodes_free(&t);
	}
}

static void assert_same(struct fden_model *a, struct fden_model *b)
{
	ck_assert_uint_eq(a->step, b->step);
	ck_assert_mem_eq(a->rng.s, b->rng.s, sizeof a->rng.s);
	ck_assert(a->mine_log_ma == b->mine_log_ma);
	for (int k = 0; k < FD_NNETS; k++) {
		ck_assert((a->net[k] == NULL) == (b->net[k] == NULL));
		if (!a->net[k])
			continue;
		for (int i = 0; i < fd_mlp_nparams(a->net[k]); i++) {
			struct fd_param *p = fd_mlp_param(a->net[k], i), *q = fd_mlp_param(b->net[k], i);
			ck_assert_uint_eq(p->n, q->n);
			ck_assert_mem_eq(p->w, q->w, p->n * sizeof *p->w);
			ck_assert_mem_eq(p->m, q->m, p->n * sizeof *p->m);
			ck_assert_mem_eq(p->v, q->v, p->n * sizeof *p->v);
		}
		for (int i = 0; i < fd_mlp_nbuffers(a->net[k]); i++) {
			struct fd_buffer *p = fd_mlp_buffer(a->net[k], i), *q = fd_mlp_buffer(b->net[k], i);
			ck_assert_mem_eq(p->x, q->x, p->n * sizeof *p->x);
		}
	}
}

START_TEST(round_trip)
{
	struct fden_model *m = busy_model(), *l = NULL;
	struct fden_config *c1 = NULL, *c2 = NULL;
	char path[512];
	float z[40], a1[40], a2[40], b1[40], b2[40];
	double v1, v2;

	steps(m, 0, 3);
	mkpath(path, "m.fden");
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_OK);
	assert_same(m, l);
	for (int i = 0; i < 40; i++)
		z[i] = (float)tu_normal();
	ck_assert_int_eq(fden_disentangle(m, z, 10, a1, b1), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(l, z, 10, a2, b2), FDEN_OK);
	ck_assert_mem_eq(a1, a2, sizeof a1);
	ck_assert_mem_eq(b1, b2, sizeof b1);
	ck_assert_int_eq(fden_model_config(m, &c1), FDEN_OK);
	ck_assert_int_eq(fden_model_config(l, &c2), FDEN_OK);
	for (int k = FDEN_P_DIM; k <= fden_config_key_count(); k++) {
		ck_assert_int_eq(fden_config_get(c1, k, &v1), FDEN_OK);
		ck_assert_int_eq(fden_config_get(c2, k, &v2), FDEN_OK);
		ck_assert(v1 == v2);
	}
	fden_config_free(c1);
	fden_config_free(c2);
	fden_model_free(m);
	fden_model_free(l);
}
END_TEST

START_TEST(resume_bit_identical)
{
	struct fden_model *a = busy_model(), *b = busy_model(), *r = NULL;
	char path[512];

	steps(a, 0, 6);
	steps(b, 0, 3);
	mkpath(path, "half.fden");
	ck_assert_int_eq(fden_model_save(b, path), FDEN_OK);
	fden_model_free(b);
	ck_assert_int_eq(fden_model_load(path, NULL, &r), FDEN_OK);
	ck_assert_uint_eq(fden_model_step(r), 3);
	steps(r, 3, 6);
	assert_same(a, r);
	/* and a run that did not stop differs from one fed other batches */
	steps(r, 100, 101);
	ck_assert(memcmp(fd_mlp_param(a->net[FD_NET_D_DEC], 0)->w,
			 fd_mlp_param(r->net[FD_NET_D_DEC], 0)->w, 4 * sizeof(float)) != 0);
	fden_model_free(a);
	fden_model_free(r);
}
END_TEST

static long file_size(const char *p)
{
	FILE *f = fopen(p, "rb");
	long n;
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

static void patch(const char *p, long off, unsigned char x)
{
	FILE *f = fopen(p, "r+b");
	int c;
	ck_assert_ptr_nonnull(f);
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ x, f);
	fclose(f);
}

START_TEST(bad_files)
{
	struct fden_model *m = busy_model(), *l = NULL;
	char path[512], cmd[1200];
	long n;
	int rc;

	mkpath(path, "nope.fden");
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_IO);
	ck_assert_ptr_null(l);
	ck_assert(fden_last_error()[0] != '\0');

	mkpath(path, "c.fden");
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	n = file_size(path);
	patch(path, n / 2, 0x5a); /* flip bits in the compressed payload */
	rc = fden_model_load(path, NULL, &l);
	ck_assert_msg(rc == FDEN_E_CORRUPT || rc == FDEN_E_FORMAT, "corrupt: %d (%s)", rc,
		      fden_last_error());
	ck_assert_ptr_null(l);

	mkpath(path, "t.fden");
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	snprintf(cmd, sizeof cmd, "truncate -s %ld '%s'", file_size(path) - 7, path);
	ck_assert_int_eq(system(cmd), 0);
	rc = fden_model_load(path, NULL, &l);
	ck_assert_msg(rc == FDEN_E_FORMAT || rc == FDEN_E_CORRUPT, "truncated: %d", rc);
	snprintf(cmd, sizeof cmd, "truncate -s 5 '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_FORMAT);

	mkpath(path, "v.fden"); /* container format version from the future */
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	patch(path, 9, 0x40);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_VERSION);
	ck_assert_ptr_null(l);
	fden_model_free(m);
}
END_TEST

/* a valid container whose model layout version is newer than ours, or
 * whose records are missing or out of bounds */
START_TEST(bad_records)
{
	struct fd_ckpt_writer *w;
	struct fden_model *l = NULL;
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);
	char path[512];
	uint64_t fmt = 2;

	mkpath(path, "f.fden");
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "format", FD_CKPT_U64, &fmt, 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_VERSION);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "format"));

	fmt = 1; /* right version, no configuration */
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "format", FD_CKPT_U64, &fmt, 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "config"));

	c->v[FDEN_P_DROPOUT] = 7; /* out of bounds */
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "format", FD_CKPT_U64, &fmt, 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "config", FD_CKPT_F64, c->v, FD_NKEYS + 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "dropout"));

	c->v[FDEN_P_DROPOUT] = 0;
	/* integer keys the check once read as int before bounding them: NaN
	 * and 1e300 have no int value (UBSan: undefined; found by fuzz_model) */
	{
		static const int ikeys[] = { FDEN_P_DIM, FDEN_P_IDE_DIM, FDEN_P_DISENTANGLER };
		static const char *const iname[] = { "dim", "ide_dim", "disentangler" };
		const double bad[] = { NAN, -NAN, 1e300, -1e300, INFINITY };
		for (size_t k = 0; k < 3; k++)
			for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
				double keep = c->v[ikeys[k]];
				c->v[ikeys[k]] = bad[b];
				ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w),
						 FDEN_OK);
				ck_assert_int_eq(fd_ckpt_put(w, "format", FD_CKPT_U64, &fmt, 1), FDEN_OK);
				ck_assert_int_eq(fd_ckpt_put(w, "config", FD_CKPT_F64, c->v,
							     FD_NKEYS + 1),
						 FDEN_OK);
				ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
				ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_FORMAT);
				ck_assert_msg(strstr(fden_last_error(), iname[k]), "%s",
					      fden_last_error());
				ck_assert_ptr_null(l);
				c->v[ikeys[k]] = keep;
			}
	}

	/* valid config, parameters missing */
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "format", FD_CKPT_U64, &fmt, 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_put(w, "config", FD_CKPT_F64, c->v, FD_NKEYS + 1), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_E_FORMAT);
	ck_assert_ptr_null(l);
	fden_config_free(c);
}
END_TEST

/* A file from before the model stored its f_ide width keeps ide_dim 0,
 * which meant Dim/2: it must load with that split, whatever the default
 * is. The file is today's (made with ide_dim 5 of 8), rewritten record by
 * record with the configuration's ide_dim set back to 0. */
START_TEST(legacy_ide_dim_zero)
{
	struct fden_config *c = tu_small_config(8, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL, *l = NULL;
	struct fd_ckpt_reader *r = NULL;
	struct fd_ckpt_writer *w = NULL;
	char path[512], old[512];
	float z[80], a1[80], b1[80], a2[80], b2[80];

	ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 8), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, 5), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	ck_assert_uint_eq(fden_model_ide_dim(m), 5);
	mkpath(path, "new.fden");
	mkpath(old, "old.fden");
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);

	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, NULL, &r), FDEN_OK);
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, NULL, &w), FDEN_OK);
	for (size_t i = 0; i < fd_ckpt_count(r); i++) {
		const char *name;
		const void *data;
		size_t count;
		int type;

		ck_assert_int_eq(fd_ckpt_record(r, i, &name, &type, &data, &count), FDEN_OK);
		if (!strcmp(name, "config")) {
			double v[FD_NKEYS + 1];
			ck_assert_uint_eq(count, FD_NKEYS + 1);
			memcpy(v, data, sizeof v);
			ck_assert(v[FDEN_P_IDE_DIM] == 5);
			v[FDEN_P_IDE_DIM] = 0;
			ck_assert_int_eq(fd_ckpt_put(w, name, type, v, count), FDEN_OK);
		} else {
			ck_assert_int_eq(fd_ckpt_put(w, name, type, data, count), FDEN_OK);
		}
	}
	ck_assert_int_eq(fd_ckpt_write(w, old), FDEN_OK);
	fd_ckpt_reader_free(r);

	ck_assert_int_eq(fden_model_load(old, NULL, &l), FDEN_OK);
	ck_assert_uint_eq(fden_model_ide_dim(l), 4);
	ck_assert_uint_eq(fden_model_sty_dim(l), 4);
	/* the same flow, split one column earlier */
	for (int i = 0; i < 80; i++)
		z[i] = (float)tu_normal();
	ck_assert_int_eq(fden_disentangle(m, z, 10, a1, b1), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(l, z, 10, a2, b2), FDEN_OK);
	for (int i = 0; i < 10; i++) {
		float f1[8], f2[8];
		memcpy(f1, a1 + 5 * i, 5 * sizeof *f1);
		memcpy(f1 + 5, b1 + 3 * i, 3 * sizeof *f1);
		memcpy(f2, a2 + 4 * i, 4 * sizeof *f2);
		memcpy(f2 + 4, b2 + 4 * i, 4 * sizeof *f2);
		ck_assert_mem_eq(f1, f2, sizeof f1);
	}
	fden_model_free(m);
	fden_model_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model-ckpt");
	TCase *tc = tcase_create("ckpt");
	int nf = 0;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, resume_bit_identical);
	tcase_add_test(tc, bad_files);
	tcase_add_test(tc, bad_records);
	tcase_add_test(tc, legacy_ide_dim_zero);
	suite_add_tcase(s, tc);
	nf += tu_check_failed(s, NULL);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
