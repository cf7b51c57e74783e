/* Inverted dropout (training only): keep each element with probability
 * 1 - rate and scale kept ones by 1/(1 - rate), so evaluation is the
 * identity. The mask holds the multiplier (0 or 1/(1-rate)) for backward. */
#ifndef FD_NN_DROPOUT_H
#define FD_NN_DROPOUT_H

#include <stddef.h>

#include "kernels/rng.h"

/* mask[i] = (u_i < 1 - rate) ? 1/(1 - rate) : 0; rate in [0, 1). */
void fd_dropout_mask(struct fd_rng *rng, float rate, float *mask, size_t n);
/* The same decisions as bytes: keep[i] = 1 (kept) or 0, drawn from the rng
 * exactly as fd_dropout_mask draws them (same stream, same outcome). */
void fd_dropout_keep(struct fd_rng *rng, float rate, unsigned char *keep, size_t n);
/* The same decisions as bits, row by row: row i of a rows x cols matrix
 * starts at byte i * fd_keep_stride(cols), bit j of the row (byte j / 8,
 * bit j % 8) is 1 for kept. Same rng stream and outcomes as
 * fd_dropout_keep over the rows x cols elements in row-major order. */
static inline size_t fd_keep_stride(int cols)
{
	return ((size_t)cols + 7) / 8;
}
void fd_dropout_keep_bits(struct fd_rng *rng, float rate, unsigned char *bits, size_t rows,
			  int cols);
/* bytes[j] = bit j of one row of keep bits (0 or 1), j < cols */
void fd_keep_expand(const unsigned char *row, int cols, unsigned char *bytes);
/* Draw a mask, then y = x * mask (y may alias x). */
void fd_dropout_forward(struct fd_rng *rng, float rate, const float *x,
			float *mask, float *y, size_t n);
/* dx = dy * mask (dx may alias dy). */
void fd_dropout_backward(const float *mask, const float *dy, float *dx, size_t n);

#endif
