/* What the IDX and NPY readers hand back: n rows of `cols` values (every
 * item flattened to one row), either as floats or as int32 labels. */
#ifndef FD_IO_ARRAY_H
#define FD_IO_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <fden/core.h>
#include "core/alloc.h"

#define FD_ARRAY_MAX_DIMS 32

/* Reader flags: what to produce. */
enum fd_array_want {
	FD_ARRAY_FLOAT = 0,  /* any element type -> float (times a scale) */
	FD_ARRAY_LABELS = 1, /* integer elements, one per row -> int32 */
	FD_ARRAY_VIEW = 2,   /* as FLOAT, but little-endian float32 data 64-byte aligned in the
			       * input are not copied: f32 points into it (view = 1) */
};

struct fd_array {
	int ndim;
	uint64_t dims[FD_ARRAY_MAX_DIMS];
	size_t rows;  /* dims[0] */
	size_t cols;  /* product of dims[1..ndim), 1 for 1-D */
	float *f32;   /* rows*cols, FD_ARRAY_FLOAT (fd_malloc'd) */
	int32_t *i32; /* rows, FD_ARRAY_LABELS (fd_malloc'd) */
	int view;     /* 1: f32 points into the reader's input, not allocated */
};

static inline void fd_array_free(struct fd_array *x, const struct fden_allocator *a)
{
	if (!x)
		return;
	if (!x->view)
		fd_free(a, x->f32);
	fd_free(a, x->i32);
	x->f32 = NULL;
	x->i32 = NULL;
}

#endif
