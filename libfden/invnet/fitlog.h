/* What the built-in hosts' fitting loops share: a monotonic clock for
 * their time budgets and the optional progress callback. */
#ifndef FD_INVNET_FITLOG_H
#define FD_INVNET_FITLOG_H

#include <fden/core.h>

/* Seconds on a monotonic clock. */
double fd_fit_now(void);
/* One line to log(user_data, level, ...); nothing when log is NULL. */
void fd_fit_log(fden_log_fn log, void *user_data, int level, const char *fmt, ...)
	FDEN_PRINTF(4, 5);

#endif
