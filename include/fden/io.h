/**
 * @file io.h
 * Writers of the array and image formats libfden reads: .npy arrays and
 * 8-bit grayscale PNG. Include <fden/fden.h> instead.
 */
#ifndef FDEN_IO_H
#define FDEN_IO_H

#include <fden/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Write rows as a 2-D float32 .npy (NumPy format 1.0, little-endian, C
 * order), written to a temporary file and renamed into place.
 * @param path file to write
 * @param x rows x cols floats, row-major (borrowed)
 * @param rows, cols the array's shape
 * @return FDEN_OK; FDEN_E_INVALID (NULL path or x, rows or cols 0);
 *         FDEN_E_OVERFLOW (rows x cols overflows); FDEN_E_IO (the detail
 *         names the path; also when path is not a regular file)
 * @note Thread safety: safe from any thread; two saves of one path at once
 *       leave one of the two files, whole.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_npy_save_f32(const char *path, const float *x, size_t rows,
					   size_t cols);
/**
 * Write labels as a 1-D int32 .npy, as fden_npy_save_f32() writes rows.
 * @param path file to write
 * @param v n labels (borrowed)
 * @param n number of labels
 * @return as fden_npy_save_f32()
 * @note Thread safety: safe from any thread; two saves of one path at once
 *       leave one of the two files, whole.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_npy_save_i32(const char *path, const int32_t *v, size_t n);

/**
 * Write a grayscale image as an 8-bit PNG (written to a temporary file and
 * renamed into place).
 * @param path file to write
 * @param width, height image size in pixels
 * @param pixels height rows of width values; each is clamped to [0, 1]
 *        (NaN -> 0) and mapped to round(255 v)
 * @return FDEN_OK, FDEN_E_INVALID (NULL, zero or over 2^31-1 side; checked
 *         before anything is allocated), FDEN_E_OVERFLOW (width x height
 *         overflows size_t: 32-bit hosts), FDEN_E_NOMEM, FDEN_E_IO (the
 *         detail names the path; also when path exists and is not a regular
 *         file: a device, FIFO or directory is never replaced)
 * @note Thread safety: safe from any thread; two saves of one path at once
 *       leave one of the two files, whole.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_png_save_gray(const char *path, const float *pixels, size_t width,
					    size_t height);

#ifdef __cplusplus
}
#endif

#endif /* FDEN_IO_H */
