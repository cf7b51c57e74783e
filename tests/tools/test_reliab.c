/* The command line against careless and hostile use (issue 17): outputs that
 * are not regular files, absurd thread counts and budgets, labels near
 * INT32_MAX, class ranges, NaN inputs, overflowing headers, two trainers
 * with one output and a killed save's leftovers. Each exit status is the one
 * `fden --help` documents. */
#include <check.h>
#include <errno.h>
#include <sys/sysmacros.h>

#include "tools_util.h"
#include "../testutil.h"

#define N_ROWS 200
#define DIM 8
#define N_CLS 10

/* z.npy (N_ROWS x DIM), y.npy (10 classes of 20), yb.npy (class 9 is
 * INT32_MAX, class 8 is INT32_MAX - 1), img.npy (N_ROWS x 16 in [0, 1]). */
static void write_sets(void)
{
	static float z[N_ROWS * DIM], img[N_ROWS * 16];
	static int32_t y[N_ROWS], yb[N_ROWS];
	uint64_t s = 42;
	for (size_t i = 0; i < N_ROWS * DIM; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		z[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) + (float)(i / DIM % N_CLS);
	}
	for (size_t i = 0; i < N_ROWS * 16; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		img[i] = (float)((double)(s >> 11) / 9007199254740992.0);
	}
	for (int i = 0; i < N_ROWS; i++) {
		y[i] = i % N_CLS;
		yb[i] = y[i] == 9 ? INT32_MAX : y[i] == 8 ? INT32_MAX - 1
							  : y[i];
	}
	write_npy("z.npy", z, N_ROWS, DIM, 0);
	write_npy("img.npy", img, N_ROWS, 16, 0);
	write_npy("y.npy", y, N_ROWS, 0, 1);
	write_npy("yb.npy", yb, N_ROWS, 0, 1);
	z[12 * DIM + 3] = NAN;
	write_npy("zn.npy", z, N_ROWS, DIM, 0);
	img[5 * 16 + 2] = NAN;
	write_npy("imgn.npy", img, N_ROWS, 16, 0);
}

static const char *wpath(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", work_dir, name);
	return buf;
}

static int is_there(const char *name)
{
	char p[512];
	struct stat st;
	return lstat(wpath(p, sizeof p, name), &st) == 0;
}

START_TEST(budgets_refused)
{
	static const char *const bad[][2] = {
		{ "--steps", "0" },
		{ "--minutes", "-1" },
		{ "--minutes", "0" },
		{ "--minutes", "-0.5" },
	};
	write_sets();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
				     bad[i][0], bad[i][1], "--out", "b.fden", NULL),
				 2);
		ck_assert_msg(strstr(run_err, bad[i][0]), "%s", run_err);
		ck_assert(!is_there("b.fden"));
	}
}
END_TEST

START_TEST(nonfinite_inputs)
{
	write_sets();
	/* latents with a NaN, standardised: the data code, naming file, row, column */
	ck_assert_int_eq(run("train", "--train-images", "zn.npy", "--train-labels", "y.npy",
			     "--standardize", "--steps", "2", "--out", "n.fden", NULL),
			 5);
	ck_assert_msg(strstr(run_err, "'zn.npy': row 12, column 3 is NaN"), "%s", run_err);
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "2", "--out", "m.fden", "--quiet", NULL),
			 0);
	/* NaN test rows in eval: not "diverged" */
	ck_assert_int_eq(run("eval", "--model", "m.fden", "--test-images", "zn.npy",
			     "--test-labels", "y.npy", NULL),
			 5);
	ck_assert_msg(strstr(run_err, "row 12, column 3"), "%s", run_err);
	/* encode refuses NaN images as fit, train and eval do */
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "4", "--train-images", "img.npy",
			     "--train-labels", "y.npy", "--out", "net.fden", "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("encode", "--net", "net.fden", "--images", "imgn.npy", "--out",
			     "zz.npy", NULL),
			 5);
	ck_assert_msg(strstr(run_err, "'imgn.npy': row 5, column 2 is NaN"), "%s", run_err);
	ck_assert(!is_there("zz.npy"));
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "4", "--train-images", "imgn.npy",
			     "--train-labels", "y.npy", "--out", "net2.fden", NULL),
			 5);
}
END_TEST

START_TEST(labels_near_int32_max)
{
	write_sets();
	/* the two largest labels are the test classes */
	ck_assert_int_eq(run("train", "--images", "z.npy", "--labels", "yb.npy", "--test-classes",
			     "2147483646-2147483647", "--steps", "2", "--out", "mb.fden", "--quiet",
			     NULL),
			 0);
	ck_assert_int_eq(run("eval", "--model", "mb.fden", "--test-images", "z.npy",
			     "--test-labels", "yb.npy", "--tasks", "5x1", "--episodes", "20", "--quiet",
			     "--json", "-", NULL),
			 0);
	ck_assert_msg(strstr(run_out, "\"n_classes\": 10"), "%.400s", run_out);
	/* no task can run (20 ways, 10 classes): the data code, not a silent 0 */
	ck_assert_int_eq(run("eval", "--model", "mb.fden", "--test-images", "z.npy",
			     "--test-labels", "yb.npy", "--tasks", "20x1", "--quiet", NULL),
			 5);
	ck_assert_msg(strstr(run_err, "no task can run"), "%s", run_err);
}
END_TEST

