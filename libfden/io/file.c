/* Whole-file reads and atomic (temp + fsync + rename + dir fsync) writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

int fd_afile_open(struct fd_afile *f, const char *path, struct fd_err *err)
{
	size_t n;
	unsigned t;
	char sfx[7];

	f->fd = -1;
	f->path = path;
	f->err = err;
	f->tmp[0] = '\0';
	if (!path || !*path)
		return fd_err_set(err, FDEN_E_INVALID, "empty output path");
	n = strlen(path);
	if (n + sizeof ".tmp.XXXXXX" > sizeof f->tmp)
		return fd_err_set(err, FDEN_E_INVALID, "output path too long (%zu bytes)", n);
	for (t = 0; t < TMP_TRIES; t++) {
		tmp_suffix(sfx, t);
		snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%s", path, sfx);
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
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = '\0';
	}
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
		return fd_err_set(err, FDEN_E_IO, "%s: not a regular file", path);
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
