/* Suite tools-progress: the progress line of the fden tool on a terminal.
 *   test-tools-progress fit FDEN     progress_fit at several widths
 *   test-tools-progress tmux FDEN    `fden train` in an 80-column tmux pane:
 *                                    the line shows ETA, loss and accuracy
 *                                    and never wraps; the final line gives the
 *                                    last losses and accuracy (skipped, exit
 *                                    77, without tmux) */
#include <check.h>

#include "progress.h"
#include "tools_util.h"
#include "../testutil.h"

static const char *const extra = "loss 2.918 acc 57% L_C 1.576 L_M 0.094 L_R 0.000";

START_TEST(fit_widths)
{
	char line[512];
	/* 80 columns: label, percent, count, ETA, loss and accuracy; at most 79 */
	progress_fit(line, sizeof line, 80, "fden: train", 0.45, 1234, "steps", 11.7, "01:10",
		     "01:25", extra);
	ck_assert_msg(strlen(line) <= 79, "%zu columns: '%s'", strlen(line), line);
	ck_assert_ptr_nonnull(strstr(line, "fden: train"));
	ck_assert_ptr_nonnull(strstr(line, " 45%"));
	ck_assert_ptr_nonnull(strstr(line, "ETA 01:25"));
	ck_assert_ptr_nonnull(strstr(line, "loss 2.918"));
	ck_assert_ptr_nonnull(strstr(line, "acc 57%"));
	ck_assert_ptr_nonnull(strstr(line, "1234 steps"));
	/* in display order: the label first, ETA before the figures */
	ck_assert(strstr(line, "ETA") < strstr(line, "loss"));
	ck_assert(strstr(line, "loss") < strstr(line, "acc"));
	/* wide: everything, with a 30-column bar */
	progress_fit(line, sizeof line, 200, "fden: train", 0.5, 1234, "steps", 11.7, "01:10",
		     "01:25", extra);
	ck_assert_ptr_nonnull(strstr(line, "[###############...............]"));
	ck_assert_ptr_nonnull(strstr(line, "L_R 0.000"));
	ck_assert_ptr_nonnull(strstr(line, "11.7/s"));
	ck_assert_ptr_nonnull(strstr(line, "01:10"));
	/* 50 columns: still ETA, loss and accuracy */
	progress_fit(line, sizeof line, 50, "fden: train", 0.5, 1234, "steps", 11.7, "01:10",
		     "01:25", extra);
	ck_assert_msg(strlen(line) <= 49, "'%s'", line);
	ck_assert_ptr_nonnull(strstr(line, "ETA 01:25"));
	ck_assert_ptr_nonnull(strstr(line, "loss 2.918"));
	ck_assert_ptr_nonnull(strstr(line, "acc 57%"));
	/* every width from 20 to 200 fits */
	for (int c = 20; c <= 200; c++) {
		progress_fit(line, sizeof line, c, "fden: train", 0.3, 99, "steps", 1, "00:01", "00:02",
			     extra);
		ck_assert_msg((int)strlen(line) <= c - 1, "%d columns: '%s'", c, line);
	}
}
END_TEST

/* Run tmux on its own socket (never the user's server). */
static char sock[300];

static int tmux(const char *fmt, ...)
{
	char cmd[4096], args[1800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "tmux -S '%s' %s", sock, args);
	return system(cmd);
}

START_TEST(tmux_80_columns)
{
	write_idx_set("train-x.idx", "train-y.idx", 12, 30, 8, 11);
	snprintf(sock, sizeof sock, "%s/tmux.sock", work_dir);
	/* 10 s of training, then the pane stays for the capture */
	ck_assert_int_eq(tmux("new-session -d -x 80 -y 20 -s t \"cd '%s' && '%s' train "
			      "--train-images train-x.idx --train-labels train-y.idx --split 6 "
			      "--set dis_width=32 --set ent_trunk_width=32 --minutes 0.15 "
			      "--out m.fden 2>&1; echo DONE; sleep 60\"",
			      work_dir, fden_bin),
			 0);
	char cap[600];
	snprintf(cap, sizeof cap, "%s/pane.txt", work_dir);
	int seen_bar = 0, done = 0;
	for (int i = 0; i < 80 && !done; i++) { /* up to 40 s */
		struct timespec ts = { 0, 500000000 };
		nanosleep(&ts, NULL);
		ck_assert_int_eq(tmux("capture-pane -p -t t > '%s'", cap), 0);
		char *txt = read_all("pane.txt", NULL);
		ck_assert_ptr_nonnull(txt);
		for (char *l = txt, *e; *l; l = e + 1) {
			e = strchr(l, '\n');
			if (!e)
				e = l + strlen(l);
			ck_assert_msg(e - l <= 80, "a line of %d columns", (int)(e - l));
			if (!strncmp(l, "fden: train ", 12) && strstr(l, "ETA")) {
				/* the progress line: one line holding ETA, loss and accuracy */
				ck_assert_msg(memmem(l, (size_t)(e - l), "loss ", 5) &&
						      memmem(l, (size_t)(e - l), "acc ", 4),
					      "progress line without loss or accuracy: %.*s",
					      (int)(e - l), l);
				ck_assert_msg(e - l <= 79, "progress line of %d columns", (int)(e - l));
				seen_bar = 1;
			}
			if (!strncmp(l, "DONE", 4))
				done = 1;
			if (!*e)
				break;
		}
		if (done) {
			/* the last line before DONE: losses and accuracy of the end */
			char *d = strstr(txt, "\nDONE");
			ck_assert_ptr_nonnull(d);
			*d = '\0';
			char *last = strrchr(txt, '\n');
			last = last ? last + 1 : txt;
			/* the final line may wrap at 80 columns: join it with the one before */
			char *prev = last > txt ? last - 1 : txt;
			while (prev > txt && prev[-1] != '\n')
				prev--;
			ck_assert_msg(strstr(prev, "steps in this run") && strstr(last, "L_M"),
				      "final lines: '%s'", prev);
			ck_assert_ptr_nonnull(strstr(prev, "accuracy"));
		}
		free(txt);
	}
	tmux("kill-server");
	ck_assert_msg(done, "fden train did not finish in the pane");
	ck_assert_msg(seen_bar, "no progress line seen");
}
END_TEST

static int have_tmux(void)
{
	return system("command -v tmux >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
	int mode_tmux = argc > 1 && !strcmp(argv[1], "tmux");
	if (argc < 3 || tools_init(argc - 1, argv + 1))
		return EXIT_FAILURE;
	Suite *s = suite_create("tools-progress");
	TCase *tc = tcase_create(mode_tmux ? "tmux" : "fit");
	tcase_set_timeout(tc, 120);
	if (!mode_tmux)
		tcase_add_test(tc, fit_widths);
	else if (have_tmux())
		tcase_add_test(tc, tmux_80_columns);
	else
		fprintf(stderr, "no tmux (install it: scripts/install-deps.sh --tests): skipped\n");
	suite_add_tcase(s, tc);
	int rc = tu_check_main(s, 1);
	rm_tree(work_dir);
	return rc;
}
