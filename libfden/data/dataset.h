/* The data set's layout, shared by dataset.c and sampler.c. */
#ifndef FD_DATA_DATASET_H
#define FD_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <fden/data.h>

struct fden_dataset {
	size_t n, dim;
	float *x;        /* n x dim, row-major, 64-byte aligned (fd_malloc, or inside map) */
	int32_t *labels; /* n */
	void *map;       /* non-NULL: x lies in this read-only mapping of a .npy file */
	size_t map_len;
};

#endif
