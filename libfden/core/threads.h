/* The most threads any libfden entry point accepts: the CPUs this process
 * may run on (sched_getaffinity, else the online count), but at least
 * FD_THREADS_FLOOR so a small machine may still oversubscribe a little, and
 * never more than FD_THREADS_CEIL (the model key's static bound). A thread
 * count above this is FDEN_E_INVALID wherever it is taken. */
#ifndef FD_CORE_THREADS_H
#define FD_CORE_THREADS_H

#define FD_THREADS_FLOOR 4
#define FD_THREADS_CEIL 256

/* Computed once (thread-safe), then constant for the process. */
int fd_threads_max(void);

#endif
