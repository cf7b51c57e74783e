/* Helpers for the tools suites: run the `fden` binary (path from argv[1])
 * with captured output, write small synthetic IDX data sets. */
#ifndef FDEN_TESTS_TOOLS_UTIL_H
#define FDEN_TESTS_TOOLS_UTIL_H

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../testutil.h"

static const char *fden_bin;                    /* set by main from argv[1] */
static char work_dir[256];                      /* a fresh temporary directory */
static char run_out[1 << 16], run_err[1 << 16]; /* last run's stdout, stderr */

static inline void slurp(int fd, char *buf, size_t cap)
{
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Start fden with args[] (NULL-terminated, without the program name) in
 * work_dir, stdout and stderr to unlinked temporary files. */
static inline pid_t spawn(const char *const *args, int *fo, int *fe)
{
	char *argv[66];
	int n = 0;
	argv[n++] = (char *)fden_bin;
	for (; n < 65 && args[n - 1]; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	char po[300], pe[300];
	snprintf(po, sizeof po, "%s/.out.XXXXXX", work_dir);
	snprintf(pe, sizeof pe, "%s/.err.XXXXXX", work_dir);
	*fo = mkstemp(po);
	*fe = mkstemp(pe);
	unlink(po);
	unlink(pe);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(*fo, 1);
		dup2(*fe, 2);
		if (chdir(work_dir))
			_exit(126);
		execv(fden_bin, argv);
		_exit(127);
	}
	return pid;
}

/* Wait; read the outputs into run_out, run_err; exit status or 128+signal. */
static inline int wait_code(pid_t pid, int fo, int fe)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	slurp(fo, run_out, sizeof run_out);
	slurp(fe, run_err, sizeof run_err);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

#define COLLECT_ARGS(args, first) \
	do { \
		va_list ap_; \
		int n_ = 0; \
		va_start(ap_, first); \
		for (const char *a_ = first; a_ && n_ < 63; a_ = va_arg(ap_, const char *)) \
			args[n_++] = a_; \
		args[n_] = NULL; \
		va_end(ap_); \
	} while (0)

/* Run fden with the NULL-terminated arguments; its exit status. */
static inline int run(const char *first, ...)
{
	const char *args[64];
	int fo, fe;
	COLLECT_ARGS(args, first);
	pid_t pid = spawn(args, &fo, &fe);
	return wait_code(pid, fo, fe);
}

/* Same, sending `sig` after `delay` seconds. */
static inline int run_signal(int sig, double delay, const char *first, ...)
{
	const char *args[64];
	int fo, fe;
	COLLECT_ARGS(args, first);
	pid_t pid = spawn(args, &fo, &fe);
	struct timespec ts = { (time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9) };
	nanosleep(&ts, NULL);
	kill(pid, sig);
	return wait_code(pid, fo, fe);
}

static inline int file_exists(const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	return stat(p, &st) == 0 && st.st_size > 0;
}

/* Whole file into a malloc'd, NUL-terminated buffer (NULL if missing). */
static inline char *read_all(const char *name, size_t *len)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	return tu_read_file(p, len);
}

static inline void write_file(const char *name, const void *data, size_t n)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	FILE *f = fopen(p, "wb");
	if (f) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

static inline void put_be32(FILE *f, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	fwrite(b, 1, 4, f);
}

/* A synthetic image set: `classes` classes, `per` images each, side x side
 * bytes. Each class has a random prototype; each image is its prototype with
 * a random brightness (style) and noise. Plain IDX (ubyte). */
static inline void write_idx_set(const char *images, const char *labels, int classes, int per, int side,
				 uint64_t seed)
{
	char p[512];
	int d = side * side, n = classes * per;
	uint64_t s = 0x1234567ULL; /* prototypes: same for every set */
	float *proto = malloc((size_t)classes * d * sizeof *proto);
#define NEXT(st) ((st) = (st)*6364136223846793005ULL + 1442695040888963407ULL, (double)((st) >> 11) / 9007199254740992.0)
	for (int i = 0; i < classes * d; i++)
		proto[i] = NEXT(s) < 0.5 ? 0.1f : 0.9f;
	snprintf(p, sizeof p, "%s/%s", work_dir, images);
	FILE *fi = fopen(p, "wb");
	snprintf(p, sizeof p, "%s/%s", work_dir, labels);
	FILE *fl = fopen(p, "wb");
	put_be32(fi, 0x00000803);
	put_be32(fi, (uint32_t)n);
	put_be32(fi, (uint32_t)side);
	put_be32(fi, (uint32_t)side);
	put_be32(fl, 0x00000801);
	put_be32(fl, (uint32_t)n);
	s = seed;
	for (int k = 0; k < n; k++) {
		int c = k % classes;
		double bright = 0.6 + 0.4 * NEXT(s);
		for (int j = 0; j < d; j++) {
			double v = bright * proto[c * d + j] + 0.15 * (NEXT(s) - 0.5);
			v = v < 0 ? 0 : v > 1 ? 1
					      : v;
			fputc((int)(v * 255 + 0.5), fi);
		}
		fputc(c, fl);
	}
#undef NEXT
	fclose(fi);
	fclose(fl);
	free(proto);
}

/* A float32 (or int32) .npy of rows x cols (cols 0: 1-D); data NULL: the
 * header alone, the rows to be appended. */
static inline void write_npy(const char *name, const void *data, size_t rows, size_t cols, int i32)
{
	char hdr[128], p[512];
	int n = cols ? snprintf(hdr, sizeof hdr,
				"{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
				i32 ? "<i4" : "<f4", rows, cols)
		     : snprintf(hdr, sizeof hdr,
				"{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
				i32 ? "<i4" : "<f4", rows);
	memset(hdr + n, ' ', sizeof hdr - (size_t)n);
	hdr[117] = '\n';
	snprintf(p, sizeof p, "%s/%s", work_dir, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
	fwrite(hdr, 1, 118, f);
	if (data)
		fwrite(data, 4, rows * (cols ? cols : 1), f);
	ck_assert_int_eq(fclose(f), 0);
}

static inline int rm_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

/* Parse argv[1] as the fden binary and make the work directory. */
static inline int tools_init(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-fden\n", argv[0]);
		return -1;
	}
	static char abs_bin[4096];
	if (!realpath(argv[1], abs_bin)) {
		perror(argv[1]);
		return -1;
	}
	fden_bin = abs_bin; /* children run in work_dir */
	snprintf(work_dir, sizeof work_dir, "%s/fden-tools-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(work_dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

#endif
