/* Status messages and the per-thread / per-handle error detail. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static _Thread_local char last_error[FD_ERRMSG_LEN];

FDEN_EXPORT const char *fden_strerror(int status)
{
	switch (status) {
	case FDEN_OK: return "success";
	case FDEN_E_INVALID: return "invalid argument";
	case FDEN_E_NOMEM: return "out of memory";
	case FDEN_E_SHAPE: return "sizes do not match";
	case FDEN_E_IO: return "input/output error";
	case FDEN_E_FORMAT: return "malformed or truncated file";
	case FDEN_E_VERSION: return "unsupported version";
	case FDEN_E_CORRUPT: return "checksum mismatch";
	case FDEN_E_NONFINITE: return "non-finite value";
	case FDEN_E_HOST: return "host callback failed";
	case FDEN_E_STATE: return "invalid state for this call";
	case FDEN_E_OVERFLOW: return "size overflow";
	case FDEN_E_UNSUPPORTED: return "operation not supported";
	}
	return "unknown status";
}

FDEN_EXPORT const char *fden_last_error(void)
{
	return last_error;
}

int fd_err_set(struct fd_err *e, int status, const char *fmt, ...)
{
	char buf[FD_ERRMSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (e) {
		e->status = status;
		memcpy(e->msg, buf, sizeof buf);
	}
	memcpy(last_error, buf, sizeof buf);
	return status;
}

void fd_err_clear(struct fd_err *e)
{
	if (e) {
		e->status = FDEN_OK;
		e->msg[0] = '\0';
	}
}

int fd_err_publish(const struct fd_err *e)
{
	memcpy(last_error, e->msg, sizeof last_error);
	return e->status;
}