START_TEST(class_ranges)
{
	write_sets();
	/* one range over all of int32: classes present in the data, no array */
	ck_assert_int_eq(run("train", "--images", "z.npy", "--labels", "yb.npy", "--train-classes",
			     "0-2147483647", "--steps", "2", "--out", "r.fden", "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("train", "--images", "z.npy", "--labels", "y.npy", "--train-classes",
			     "0-4,2147483000-2147483647", "--steps", "2", "--out", "r.fden",
			     "--quiet", NULL),
			 0);
	/* a range holding none of the data's classes: the data code */
	ck_assert_int_eq(run("train", "--images", "z.npy", "--labels", "y.npy", "--train-classes",
			     "100-2147483647", "--steps", "2", "--out", "r.fden", NULL),
			 5);
	ck_assert_msg(strstr(run_err, "no training rows"), "%s", run_err);
	ck_assert_int_eq(run("train", "--images", "z.npy", "--labels", "y.npy", "--train-classes",
			     "5-2", "--steps", "2", "--out", "r.fden", NULL),
			 2);
}
END_TEST

START_TEST(overflowing_headers)
{
	/* IDX: 4 sizes of 2^32-1; NPY: a shape whose product overflows */
	static const unsigned char idx[] = { 0, 0, 8, 4, 255, 255, 255, 255, 255, 255, 255, 255,
					     255, 255, 255, 255, 255, 255, 255, 255, 1, 2, 3 };
	char p[512];
	write_sets();
	write_file("big.idx", idx, sizeof idx);
	ck_assert_int_eq(run("fit", "--kind", "pca", "--train-images", "big.idx", "--train-labels",
			     "y.npy", "--out", "n.fden", NULL),
			 3);
	ck_assert_msg(strstr(run_err, "overflow"), "%s", run_err);
	{
		const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, "
				"4294967296, 4294967296), }";
		char hdr[118];
		memset(hdr, ' ', sizeof hdr);
		memcpy(hdr, h, strlen(h));
		hdr[117] = '\n';
		FILE *f = fopen(wpath(p, sizeof p, "big.npy"), "wb");
		ck_assert_ptr_nonnull(f);
		fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
		fwrite(hdr, 1, sizeof hdr, f);
		fclose(f);
	}
	ck_assert_int_eq(run("train", "--train-images", "big.npy", "--train-labels", "y.npy",
			     "--steps", "2", "--out", "n.fden", NULL),
			 3);
	ck_assert_msg(strstr(run_err, "overflow"), "%s", run_err);
}
END_TEST

START_TEST(nonregular_outputs)
{
	char p[512];
	struct stat st;
	int dev;
	write_sets();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "4", "--train-images", "img.npy",
			     "--train-labels", "y.npy", "--out", "net.fden", "--quiet", NULL),
			 0);
	/* a copy of /dev/null's node when we may (root), else a FIFO */
	dev = mknod(wpath(p, sizeof p, "node"), S_IFCHR | 0666, makedev(1, 3)) == 0;
	if (!dev)
		ck_assert_int_eq(mkfifo(p, 0666), 0);
	ck_assert_int_eq(run("encode", "--net", "net.fden", "--images", "img.npy", "--out", "node",
			     NULL),
			 3);
	ck_assert_msg(strstr(run_err, "not a regular file"), "%s", run_err);
	ck_assert_int_eq(run("encode", "--net", "net.fden", "--images", "img.npy", "--labels",
			     "y.npy", "--out", "z2.npy", "--labels-out", "node", NULL),
			 3);
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "4", "--train-images", "img.npy",
			     "--train-labels", "y.npy", "--out", "node", NULL),
			 3);
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "2", "--out", "node", NULL),
			 3);
	ck_assert_msg(strstr(run_err, "not a regular file"), "%s", run_err);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(dev ? S_ISCHR(st.st_mode) : S_ISFIFO(st.st_mode));
}
END_TEST

START_TEST(threads_bounded)
{
	write_sets();
	ck_assert_int_eq(run("fit", "--kind", "ae", "--latent", "4", "--epochs", "1", "--threads",
			     "100000", "--train-images", "img.npy", "--train-labels", "y.npy", "--out",
			     "t.fden", NULL),
			 2);
	ck_assert_msg(strstr(run_err, "at most"), "%s", run_err);
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--threads", "100000", "--steps", "2", "--out", "t.fden", NULL),
			 2);
	ck_assert_msg(strstr(run_err, "at most"), "%s", run_err);
	ck_assert(!is_there("t.fden"));
}
END_TEST

