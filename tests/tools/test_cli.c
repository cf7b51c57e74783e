/* Suite tools-cli: the `fden` program's command line: --help for every
 * subcommand, usage errors (exit 2), missing files (exit 3), messages in
 * the documented "fden: <command>: ..." form. No training here. */
#include <check.h>

#include <fden/version.h>
#include "tools_util.h"
#include "../testutil.h"

static const char *const commands[] = { "fit", "encode", "train", "eval",
					"translate", "demo", "ablate" };
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
			     "--split", "3", NULL),
			 2);
	ck_assert_int_eq(run("fit", "--out", "n", "--train-images", "a", NULL), 2);
	ck_assert_ptr_nonnull(strstr(run_err, "no labels"));
}
END_TEST

START_TEST(file_errors)
{
	ck_assert_int_eq(run("eval", "--model", "no/such/model.fden", "--test-images", "x",
			     "--test-labels", "y", NULL),
			 3);
	ck_assert_msg(strncmp(run_err, "fden: eval: loading model 'no/such/model.fden': ", 48) == 0,
		      "%s", run_err);
	ck_assert_int_eq(run("encode", "--net", "missing.fden", "--images", "x", "--out", "z.npy",
			     NULL),
			 3);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: encode: loading network 'missing.fden': "));
	ck_assert_int_eq(run("fit", "--out", "n.fden", "--train-images", "missing.gz",
			     "--train-labels", "missing-labels.gz", NULL),
			 3);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: fit: loading 'missing.gz': "));
	/* a file that is not a model */
	write_file("junk.fden", "this is not a checkpoint, just text that is long enough", 56);
	ck_assert_int_eq(run("eval", "--model", "junk.fden", "--test-images", "x",
			     "--test-labels", "y", NULL),
			 3);
	ck_assert_int_eq(run("demo", "--data", "no/such/dir", "--out", "demo-out", NULL), 3);
	ck_assert_ptr_nonnull(strstr(run_err, "dataset-fashion-mnist"));
	ck_assert_ptr_nonnull(strstr(run_err, "scripts/make-glyphs.py"));
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

/* The option line of --NAME in the last run's help, or NULL. */
static const char *help_line(const char *name)
{
	char want[64];
	snprintf(want, sizeof want, "\n  --%s ", name);
	const char *p = strstr(run_out, want);
	if (!p) {
		snprintf(want, sizeof want, "\n  --[no-]%s ", name);
		p = strstr(run_out, want);
	}
	return p ? p + 1 : NULL;
}

/* Whether text is on the line starting at l. */
static int line_has(const char *l, const char *text)
{
	const char *end = strchr(l, '\n'), *p = strstr(l, text);
	return p && (!end || p < end);
}

/* Each command's help lists the data options of the rows it loads and no
 * others, and every option once. */
START_TEST(help_per_command)
{
	static const struct {
		const char *cmd;
		int train, test, one_set; /* which data options apply */
	} c[] = {
		{ "fit", 1, 0, 1 },
		{ "train", 1, 0, 1 },
		{ "eval", 1, 1, 1 },
		{ "translate", 0, 1, 1 },
		{ "ablate", 1, 1, 1 },
		{ "encode", 0, 0, 0 },
		{ "demo", 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		ck_assert_int_eq(run(c[i].cmd, "--help", NULL), 0);
		ck_assert_msg(!help_line("train-images") == !c[i].train, "%s: --train-images", c[i].cmd);
		ck_assert_msg(!help_line("train-labels") == !c[i].train, "%s: --train-labels", c[i].cmd);
		ck_assert_msg(!help_line("test-images") == !c[i].test, "%s: --test-images", c[i].cmd);
		ck_assert_msg(!help_line("test-labels") == !c[i].test, "%s: --test-labels", c[i].cmd);
		ck_assert_msg(!help_line("train-classes") == !c[i].one_set, "%s: --train-classes",
			      c[i].cmd);
		ck_assert_msg(!strstr(run_out, "Data options:") == !(c[i].train || c[i].test),
			      "%s: Data options section", c[i].cmd);
		/* no option listed twice */
		for (const char *p = strstr(run_out, "\n  --"); p; p = strstr(p + 1, "\n  --")) {
			char name[64];
			ck_assert_int_eq(sscanf(p + 3, "--%63[][a-z0-9-]", name), 1);
			char again[80];
			snprintf(again, sizeof again, "\n  --%s ", name);
			ck_assert_msg(strstr(p + 1, again) == NULL,
				      "%s: --%s listed twice", c[i].cmd, name);
		}
		/* an option that does not apply is unknown to the command */
		if (!c[i].test) {
			ck_assert_int_eq(run(c[i].cmd, "--test-images", "x", NULL), 2);
			ck_assert_ptr_nonnull(strstr(run_err, "unknown option '--test-images'"));
		}
		if (!c[i].train) {
			ck_assert_int_eq(run(c[i].cmd, "--train-images", "x", NULL), 2);
			ck_assert_ptr_nonnull(strstr(run_err, "unknown option '--train-images'"));
		}
	}
	/* the shared options appear where they apply */
	ck_assert_int_eq(run("encode", "--help", NULL), 0);
	ck_assert_ptr_null(help_line("seed"));
	ck_assert_ptr_nonnull(help_line("net"));
	ck_assert_ptr_nonnull(help_line("quiet"));
	ck_assert_int_eq(run("train", "--help", NULL), 0);
	ck_assert_ptr_nonnull(help_line("json"));
	ck_assert_ptr_null(help_line("model"));
	ck_assert_int_eq(run("fit", "--help", NULL), 0);
	ck_assert_ptr_nonnull(help_line("json"));
	ck_assert_ptr_null(help_line("net"));
}
END_TEST

/* A mistyped option gets the nearest one, a far one no guess. */
START_TEST(did_you_mean)
{
	static const char *const cases[][3] = {
		/* command, typed, suggested */
		{ "train", "--seeed", "--seed" },
		{ "train", "--stpes", "--steps" },
		{ "train", "--no-standardise", "--no-standardize" },
		{ "train", "--checkpoint-evry", "--checkpoint-every" },
		{ "eval", "--episode", "--episodes" },
		{ "eval", "--test-image", "--test-images" },
		{ "fit", "--laten", "--latent" },
		{ "demo", "--budjet", "--budget" },
		{ "encode", "--labels_out", "--labels-out" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char want[128];
		ck_assert_int_eq(run(cases[i][0], cases[i][1], "1", NULL), 2);
		snprintf(want, sizeof want, "unknown option '%s'; did you mean '%s'?", cases[i][1],
			 cases[i][2]);
		ck_assert_msg(strstr(run_err, want), "%s %s: %s", cases[i][0], cases[i][1], run_err);
	}
	/* nothing near: no suggestion */
	ck_assert_int_eq(run("train", "--frobnicate", NULL), 2);
	ck_assert_ptr_null(strstr(run_err, "did you mean"));
	ck_assert_int_eq(run("train", "--x", NULL), 2);
	ck_assert_ptr_null(strstr(run_err, "did you mean"));
	/* --no- only for flags */
	ck_assert_int_eq(run("train", "--no-seed", NULL), 2);
	ck_assert_ptr_null(strstr(run_err, "'--no-seed'?"));
}
END_TEST

/* Help prints each option's default from the values the command starts
 * with: eval's --tasks from its task list, flags only when on. */
START_TEST(help_defaults)
{
	ck_assert_int_eq(run("eval", "--help", NULL), 0);
	const char *l = help_line("tasks");
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(line_has(l, "(default: 5x1,5x5,20x1)"), "%.100s", l);
	/* values given before --help do not change the defaults shown */
	ck_assert_int_eq(run("eval", "--episodes", "7", "--help", NULL), 0);
	l = help_line("episodes");
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(!line_has(l, "(default: 7)") && line_has(l, "(default: "), "%.80s", l);
	ck_assert_int_eq(run("train", "--help", NULL), 0);
	l = help_line("standardize");
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(line_has(l, "(default: on)"), "%.80s", l);
	l = help_line("resume");
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(!line_has(l, "default"), "%.80s", l);
}
END_TEST


/* Every numeric option of every command (read from its --help: a one-letter
 * metavariable) refuses -1, and 0 unless the help gives 0 a meaning
 * ("0: ..."), with the usage code and the option named (issue 17: --minutes
 * 0 or -1 used to run for the default time). The other arguments name
 * missing files, so a value that got through would fail with 3, not 2. */
START_TEST(numeric_bounds)
{
	static const char *const rest[N_CMD][8] = {
		{ "--train-images", "no.npy", "--train-labels", "no.npy", "--out", "o.fden" },
		{ "--net", "no.fden", "--images", "no.npy", "--out", "o.npy" },
		{ "--train-images", "no.npy", "--train-labels", "no.npy", "--out", "o.fden" },
		{ "--model", "no.fden", "--test-images", "no.npy", "--test-labels", "no.npy" },
		{ "--model", "no.fden", "--net", "no.fden", "--out", "tr" },
		{ "--data", "no/such/dir", "--out", "demo-out" },
		{ "--config", "a:preset=default", "--train-images", "no.npy", "--train-labels",
		  "no.npy", "--test-images", "no.npy" },
	};
	/* 0 is a value of these without a "0:" in their help */
	static const char *const zero_ok[] = { "seed", "split", "l2" };
	const char *c = commands[_i];
	static char help[1 << 16];
	size_t checked = 0;

	ck_assert_int_eq(run(c, "--help", NULL), 0);
	snprintf(help, sizeof help, "%s", run_out);
	for (const char *l = strstr(help, "\n  --"); l; l = strstr(l + 1, "\n  --")) {
		char name[64], meta[8], more;
		const char *desc, *eol;
		if (sscanf(l + 3, "--%63[a-z0-9-] %7s%c", name, meta, &more) != 3 ||
		    strlen(meta) != 1 || meta[0] < 'A' || meta[0] > 'Z')
			continue;
		desc = l + 3 + strlen(name) + 3 + strlen(meta);
		eol = strchr(desc, '\n');
		if (eol && eol[1] == ' ' && eol[2] == ' ' && eol[3] == ' ') /* described below */
			eol = strchr(eol + 1, '\n');
		int zero_means = 0;
		for (const char *q = strstr(desc, "0:"); q && (!eol || q < eol); q = strstr(q + 1, "0:"))
			zero_means = 1;
		for (size_t k = 0; k < sizeof zero_ok / sizeof zero_ok[0]; k++)
			zero_means |= !strcmp(name, zero_ok[k]);
		for (int v = 0; v < 2; v++) {
			const char *val = v ? "0" : "-1", *args[16];
			char opt[80], want[80];
			size_t n = 0;
			if (v && zero_means)
				continue;
			snprintf(opt, sizeof opt, "--%s", name);
			args[n++] = c;
			args[n++] = opt;
			args[n++] = val;
			for (size_t k = 0; k < 8 && rest[_i][k]; k++)
				args[n++] = rest[_i][k];
			args[n] = NULL;
			int fo, fe;
			pid_t pid = spawn(args, &fo, &fe);
			int code = wait_code(pid, fo, fe);
			snprintf(want, sizeof want, "fden: %s: ", c);
			ck_assert_msg(code == 2 && strstr(run_err, want) && strstr(run_err, opt),
				      "fden %s %s %s: exit %d: %s", c, opt, val, code, run_err);
			checked++;
		}
	}
	ck_assert_uint_ge(checked, 2); /* the help was read */
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
	tcase_add_test(tc, help_per_command);
	tcase_add_test(tc, did_you_mean);
	tcase_add_test(tc, help_defaults);
	tcase_add_loop_test(tc, numeric_bounds, 0, (int)N_CMD);
	suite_add_tcase(s, tc);
	int failed = tu_check_failed(s, NULL);
	rm_tree(work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
