/* Atomic saves meet what is already at the target: a device, FIFO or
 * directory is refused and left as it was, a symbolic link is followed, and
 * the temporary files of a killed writer are removed by the next save. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "../testutil.h"
#include <fden/data.h>
#include "io/file.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* A pid that ran and is gone (a reaped child's). */
static pid_t dead_pid(void)
{
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
	ck_assert_int_eq(kill(p, 0), -1);
	return p;
}

/* What a save may meet: each non-regular kind is refused, named, unchanged. */
START_TEST(test_nonregular_refused)
{
	static const float img[4] = { 0, 0.5f, 1, 0.25f };
	char path[512], msg[256];
	struct stat sb;
	struct fd_err err;
	int kinds = 0;

	tu_mkdir();
	for (int k = 0; k < 3; k++) {
		const char *what;

		tu_path(path, sizeof path, k == 0 ? "fifo" : k == 1 ? "dir"
								    : "cdev");
		if (k == 0) {
			ck_assert_int_eq(mkfifo(path, 0600), 0);
			what = "FIFO";
		} else if (k == 1) {
			ck_assert_int_eq(mkdir(path, 0700), 0);
			what = "directory";
		} else {
			/* a copy of /dev/null's node: needs root (CAP_MKNOD) */
			if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0)
				continue;
			what = "device";
		}
		kinds++;
		/* the public save and the internal one both refuse */
		ck_assert_int_eq(fden_png_save_gray(path, img, 2, 2), FDEN_E_IO);
		snprintf(msg, sizeof msg, "%s", fden_last_error());
		ck_assert_msg(strstr(msg, "not a regular file") && strstr(msg, what) &&
				      strstr(msg, path),
			      "message: %s", msg);
		fd_err_clear(&err);
		ck_assert_int_eq(fd_file_write_atomic(path, "x", 1, &err), FDEN_E_IO);
		ck_assert_ptr_nonnull(strstr(err.msg, "refusing"));
		ck_assert_int_eq(lstat(path, &sb), 0);
		ck_assert(k == 0 ? S_ISFIFO(sb.st_mode) : k == 1 ? S_ISDIR(sb.st_mode)
								 : S_ISCHR(sb.st_mode));
	}
	ck_assert_int_ge(kinds, 2);
	/* nothing else was left in the directory (no temporary file) */
	ck_assert_int_eq(tu_count_files(), kinds);
	tu_rmdir();
}
END_TEST

/* A symbolic link: the file it names is replaced, the link stays a link. */
START_TEST(test_symlink_followed)
{
	char target[512], link[512], dang[512], *got;
	size_t len;
	struct stat sb;
	struct fd_err err;

	tu_mkdir();
	tu_path(target, sizeof target, "real.bin");
	tu_path(link, sizeof link, "link.bin");
	tu_path(dang, sizeof dang, "dangling.bin");
	put(target, "old");
	ck_assert_int_eq(symlink("real.bin", link), 0); /* relative to its directory */
	fd_err_clear(&err);
	ck_assert_int_eq(fd_file_write_atomic(link, "new!", 4, &err), FDEN_OK);
	ck_assert_int_eq(lstat(link, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	got = tu_slurp(target, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(got, "new!", 4) == 0);
	free(got);
	/* a dangling link is refused and kept */
	ck_assert_int_eq(symlink("nowhere", dang), 0);
	ck_assert_int_eq(fd_file_write_atomic(dang, "x", 1, &err), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
	ck_assert_int_eq(lstat(dang, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(tu_count_files(), 3);
	tu_rmdir();
}
END_TEST

/* A killed writer's temporary files go with the next save next to the same
 * target; a live process's, this process's, another target's and names not
 * of our pattern stay. */
START_TEST(test_stale_tmp_removed)
{
	char path[512], p[640], stale1[640], stale2[640], keep[6][640];
	pid_t dead = dead_pid(), dead2 = dead_pid();
	struct fd_err err;

	tu_mkdir();
	tu_path(path, sizeof path, "m.fden");
	snprintf(stale1, sizeof stale1, "%s.tmp.%ld.Ab3xYz", path, (long)dead);
	snprintf(stale2, sizeof stale2, "%s.tmp.%ld.000000", path, (long)dead2);
	snprintf(keep[0], sizeof keep[0], "%s.tmp.%ld.Ab3xYz", path, (long)getpid());
	snprintf(keep[1], sizeof keep[1], "%s.tmp.%ld.Ab3xYz", path, (long)getppid());
	snprintf(keep[2], sizeof keep[2], "%s.tmp.Ab3xYz", path); /* no pid */
	snprintf(keep[3], sizeof keep[3], "%s/other.fden.tmp.%ld.Ab3xYz", tu_dir, (long)dead);
	snprintf(keep[4], sizeof keep[4], "%s.tmp.%ld.Ab3xY", path, (long)dead); /* 5 chars */
	snprintf(keep[5], sizeof keep[5], "%s.tmp.%ld.Ab3xYz.x", path, (long)dead);
	put(stale1, "partial");
	put(stale2, "partial");
	for (int i = 0; i < 6; i++)
		put(keep[i], "keep");
	fd_err_clear(&err);
	ck_assert_int_eq(fd_file_write_atomic(path, "model", 5, &err), FDEN_OK);
	ck_assert(!exists(stale1));
	ck_assert(!exists(stale2));
	for (int i = 0; i < 6; i++)
		ck_assert_msg(exists(keep[i]), "%s was removed", keep[i]);
	ck_assert_int_eq(tu_count_files(), 7);
	/* and the cleaner on its own counts what it removed */
	put(stale1, "partial");
	ck_assert_uint_eq(fd_file_clean_stale(path), 1);
	ck_assert_uint_eq(fd_file_clean_stale(path), 0);
	snprintf(p, sizeof p, "%s", keep[1]);
	ck_assert(exists(p));
	tu_rmdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_nonregular_refused);
	tcase_add_test(tc, test_symlink_followed);
	tcase_add_test(tc, test_stale_tmp_removed);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
