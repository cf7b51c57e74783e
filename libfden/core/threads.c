/* The machine's thread bound (see threads.h). */
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core/threads.h"

static atomic_int threads_max; /* 0: not computed yet */

static int count_cpus(void)
{
	long n = 0;
#ifdef CPU_COUNT
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		n = CPU_COUNT(&set);
#endif
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > FD_THREADS_CEIL ? FD_THREADS_CEIL
					       : (int)n;
}

int fd_threads_max(void)
{
	int v = atomic_load_explicit(&threads_max, memory_order_relaxed);

	if (v == 0) { /* racing threads compute the same value */
		v = count_cpus();
		if (v < FD_THREADS_FLOOR)
			v = FD_THREADS_FLOOR;
		atomic_store_explicit(&threads_max, v, memory_order_relaxed);
	}
	return v;
}
