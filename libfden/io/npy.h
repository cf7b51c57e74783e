/* NumPy .npy files, versions 1.0, 2.0 and 3.0: magic "\x93NUMPY", major,
 * minor, header length (u16 for 1.x, u32 after), a Python dict literal
 * {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the data.
 * Read: little-endian ('<', or '|' for one byte) f4, f8, i1, i2, i4, i8, u1,
 * u2, u4, u8, b1; C order only; every item (index along dim 0) becomes one
 * row. Failures name the file: FDEN_E_IO, FDEN_E_FORMAT (bad magic, header,
 * dtype, fortran_order True, truncated or trailing data, labels that do not
 * fit int32, a shape whose product overflows), FDEN_E_VERSION (major > 3),
 * FDEN_E_NOMEM. Nothing is allocated beyond the data the file holds. */
#ifndef FD_IO_NPY_H
#define FD_IO_NPY_H

#include <stddef.h>
#include "core/error.h"
#include "io/array.h"

/* want: FD_ARRAY_FLOAT (any numeric dtype -> float) or FD_ARRAY_LABELS
 * (integer dtype, 1-D or N x 1 -> int32). On failure *out holds nothing. */
int fd_npy_read(const char *path, int want, const struct fden_allocator *a,
		struct fd_err *err, struct fd_array *out);
int fd_npy_read_mem(const void *buf, size_t len, const char *name, int want,
		    const struct fden_allocator *a, struct fd_err *err, struct fd_array *out);

/* Read a float array without copying it: the file is memory-mapped
 * (read-only, private) and, when its data are little-endian float32 at a
 * 64-byte aligned offset (NumPy pads its headers so), out->f32 points into
 * the mapping (out->view = 1, *map / *map_len to munmap once done). Any
 * other file is read and converted as fd_npy_read(FD_ARRAY_FLOAT) does
 * (*map = NULL). Same checks and errors as fd_npy_read. */
int fd_npy_map(const char *path, const struct fden_allocator *a, struct fd_err *err,
	       struct fd_array *out, void **map, size_t *map_len);

/* Write a C-order array atomically (version 1.0 header, 2.0 when it would
 * not fit). descr "<f4" or "<i4"; ndim 1 (cols ignored) or 2. */
int fd_npy_write(const char *path, const char *descr, const void *data, size_t rows,
		 size_t cols, int ndim, struct fd_err *err);

#endif
