/* A minimal PNG writer: 8-bit grayscale, no interlace, filter 0, one zlib
 * stream split into IDAT chunks, CRC-32 on every chunk; written atomically.
 * The public fden_png_save_gray() (data.h) maps floats in [0,1] to it. */
#ifndef FD_IO_PNG_H
#define FD_IO_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

/* pix: height rows of width bytes. width, height in [1, 2^31). */
int fd_png_write_gray8(const char *path, const uint8_t *pix, size_t width, size_t height,
		       struct fd_err *err);

#endif
