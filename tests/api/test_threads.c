/* Concurrency: many threads running fden_disentangle, fden_entangle and
 * fden_predict on one trained model at once produce exactly the bits of a
 * serial run (the model's workspace pool, chunking and BLIS calls must not
 * share mutable state); fden_model_save from several of them at the same
 * time writes the serial run's bytes. Run it under ThreadSanitizer too (scripts/tsan.sh). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../testutil.h"


#define THREADS 8
#define ROUNDS_FULL 6
#define N 600 /* more rows than one inference chunk */

struct shared {
	const struct fden_model *m;
	const float *z;             /* N x dim */
	const float *ide, *sty;     /* serial results */
	const float *zt;            /* serial entangle of (ide, sty) */
	const int32_t *pred;        /* serial predict, or NULL */
	size_t dim, di, ds, rounds; /* Dim, f_ide and f_sty widths */
	const char *dir;            /* threads save to dir/<id> (NULL: no saving) */
	const char *ref;            /* the serial save's bytes */
	size_t ref_n;
	pthread_barrier_t start;
};

struct worker {
	struct shared *sh;
	int id;
	int mismatches;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	size_t nd = (size_t)N * sh->dim, off, n, r;
	size_t ni = (size_t)N * sh->di, ns = (size_t)N * sh->ds;
	float *ide = malloc(nd * sizeof *ide), *sty = malloc(nd * sizeof *sty);
	float *zt = malloc(nd * sizeof *zt);
	int32_t pred[N];

	pthread_barrier_wait(&sh->start);
	for (r = 0; r < sh->rounds; r++) {
		/* Whole batch, and a per-thread slice at an odd offset. */
		off = (size_t)(w->id * 37 + (int)r * 11) % (N / 2);
		n = N - off;
		if (fden_disentangle(sh->m, sh->z, N, ide, sty) != FDEN_OK ||
		    fden_entangle(sh->m, sh->ide, sh->sty, N, zt) != FDEN_OK) {
			w->failures++;
			continue;
		}
		if (memcmp(ide, sh->ide, ni * sizeof *ide) || memcmp(sty, sh->sty, ns * sizeof *sty) ||
		    memcmp(zt, sh->zt, nd * sizeof *zt))
			w->mismatches++;
		if (fden_disentangle(sh->m, sh->z + off * sh->dim, n, ide, NULL) != FDEN_OK) {
			w->failures++;
			continue;
		}
		if (memcmp(ide, sh->ide + off * sh->di, n * sh->di * sizeof *ide))
			w->mismatches++;
		if (sh->pred) {
			/* Support: the first 15 rows, classes i % 5; queries: the rest. */
			int32_t sl[15];
			size_t i;

			for (i = 0; i < 15; i++)
				sl[i] = (int32_t)(i % 5);
			if (fden_predict(sh->m, sh->z, sl, 15, 5, sh->z + 15 * sh->dim, N - 15, pred,
					 NULL) != FDEN_OK)
				w->failures++;
			else if (memcmp(pred, sh->pred, (N - 15) * sizeof *pred))
				w->mismatches++;
		}
	}
	if (sh->dir && w->id % 2 == 0) {
		char p[256];
		FILE *f;
		char *buf = malloc(sh->ref_n + 1);
		size_t got;

		snprintf(p, sizeof p, "%s/t%d.fden", sh->dir, w->id);
		if (!buf || fden_model_save(sh->m, p) != FDEN_OK) {
			w->failures++;
		} else if ((f = fopen(p, "rb")) == NULL) {
			w->failures++;
		} else {
			got = fread(buf, 1, sh->ref_n + 1, f);
			fclose(f);
			if (got != sh->ref_n || memcmp(buf, sh->ref, got))
				w->mismatches++;
			unlink(p);
		}
		free(buf);
	}
	(void)pred;
	free(ide);
	free(sty);
	free(zt);
	return NULL;
}

START_TEST(threads_match_serial_bits)
{
	struct fden_config *cfg = tu_tiny_config(16, 32);
	struct fden_model *m = NULL;
	struct tu_episodes b;
	struct shared sh;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	size_t dim = 16, nd = (size_t)N * dim, i;
	float *z = malloc(nd * sizeof *z), *ide = malloc(nd * sizeof *ide);
	float *sty = malloc(nd * sizeof *sty), *zt = malloc(nd * sizeof *zt);
	int32_t *pred = NULL;
	int mism = 0, fails = 0;

	ck_assert(z && ide && sty && zt);
	tu_fill(z, nd);
	tu_episodes_make(&b, 4, 5, 2, 2, dim);
	ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
	fden_config_free(cfg);
	/* Train a little so batch-norm statistics and weights are not trivial. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(fden_train_step(m, &b.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(m, z, N, ide, sty), FDEN_OK);
	ck_assert_int_eq(fden_entangle(m, ide, sty, N, zt), FDEN_OK);
	{
		int32_t sl[15];

		pred = malloc(N * sizeof *pred);
		for (i = 0; i < 15; i++)
			sl[i] = (int32_t)(i % 5);
		ck_assert_int_eq(fden_predict(m, z, sl, 15, 5, z + 15 * dim, N - 15, pred, NULL),
				 FDEN_OK);
	}
	sh.m = m;
	sh.z = z;
	sh.ide = ide;
	sh.sty = sty;
	sh.zt = zt;
	sh.pred = pred;
	sh.dim = dim;
	sh.di = fden_model_ide_dim(m);
	sh.ds = fden_model_sty_dim(m);
	sh.rounds = tu_under_valgrind() ? 1 : ROUNDS_FULL;
	sh.dir = NULL;
	sh.ref = NULL;
	sh.ref_n = 0;
	{
		static char dir[] = "/tmp/fden-threads-XXXXXX";
		char p[256];
		char *ref;

		ck_assert_ptr_nonnull(mkdtemp(dir));
		snprintf(p, sizeof p, "%s/serial.fden", dir);
		ck_assert_int_eq(fden_model_save(m, p), FDEN_OK);
		ref = tu_slurp(p, &sh.ref_n);
		unlink(p);
		sh.dir = dir;
		sh.ref = ref;
	}
	ck_assert_int_eq(pthread_barrier_init(&sh.start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		w[i].sh = &sh;
		w[i].id = (int)i;
		w[i].mismatches = w[i].failures = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		mism += w[i].mismatches;
		fails += w[i].failures;
	}
	pthread_barrier_destroy(&sh.start);
	if (sh.dir)
		rmdir(sh.dir);
	free((char *)sh.ref);
	fprintf(stderr, "threads: %d threads x %d rounds: %d failures, %d mismatches\n", THREADS,
		(int)sh.rounds, fails, mism);
	ck_assert_int_eq(fails, 0);
	ck_assert_int_eq(mism, 0);
	fden_model_free(m);
	tu_episodes_free(&b);
	free(z);
	free(ide);
	free(sty);
	free(zt);
	free(pred);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api-threads");
	TCase *tc = tcase_create("threads");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, threads_match_serial_bits);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
