/* Suite tools-cli: the `fden` program's command line: --help for every
 * subcommand, usage errors (exit 2), missing files (exit 3), messages in
 * the documented "fden: <command>: ..." form. No training here. */
#include <check.h>

#include <fden/version.h>
#include "tools_util.h"
#include "../check_run.h"

static const char *const commands[] = { "fit", "encode", "train", "eval", "translate", "demo" };
#define N_CMD (sizeof commands / sizeof commands[0])

START_TEST(top_level)
{
	ck_assert_int_eq(run(NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "Usage: fden <command>"));
	ck_assert_int_eq(run("--help", NULL), 0);
	for (size_t i = 0; i < N_CMD; i++)
		ck_assert_ptr_nonnull(strstr(run_out, commands[i]));
	ck_assert_ptr_nonnull(strstr(run_out, "Exit status"));
	ck_assert_ptr_nonnull(strstr(run_out, "130"));
	ck_assert_int_eq(run("--version", NULL), 0);
	ck_assert_ptr_nonnull(strstr(run_out, FDEN_VERSION_STRING));
	ck_assert_int_eq(run("frobnicate", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: unknown command 'frobnicate'"));
	ck_assert_int_eq(run("help", "frobnicate", NULL), 2);
}
END_TEST

START_TEST(help_each)
{
	const char *c = commands[_i];
	char want[64];
	snprintf(want, sizeof want, "Usage: fden %s ", c);
	ck_assert_int_eq(run(c, "--help", NULL), 0);
	ck_assert_msg(strncmp(run_out, want, strlen(want)) == 0, "%s --help: %.80s", c, run_out);
	ck_assert_ptr_nonnull(strstr(run_out, "--help"));
	ck_assert_str_eq(run_err, "");
	ck_assert_int_eq(run(c, "-h", NULL), 0);
	ck_assert_int_eq(run("help", c, NULL), 0);
	ck_assert_msg(strncmp(run_out, want, strlen(want)) == 0, "help %s", c);
	/* --help wins over otherwise bad arguments only when they parse */
	ck_assert_int_eq(run(c, "--no-such-option", NULL), 2);
	char err[128];
	snprintf(err, sizeof err, "fden: %s: unknown option '--no-such-option'", c);
	ck_assert_msg(strstr(run_err, err), "%s: %s", c, run_err);
	ck_assert_int_eq(run(c, "stray", NULL), 2);
	snprintf(err, sizeof err, "fden: %s: unexpected argument 'stray'", c);
	ck_assert_msg(strstr(run_err, err), "%s: %s", c, run_err);
}
END_TEST

START_TEST(usage_errors)
{
	/* a value is missing, malformed or out of range */
	ck_assert_int_eq(run("train", "--out", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "needs a value"));
	ck_assert_int_eq(run("train", "--steps", "12x", "--out", "m", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "invalid value '12x' for --steps"));
	ck_assert_int_eq(run("train", "--steps", "-3", "--out", "m", NULL), 2);
	ck_assert_int_eq(run("train", "--minutes=abc", "--out", "m", NULL), 2);
	ck_assert_int_eq(run("train", "--set", "novalue", "--out", "m", NULL), 2);
	ck_assert_int_eq(run("train", "--resume=1", "--out", "m", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "takes no value"));
	ck_assert_int_eq(run("eval", "--tasks", "5by1", "--model", "m", NULL), 2);
	ck_assert_int_eq(run("eval", "--tasks", "1x1", "--model", "m", NULL), 2);
	/* required options */
	ck_assert_int_eq(run("fit", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: fit: --out FILE is required"));
	ck_assert_int_eq(run("encode", NULL), 2);
	ck_assert_int_eq(run("train", NULL), 2);
	ck_assert_int_eq(run("eval", NULL), 2);
	ck_assert_int_eq(run("translate", NULL), 2);
	/* data options that do not go together */
	ck_assert_int_eq(run("fit", "--out", "n", "--images", "a", "--labels", "b", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "--images needs --split"));
	ck_assert_int_eq(run("fit", "--out", "n", "--images", "a", "--train-images", "b",
			     "--split", "3", NULL), 2);
	ck_assert_int_eq(run("fit", "--out", "n", "--train-images", "a", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "no labels"));
}
END_TEST

START_TEST(file_errors)
{
	ck_assert_int_eq(run("eval", "--model", "no/such/model.fden", "--test-images", "x",
			     "--test-labels", "y", NULL), 3);
	ck_assert_msg(strncmp(run_err, "fden: eval: loading model 'no/such/model.fden': ", 48) == 0,
		      "%s", run_err);
	ck_assert_int_eq(run("encode", "--net", "missing.fden", "--images", "x", "--out", "z.npy",
			     NULL), 3);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: encode: loading network 'missing.fden': "));
	ck_assert_int_eq(run("fit", "--out", "n.fden", "--train-images", "missing.gz",
			     "--train-labels", "missing-labels.gz", NULL), 3);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: fit: loading 'missing.gz': "));
	/* a file that is not a model */
	write_file("junk.fden", "this is not a checkpoint, just text that is long enough", 56);
	ck_assert_int_eq(run("eval", "--model", "junk.fden", "--test-images", "x",
			     "--test-labels", "y", NULL), 3);
	ck_assert_int_eq(run("demo", "--data", "no/such/dir", "--out", "demo-out", NULL), 3);
	ck_assert_ptr_nonnull(strstr(run_err, "dataset-fashion-mnist"));
}
END_TEST

START_TEST(list_keys)
{
	ck_assert_int_eq(run("train", "--list-keys", NULL), 0);
	ck_assert_ptr_nonnull(strstr(run_out, "\ndim "));
	ck_assert_ptr_nonnull(strstr(run_out, "\nlr "));
	ck_assert_ptr_nonnull(strstr(run_out, "\ndropout "));
	ck_assert_ptr_nonnull(strstr(run_out, "\nalign_head "));
}
END_TEST

int main(int argc, char **argv)
{
	if (tools_init(argc, argv))
		return 1;
	Suite *s = suite_create("tools-cli");
	TCase *tc = tcase_create("cli");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, top_level);
	tcase_add_loop_test(tc, help_each, 0, (int)N_CMD);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, list_keys);
	suite_add_tcase(s, tc);
	int failed = fd_check_failed(s, NULL);
	rm_tree(work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
