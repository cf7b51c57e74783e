/* Whole-file reads and atomic (temp + fsync + rename + dir fsync) writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/file.h"

#define TMP_TRIES 64

static atomic_uint tmp_counter;

/* Six name characters from pid, time and a process-wide counter. */
static void tmp_suffix(char out[7], unsigned attempt)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	struct timespec ts;
	uint64_t x;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)ts.tv_sec << 20) ^
	    ((uint64_t)atomic_fetch_add(&tmp_counter, 1u) << 40) ^ attempt;
	for (i = 0; i < 6; i++) {
		x ^= x >> 31; /* splitmix-style mixing */
		x *= 0xBF58476D1CE4E5B9ull;
		x ^= x >> 27;
		out[i] = set[x % (sizeof set - 1)];
	}
	out[6] = '\0';
}

/* The directory part of path ("." when none) into dir, and the name part. */
static const char *split_dir(const char *path, char dir[FD_PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		strcpy(dir, ".");
		return path;
	}
	if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return slash + 1;
}

/* "<base>.tmp.<pid>.<6 name characters>" -> pid, or 0 when name is not one. */
static long tmp_owner(const char *name, const char *base, size_t blen)
{
	const char *p;
	char *end;
	long pid;

	if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
		return 0;
	p = name + blen + 5;
	if (*p < '1' || *p > '9')
		return 0;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || *end != '.' || strlen(end + 1) != 6)
		return 0;
	for (p = end + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return 0;
	return pid;
}

