/* IDX files (the MNIST format): magic {0, 0, type, ndim}, ndim big-endian
 * u32 sizes, then the elements, big-endian, row-major. Plain or gzip
 * (detected from the content). Each item (index along dim 0) becomes one
 * row. Every element type is read: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
 * 0x0D f32, 0x0E f64. Failures name the file: FDEN_E_IO (open/read, with
 * strerror), FDEN_E_FORMAT (bad magic/type, zero sizes, truncated data,
 * trailing bytes, corrupt gzip, labels that are not 1-D integers,
 * sizes whose product overflows), FDEN_E_NOMEM. Nothing is allocated
 * beyond twice the data actually present. */
#ifndef FD_IO_IDX_H
#define FD_IO_IDX_H

#include <stddef.h>
#include "core/error.h"
#include "io/array.h"

enum fd_idx_type {
	FD_IDX_U8 = 0x08,
	FD_IDX_I8 = 0x09,
	FD_IDX_I16 = 0x0B,
	FD_IDX_I32 = 0x0C,
	FD_IDX_F32 = 0x0D,
	FD_IDX_F64 = 0x0E,
};

/* want: FD_ARRAY_FLOAT (out->f32 = value * scale) or FD_ARRAY_LABELS
 * (out->i32; the file must be 1-D, or N x 1, of an integer type). On
 * failure *out holds nothing to free. */
int fd_idx_read(const char *path, int want, double scale, const struct fden_allocator *a,
		struct fd_err *err, struct fd_array *out);
/* Same from memory (plain or gzip bytes); `name` is used in messages. */
int fd_idx_read_mem(const void *buf, size_t len, const char *name, int want, double scale,
		    const struct fden_allocator *a, struct fd_err *err, struct fd_array *out);

#endif
