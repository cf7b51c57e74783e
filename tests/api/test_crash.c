/* Crash safety of fden_model_save(): a child process trains and saves over
 * one path again and again; the parent SIGKILLs it at spread-out moments
 * (many of them in the middle of a save). After every kill the file at the
 * path loads, is one of the states the child saved (its step count) and
 * gives the same outputs as that state. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tiny.h"

#if defined(FDEN_SYM_fden_model_save) && defined(FDEN_SYM_fden_model_load) && \
	defined(FDEN_SYM_fden_train_step) && defined(FDEN_SYM_fden_disentangle) && \
	defined(FDEN_SYM_fden_model_ide_dim)

#define KILLS_FULL 40
#define CD 32 /* latent width */
#define REF_STEPS 64 /* 8 under valgrind */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_for(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

START_TEST(sigkill_during_save_keeps_previous)
{
	/* Wide enough that a save takes a measurable time. */
	struct fden_config *cfg = tiny_config_w(CD, 64);
	struct fden_model *m = NULL;
	struct tiny_batch b;
	char dir[] = "/tmp/fden-crash-XXXXXX", path[256];
	double t0, save_s;
	int i, ok_loads = 0, mid = 0, compared = 0;
	const int kills = tiny_under_valgrind() ? 5 : KILLS_FULL;
	const size_t nref = tiny_under_valgrind() ? 8 : REF_STEPS;
	size_t n = 16, s, ni;
	float *z = malloc(n * CD * sizeof *z), *fi = malloc(n * CD * sizeof *fi);
	float *ref = malloc(REF_STEPS * n * CD * sizeof *ref);
	struct fden_model *r = NULL;

	ck_assert(z && fi && ref);
	tiny_fill(z, n * CD);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/model.fden", dir);
	tiny_batch_make(&b, CD, 1, 3, 1, 1);
	ck_assert_int_eq(fden_model_new(cfg, &m), FDEN_OK);
	fden_config_free(cfg);
	ck_assert_int_eq(fden_train_step(m, &b.ep, NULL), FDEN_OK);
	t0 = now();
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	save_s = now() - t0;
	/* The states a child can save: step 1 (the file now) and the steps after,
	 * fingerprinted by D's output (load + continue is bit-identical). */
	ck_assert_int_eq(fden_model_load(path, NULL, &r), FDEN_OK);
	/* f_ide is n x ide_dim (under Dim for the flow): only that is compared,
	 * the rest of each slot is never written */
	ni = n * fden_model_ide_dim(r);
	for (s = 0; s < nref; s++) {
		ck_assert_uint_eq(fden_model_step(r), s + 1);
		ck_assert_int_eq(fden_disentangle(r, z, n, ref + s * n * CD, NULL), FDEN_OK);
		ck_assert_int_eq(fden_train_step(r, &b.ep, NULL), FDEN_OK);
	}
	fden_model_free(r);

	for (i = 0; i < kills; i++) {
		pid_t pid;
		int st;
		struct fden_model *l = NULL;
		/* Kill times spread over [0, 2.5 saves] after the child's first save starts. */
		double delay = save_s * 2.5 * (double)i / kills;

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			/* Child: step, save, forever. Exits only by SIGKILL. */
			for (;;) {
				if (fden_train_step(m, &b.ep, NULL) != FDEN_OK ||
				    fden_model_save(m, path) != FDEN_OK)
					_exit(3);
			}
		}
		sleep_for(delay);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			      "child ended by itself (status %d): a save failed", st);
		if (delay > 0 && delay < save_s * 1.5)
			mid++;
		ck_assert_msg(fden_model_load(path, NULL, &l) == FDEN_OK,
			      "kill %d (%.0f us): checkpoint does not load: %s", i, delay * 1e6,
			      fden_last_error());
		/* The file is a whole state some save wrote. */
		s = (size_t)fden_model_step(l);
		ck_assert_uint_ge(s, 1);
		ck_assert_int_eq(fden_disentangle(l, z, n, fi, NULL), FDEN_OK);
		if (s <= nref) {
			ck_assert_msg(memcmp(fi, ref + (s - 1) * n * CD, ni * sizeof *fi) == 0,
				      "kill %d: the checkpoint at step %zu is not the state saved", i, s);
			compared++;
		}
		fden_model_free(l);
		ok_loads++;
	}
	fprintf(stderr, "crash: save takes %.0f us; %d kills (%d within the first save), "
		"checkpoint loaded every time, %d compared bit for bit\n", save_s * 1e6, kills,
		mid, compared);
	ck_assert_int_eq(ok_loads, kills);
	fden_model_free(m);
	/* Remove the checkpoint and any temporary files a kill left behind. */
	{
		DIR *d = opendir(dir);
		struct dirent *e;
		char p[512];

		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
		rmdir(dir);
	}
	tiny_batch_free(&b);
	free(z);
	free(fi);
	free(ref);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("api-crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 60);
#if defined(FDEN_SYM_fden_model_save) && defined(FDEN_SYM_fden_model_load) && \
	defined(FDEN_SYM_fden_train_step) && defined(FDEN_SYM_fden_disentangle) && \
	defined(FDEN_SYM_fden_model_ide_dim)
	tcase_add_test(tc, sigkill_during_save_keeps_previous);
#endif
	suite_add_tcase(s, tc);
	return fd_check_main(s, 1);
}
