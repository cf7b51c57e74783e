/* Whole-file reads and crash-safe writes.
 *
 * An atomic write goes to "path.tmp.XXXXXX" in the same directory, is
 * fsync'd, renamed over path, and the directory is fsync'd: a crash at any
 * point leaves either the old file or the new one, whole. Until commit the
 * target is untouched; abort (or any failure) removes the temporary file.
 *
 * The target must be absent or a regular file: a device, FIFO, socket or
 * directory is refused (FDEN_E_IO "not a regular file ...: refusing to
 * replace it") before anything is written, and checked again just before
 * the rename. A symbolic link is followed: the file it points to is
 * replaced, the link kept (a dangling link is refused).
 *
 * The temporary file is "path.tmp.<pid>.<6 characters>". A writer killed
 * before its commit leaves one behind; the next open next to the same
 * target removes every such file whose <pid> is no longer running
 * (fd_file_clean_stale), never another live process's or this one's. */
#ifndef FD_IO_FILE_H
#define FD_IO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <fden/core.h>
#include "core/error.h"

#define FD_PATH_MAX 4096

struct fd_afile {
	int fd;                 /* -1 when closed */
	const char *path;       /* borrowed, target */
	struct fd_err *err;     /* where failures are recorded (may be NULL) */
	char tmp[FD_PATH_MAX];  /* temporary file name */
	char real[FD_PATH_MAX]; /* a symbolic link's resolved target */
};

/* Create the temporary file next to path. On failure f holds nothing to free. */
int fd_afile_open(struct fd_afile *f, const char *path, struct fd_err *err);
/* Append len bytes (partial writes and EINTR retried). */
int fd_afile_write(struct fd_afile *f, const void *buf, size_t len);
/* Overwrite len bytes at offset (e.g. a header patched after streaming). */
int fd_afile_pwrite(struct fd_afile *f, const void *buf, size_t len, uint64_t offset);
/* fsync, close, rename over path, fsync the directory. On failure the
 * temporary file is removed and the old path is left as it was. */
int fd_afile_commit(struct fd_afile *f);
/* Close and remove the temporary file; the target is untouched. Safe to
 * call after a failed open or a commit (no-op then). */
void fd_afile_abort(struct fd_afile *f);

/* Remove path's stale temporary files ("path.tmp.<pid>.XXXXXX", regular,
 * <pid> not running and not this process). Returns how many went. */
size_t fd_file_clean_stale(const char *path);

/* Write buf to path atomically (open + write + commit). */
int fd_file_write_atomic(const char *path, const void *buf, size_t len, struct fd_err *err);

/* Read a whole regular file into fd_malloc memory (*buf freed by the caller
 * with fd_free(a, ...); NULL when the file is empty). Files larger than
 * max_len give FDEN_E_FORMAT. Open/read failures give FDEN_E_IO naming the
 * path and strerror(errno). */
int fd_file_read_all(const char *path, const struct fden_allocator *a, uint64_t max_len,
		     struct fd_err *err, void **buf, size_t *len);

#endif
