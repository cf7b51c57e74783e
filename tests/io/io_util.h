/* Helpers shared by the io suites: a scratch directory, whole-file I/O and
 * a counting allocator that can fail its n-th allocation. */
#ifndef FD_TEST_IO_UTIL_H
#define FD_TEST_IO_UTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fden/core.h>

#include "../slurp.h"
#include "../check_run.h"

static char tu_dir[256];

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_rmdir(). */
static inline const char *tu_mkdir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tu_dir, sizeof tu_dir, "%s/fden-io-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tu_dir));
	return tu_dir;
}

static inline void tu_rmdir(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", tu_dir, e->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
	closedir(d);
	rmdir(tu_dir);
}

/* Number of entries in the scratch directory. */
static inline int tu_count_files(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static inline const char *tu_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tu_dir, name);
	return buf;
}

static inline void tu_write(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* Counting allocator: live blocks, and fail the n-th call (0 = never). */
struct tu_alloc_state {
	long live, calls, fail_at;
};

static inline void *tu_alloc_fn(void *ud, size_t n)
{
	struct tu_alloc_state *s = ud;

	s->calls++;
	if (s->fail_at && s->calls == s->fail_at)
		return NULL;
	s->live++;
	return malloc(n);
}

static inline void tu_free_fn(void *ud, void *p)
{
	struct tu_alloc_state *s = ud;

	s->live--;
	free(p);
}

static inline struct fden_allocator tu_allocator(struct tu_alloc_state *s)
{
	struct fden_allocator a = { tu_alloc_fn, tu_free_fn, s };

	memset(s, 0, sizeof *s);
	return a;
}

/* Run a suite; returns the process exit status. */
static inline int tu_run(Suite *s)
{
	return fd_check_main(s, 0);
}

#endif