size_t fd_file_clean_stale(const char *path)
{
	char dir[FD_PATH_MAX];
	const char *base;
	struct dirent *de;
	size_t blen, removed = 0;
	DIR *d;
	int dfd;

	if (!path || !*path || strlen(path) >= FD_PATH_MAX)
		return 0;
	base = split_dir(path, dir);
	blen = strlen(base);
	if (!blen)
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		long pid = tmp_owner(de->d_name, base, blen);
		struct stat sb;

		/* Ours only: our pattern, a regular file, its writer gone (not
		 * this process: another of its threads may be saving now). */
		if (!pid || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* The target must be absent or a regular file (a symbolic link is followed
 * to one): saving never replaces a device, FIFO, socket or directory.
 * f->path becomes the file to rename over (the link's target). */
static int check_target(struct fd_afile *f, const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return FDEN_OK;
		return fd_err_set(f->err, FDEN_E_IO, "%s: %s", path, strerror(errno));
	}
	if (S_ISLNK(sb.st_mode)) {
		if (!realpath(path, f->real) || stat(f->real, &sb) != 0)
			return fd_err_set(f->err, FDEN_E_IO,
					  "%s: symbolic link to a missing file: refusing to replace it",
					  path);
		f->path = f->real;
	}
	if (!S_ISREG(sb.st_mode))
		return fd_err_set(f->err, FDEN_E_IO,
				  "%s: not a regular file (%s): refusing to replace it", path,
				  S_ISDIR(sb.st_mode) ? "a directory" : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
								: S_ISFIFO(sb.st_mode)                             ? "a FIFO"
								: S_ISSOCK(sb.st_mode)                             ? "a socket"
														   : "not a plain file");
	return FDEN_OK;
}

int fd_afile_open(struct fd_afile *f, const char *path, struct fd_err *err)
{
	size_t n;
	unsigned t;
	char sfx[7];
	int st;

	f->fd = -1;
	f->path = path;
	f->err = err;
	f->tmp[0] = '\0';
	f->real[0] = '\0';
	if (!path || !*path)
		return fd_err_set(err, FDEN_E_INVALID, "empty output path");
	n = strlen(path);
	if (n + sizeof ".tmp.XXXXXXXXXX.XXXXXX" > sizeof f->tmp)
		return fd_err_set(err, FDEN_E_INVALID, "output path too long (%zu bytes)", n);
	st = check_target(f, path);
	if (st)
		return st;
	if (strlen(f->path) + sizeof ".tmp.XXXXXXXXXX.XXXXXX" > sizeof f->tmp)
		return fd_err_set(err, FDEN_E_INVALID, "output path too long (%zu bytes)",
				  strlen(f->path));
	fd_file_clean_stale(f->path);
	for (t = 0; t < TMP_TRIES; t++) {
		tmp_suffix(sfx, t);
		snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld.%s", f->path, (long)getpid(), sfx);
		f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (f->fd >= 0)
			return FDEN_OK;
		if (errno != EEXIST && errno != EINTR)
			break;
	}
	{
		int e = errno;

		f->tmp[0] = '\0';
		return fd_err_set(err, FDEN_E_IO, "%s: cannot create temporary file: %s", path,
				  strerror(e));
	}
}

static int afile_fail(struct fd_afile *f, const char *what, int e)
{
	int st = fd_err_set(f->err, FDEN_E_IO, "%s: %s: %s", f->path, what, strerror(e));

	fd_afile_abort(f);
	return st;
}

int fd_afile_write(struct fd_afile *f, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (f->fd < 0)
		return fd_err_set(f->err, FDEN_E_STATE, "%s: file not open for writing",
				  f->path ? f->path : "?");
	while (len > 0) {
		ssize_t w = write(f->fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return afile_fail(f, "write failed", errno);
		}
		if (w == 0)
			return afile_fail(f, "write failed", EIO);
		p += w;
		len -= (size_t)w;
	}
	return FDEN_OK;
}

int fd_afile_pwrite(struct fd_afile *f, const void *buf, size_t len, uint64_t offset)
{
	const unsigned char *p = buf;

	if (f->fd < 0)
		return fd_err_set(f->err, FDEN_E_STATE, "%s: file not open for writing",
				  f->path ? f->path : "?");
	while (len > 0) {
		ssize_t w = pwrite(f->fd, p, len, (off_t)offset);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return afile_fail(f, "write failed", errno);
		}
		if (w == 0)
			return afile_fail(f, "write failed", EIO);
		p += w;
		len -= (size_t)w;
		offset += (uint64_t)w;
	}
	return FDEN_OK;
}

/* fsync the directory holding path so the rename itself is durable. */
static int sync_dir(const char *path, int *e)
{
	char dir[FD_PATH_MAX];
	int fd, rc = 0;

	split_dir(path, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*e = errno;
		return -1;
	}
	/* Some file systems cannot fsync a directory (EINVAL): nothing more to do. */
	if (fsync(fd) != 0 && errno != EINVAL) {
		*e = errno;
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0 && errno != EINTR) {
		*e = errno;
		rc = -1;
	}
	return rc;
}

int fd_afile_commit(struct fd_afile *f)
{
	int e;

	if (f->fd < 0)
		return fd_err_set(f->err, FDEN_E_STATE, "%s: file not open for writing",
				  f->path ? f->path : "?");
	if (fsync(f->fd) != 0)
		return afile_fail(f, "fsync failed", errno);
	e = close(f->fd);
	f->fd = -1;
	if (e != 0)
		return afile_fail(f, "close failed", errno);
	{ /* the target may have become something else while we wrote */
		struct stat sb;

		if (lstat(f->path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			int st = fd_err_set(f->err, FDEN_E_IO,
					    "%s: not a regular file any more: refusing to replace it",
					    f->path);

			fd_afile_abort(f);
			return st;
		}
	}
	if (rename(f->tmp, f->path) != 0)
		return afile_fail(f, "rename failed", errno);
	f->tmp[0] = '\0';
	if (sync_dir(f->path, &e) != 0)
		return fd_err_set(f->err, FDEN_E_IO, "%s: directory fsync failed: %s", f->path,
				  strerror(e));
	return FDEN_OK;
}

void fd_afile_abort(struct fd_afile *f)
{
	if (f->fd >= 0) {
		close(f->fd); /* nothing to report: the file is discarded */
		f->fd = -1;
	}
	if (f->tmp[0]) {
		unlink(f->tmp);
		f->tmp[0] = '\0';
	}
}

int fd_file_write_atomic(const char *path, const void *buf, size_t len, struct fd_err *err)
{
	struct fd_afile f;
	int st;

	st = fd_afile_open(&f, path, err);
	if (st)
		return st;
	st = fd_afile_write(&f, buf, len);
	if (st)
		return st;
	return fd_afile_commit(&f);
}

int fd_file_read_all(const char *path, const struct fden_allocator *a, uint64_t max_len,
		     struct fd_err *err, void **buf, size_t *len)
{
	struct stat sb;
	unsigned char *p = NULL;
	size_t n, got = 0;
	int fd, e;

	*buf = NULL;
	*len = 0;
	if (!path)
		return fd_err_set(err, FDEN_E_INVALID, "path is NULL");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd_err_set(err, FDEN_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		e = errno;
		close(fd);
		return fd_err_set(err, FDEN_E_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return fd_err_set(err, FDEN_E_IO, "%s: %s", path,
				  S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
	}
	if ((uint64_t)sb.st_size > max_len || (uint64_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return fd_err_set(err, FDEN_E_FORMAT, "%s: file too large (%lld bytes)", path,
				  (long long)sb.st_size);
	}
	n = (size_t)sb.st_size;
	if (n > 0) {
		p = fd_malloc(a, n);
		if (!p) {
			close(fd);
			return fd_err_set(err, FDEN_E_NOMEM, "%s: cannot allocate %zu bytes", path, n);
		}
	}
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			fd_free(a, p);
			return fd_err_set(err, FDEN_E_IO, "%s: read failed: %s", path, strerror(e));
		}
		if (r == 0) /* shrank while reading */
			break;
		got += (size_t)r;
	}
	if (close(fd) != 0 && errno != EINTR) {
		e = errno;
		fd_free(a, p);
		return fd_err_set(err, FDEN_E_IO, "%s: close failed: %s", path, strerror(e));
	}
	if (got == 0) {
		fd_free(a, p);
		p = NULL;
	}
	*buf = p;
	*len = got;
	return FDEN_OK;
}
