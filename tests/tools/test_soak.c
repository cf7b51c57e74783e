/* Suite soak: `kill -9` of `fden train --checkpoint-every N --resume --out
 * M` at random points, hundreds of times (issue 17). Small N makes many of
 * the kills land inside a save. After each kill:
 *  - M, when there is one, loads (fden_model_load) and never holds fewer
 *    steps than before the kill: a kill costs at most the unsaved steps;
 *  - `--resume` continues: a run to two more steps than M holds exits 0 and
 *    leaves exactly that many, so it started from M, not from scratch;
 *  - after that run no M.tmp.* file is left (the killed save's temporary
 *    file went), and the lock file went with its holder.
 * Runs for FDEN_SOAK_SECONDS (default 90) and prints the kill count; the
 * seed of the kill points is FDEN_SOAK_SEED (default: from the clock),
 * printed for a rerun. A longer soak:
 *   FDEN_SOAK_SECONDS=600 build/tests/tools/test-tools-soak build/examples/fden/fden */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <fden/fden.h>

#include "tools_util.h"
#include "../testutil.h"

#define SOAK_DEFAULT_SECONDS 90
#define N_ROWS 400
#define DIM 16
#define N_CLS 10
#define MAX_DELAY_MS 300 /* kill points: uniform in [0, this) after the start */
/* small networks: a 100 KB model, ~200 steps/s, a save (fsync'd) ~40 ms;
 * a resumed run takes them from the file */
#define SMALL "--set", "dis_width=32", "--set", "ent_trunk_width=32", "--set", \
	      "ent_branch_width=16", "--set", "stat_width1=32", "--set", "stat_width2=16", "--set", \
	      "stat_width3=8", "--set", "flow_width=32", "--set", "flow_layers=4"

static double soak_seconds = SOAK_DEFAULT_SECONDS;
static uint64_t soak_seed;

static uint64_t rnd(void)
{
	uint64_t x = (soak_seed += 0x9E3779B97F4A7C15ull); /* splitmix64 */
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Latents: class c is a cloud around c in every dimension. */
static void write_data(void)
{
	static float z[N_ROWS * DIM];
	static int32_t y[N_ROWS];
	uint64_t s = 7;
	for (size_t i = 0; i < N_ROWS * DIM; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		z[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) + (float)(i / DIM % N_CLS);
	}
	for (int i = 0; i < N_ROWS; i++)
		y[i] = i % N_CLS;
	write_npy("z.npy", z, N_ROWS, DIM, 0);
	write_npy("y.npy", y, N_ROWS, 0, 1);
}

/* Files in work_dir named "<base>.tmp.*". */
static size_t count_tmp(const char *base)
{
	DIR *d = opendir(work_dir);
	struct dirent *de;
	size_t n = 0, blen = strlen(base);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += !strncmp(de->d_name, base, blen) && !strncmp(de->d_name + blen, ".tmp.", 5);
	closedir(d);
	return n;
}

static int is_there(const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	return lstat(p, &st) == 0;
}

/* The steps the model file holds; 0 when there is none. Fails the test
 * when it is there and does not load. */
static uint64_t saved_steps(const char *name)
{
	char p[512];
	struct fden_model *m = NULL;
	if (!is_there(name))
		return 0;
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	int rc = fden_model_load(p, NULL, &m);
	ck_assert_msg(rc == FDEN_OK, "%s does not load after a kill: %s", name, fden_strerror(rc));
	uint64_t steps = fden_model_step(m);
	fden_model_free(m);
	return steps;
}

START_TEST(kill_and_resume)
{
	static const char *const every[] = { "1", "1", "2", "5", "50" };
	size_t kills = 0, in_save = 0, saved = 0;
	uint64_t steps = 0, seed0 = soak_seed;
	double t0 = now(), deadline = t0 + soak_seconds;

	write_data();
	while (now() < deadline) {
		const char *args[] = { "train", "--train-images", "z.npy", "--train-labels", "y.npy",
				       SMALL, "--checkpoint-every", every[rnd() % 5], "--steps", "100000000",
				       "--resume", "--out", "m.fden", "--quiet", NULL };
		long delay_us = (long)(rnd() % (MAX_DELAY_MS * 1000));
		struct timespec ts = { delay_us / 1000000, delay_us % 1000000 * 1000 };
		int fo, fe, code;
		pid_t pid = spawn(args, &fo, &fe);

		nanosleep(&ts, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		code = wait_code(pid, fo, fe);
		ck_assert_msg(code == 128 + SIGKILL, "train exited %d before the kill: %s", code,
			      run_err);
		kills++;
		in_save += count_tmp("m.fden") > 0;

		/* the model loads and lost no saved step */
		uint64_t now_steps = saved_steps("m.fden");
		ck_assert_msg(now_steps >= steps, "the model went back from %" PRIu64 " to %" PRIu64 " steps", steps, now_steps);
		saved += now_steps > steps; /* the killed run had saved a checkpoint */

		/* --resume continues from it; the next save leaves no temporary */
		char target[32];
		snprintf(target, sizeof target, "%" PRIu64, now_steps + 2);
		code = run("train", "--train-images", "z.npy", "--train-labels", "y.npy", SMALL,
			   "--checkpoint-every", "1", "--steps", target, "--resume", "--out", "m.fden",
			   "--quiet", NULL);
		ck_assert_msg(code == 0, "resume after kill %zu exited %d: %s", kills, code, run_err);
		steps = saved_steps("m.fden");
		ck_assert_msg(steps == now_steps + 2, "resume from %" PRIu64 " steps ended at %" PRIu64,
			      now_steps, steps);
		ck_assert_msg(count_tmp("m.fden") == 0, "kill %zu: a temporary file is left", kills);
		ck_assert_msg(!is_there("m.fden.lock"), "kill %zu: the lock file is left", kills);
	}
	printf("soak: %zu kills in %.0f s (seed %" PRIu64 "): %zu while saving (a temporary file "
	       "left), %zu after the killed run had saved; the model loaded after every kill and "
	       "resumed to %" PRIu64 " steps\n",
	       kills, now() - t0, seed0, in_save, saved, steps);
	fflush(stdout);
	ck_assert_uint_ge(kills, 1);
}
END_TEST

int main(int argc, char **argv)
{
	const char *s = getenv("FDEN_SOAK_SECONDS"), *seed = getenv("FDEN_SOAK_SEED");
	if (s && *s) {
		char *end;
		soak_seconds = strtod(s, &end);
		if (*end || !(soak_seconds > 0)) {
			fprintf(stderr, "FDEN_SOAK_SECONDS must be a number of seconds above 0, not '%s'\n",
				s);
			return 1;
		}
	}
	soak_seed = seed && *seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
	if (tools_init(argc, argv))
		return 1;
	Suite *su = suite_create("tools-soak");
	TCase *tc = tcase_create("soak");
	tcase_set_timeout(tc, soak_seconds + 120);
	tcase_add_test(tc, kill_and_resume);
	suite_add_tcase(su, tc);
	int failed = tu_check_failed(su, NULL);
	rm_tree(work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