/* A second trainer of the same output fails at once; the first goes on. */
START_TEST(output_locked)
{
	const char *args[] = { fden_bin, "train", "--train-images", "z.npy", "--train-labels",
			       "y.npy", "--minutes", "0.05", "--out", "lk.fden", "--quiet", NULL };
	int fo, fe;
	write_sets();
	pid_t first = spawn(args + 1, &fo, &fe);
	for (int i = 0; i < 400 && !is_there("lk.fden.lock"); i++)
		usleep(10000);
	ck_assert(is_there("lk.fden.lock"));
	double t0 = (double)time(NULL);
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "3", "--out", "lk.fden", NULL),
			 3);
	ck_assert_msg(strstr(run_err, "being written by another process") &&
			      strstr(run_err, "lk.fden.lock"),
		      "%s", run_err);
	ck_assert((double)time(NULL) - t0 < 30);
	ck_assert_int_eq(wait_code(first, fo, fe), 0);
	ck_assert(is_there("lk.fden"));
	ck_assert(!is_there("lk.fden.lock")); /* removed by its holder */
	/* and a later trainer (resuming) takes it */
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "1000000", "--minutes", "0.02", "--resume", "--out", "lk.fden",
			     "--quiet", NULL),
			 0);
}
END_TEST

/* What a killed save left next to the output goes on the next run. */
START_TEST(stale_temporaries)
{
	char stale[64], live[64], older[64];
	pid_t dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	write_sets();
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "2", "--out", "st.fden", "--quiet", NULL),
			 0);
	snprintf(stale, sizeof stale, "st.fden.tmp.%ld.Ab3xYz", (long)dead);
	snprintf(live, sizeof live, "st.fden.tmp.%ld.Ab3xYz", (long)getpid());
	snprintf(older, sizeof older, "st.fden.tmp.Qw12Er"); /* an older library's name */
	write_file(stale, "partial", 7);
	write_file(live, "partial", 7);
	write_file(older, "partial", 7);
	{
		char p[512];
		struct timespec ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
		ck_assert_int_eq(utimensat(AT_FDCWD, wpath(p, sizeof p, older), ts, 0), 0);
	}
	ck_assert_int_eq(run("train", "--train-images", "z.npy", "--train-labels", "y.npy",
			     "--steps", "3", "--resume", "--out", "st.fden", NULL),
			 0);
	ck_assert_msg(strstr(run_err, "removed 2 temporary files"), "%s", run_err);
	ck_assert(!is_there(stale));
	ck_assert(!is_there(older));
	ck_assert(is_there(live)); /* this test process runs: never its files */
}
END_TEST

/* The same for every other output: fit --out, encode --out and
 * --labels-out remove a killed save's temporary files of their target and
 * keep those of a process that runs. */
START_TEST(stale_temporaries_every_output)
{
	static const char *const outs[] = { "net.fden", "zz.npy", "yy.npy" };
	char stale[3][64], live[3][64];
	pid_t dead = fork(), alive;
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	alive = fork();
	ck_assert_int_ge(alive, 0);
	if (alive == 0) {
		for (;;)
			pause();
	}
	write_sets();
	for (int i = 0; i < 3; i++) {
		snprintf(stale[i], sizeof stale[i], "%s.tmp.%ld.Ab3xYz", outs[i], (long)dead);
		snprintf(live[i], sizeof live[i], "%s.tmp.%ld.Ab3xYz", outs[i], (long)alive);
		write_file(stale[i], "partial", 7);
		write_file(live[i], "partial", 7);
	}
	int fit = run("fit", "--kind", "pca", "--latent", "4", "--train-images", "img.npy",
		      "--train-labels", "y.npy", "--out", "net.fden", "--quiet", NULL);
	int enc = fit ? -1 : run("encode", "--net", "net.fden", "--images", "img.npy", "--labels", "y.npy", "--out", "zz.npy", "--labels-out", "yy.npy", "--quiet", NULL);
	kill(alive, SIGKILL);
	waitpid(alive, NULL, 0);
	ck_assert_msg(fit == 0 && enc == 0, "fit %d, encode %d: %s", fit, enc, run_err);
	for (int i = 0; i < 3; i++) {
		ck_assert(is_there(outs[i]));
		ck_assert_msg(!is_there(stale[i]), "%s is left", stale[i]);
		ck_assert_msg(is_there(live[i]), "%s was removed", live[i]);
	}
}
END_TEST

int main(int argc, char **argv)
{
	if (tools_init(argc, argv))
		return 1;
	Suite *s = suite_create("tools-reliab");
	TCase *tc = tcase_create("reliab");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, budgets_refused);
	tcase_add_test(tc, nonfinite_inputs);
	tcase_add_test(tc, labels_near_int32_max);
	tcase_add_test(tc, class_ranges);
	tcase_add_test(tc, overflowing_headers);
	tcase_add_test(tc, nonregular_outputs);
	tcase_add_test(tc, threads_bounded);
	tcase_add_test(tc, output_locked);
	tcase_add_test(tc, stale_temporaries);
	tcase_add_test(tc, stale_temporaries_every_output);
	suite_add_tcase(s, tc);
	int failed = tu_check_failed(s, NULL);
	rm_tree(work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
