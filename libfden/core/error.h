/* Error detail: a status plus a message, per handle and per thread. */
#ifndef FD_CORE_ERROR_H
#define FD_CORE_ERROR_H

#include <fden/core.h>

#define FD_ERRMSG_LEN 256

struct fd_err {
	int status;
	char msg[FD_ERRMSG_LEN];
};

/* Record status and a printf-style detail in *e (e may be NULL) and in the
 * calling thread's fden_last_error(); returns status so callers can write
 * `return fd_err_set(e, FDEN_E_INVALID, "n is 0");`. */
int fd_err_set(struct fd_err *e, int status, const char *fmt, ...) FDEN_PRINTF(3, 4);
void fd_err_clear(struct fd_err *e);
/* Copy e's status and message into the thread-local detail (and return e->status). */
int fd_err_publish(const struct fd_err *e);

#endif
