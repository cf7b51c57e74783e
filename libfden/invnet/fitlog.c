/* The built-in hosts' clock and progress callback (invnet/fitlog.h). */
#include <stdarg.h>
#include <time.h>

#include "invnet/fitlog.h"

double fd_fit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fd_fit_log(fden_log_fn log, void *user_data, int level, const char *fmt, ...)
{
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	log(user_data, level, fmt, ap);
	va_end(ap);
}
