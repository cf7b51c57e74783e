/* The runner of every Check suite: run a suite, free it, and turn the
 * outcome into the failure count or the process's exit status. */
#ifndef FDEN_TESTS_CHECK_RUN_H
#define FDEN_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Run s (freed with its runner); returns the failed tests, and in *run
 * (when not NULL) the tests that ran. */
static inline int fd_check_failed(Suite *s, int *run)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	if (run)
		*run = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed;
}

/* Run s as a test program: EXIT_FAILURE if a test failed; with skip_empty,
 * 77 (meson's "skipped") when no test ran (suites whose tests need a tool
 * the machine lacks); else EXIT_SUCCESS. */
static inline int fd_check_main(Suite *s, int skip_empty)
{
	int run, failed = fd_check_failed(s, &run);

	if (failed)
		return EXIT_FAILURE;
	return skip_empty && run == 0 ? 77 : EXIT_SUCCESS;
}

#endif
