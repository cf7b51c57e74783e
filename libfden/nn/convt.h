/* 2-D transposed convolution ("deconvolution") on a batch of channels-last
 * (NHWC) images: the adjoint of the convolution that maps its output back
 * to its input, by one fd_gemm per batch and col2im.
 *
 *   input  X: n images of h x w x c
 *   output Z: n images of oh x ow x oc,  oh = (h - 1) s - 2p + k + opad
 *   weight W: c x (k k oc), row-major, columns ordered (ky, kx, o)
 *   Z[b, y s - p + ky, x s - p + kx, o] += sum_ci X[b, y, x, ci] W[ci, (ky k + kx) oc + o]
 *
 * opad (0 <= opad < s) adds rows and columns at the bottom and right, so
 * an odd size halved by a stride-2 convolution can be restored exactly.
 * As in conv.h: bias, batch norm and activation follow on Z as an
 * (n oh ow) x oc matrix; the caller owns every buffer; `padded` as there. */
#ifndef FD_NN_CONVT_H
#define FD_NN_CONVT_H

#include <stddef.h>

#include "nn/im2col.h"

struct fd_convt2d {
	int h, w, c;    /* input image */
	int oh, ow, oc; /* output image */
	int k, s, p, opad;
};

/* Returns 0, or -1 for a size < 1, p >= k, opad outside [0, s), an empty
 * output, or an image or col row overflowing an int. */
int fd_convt2d_init(struct fd_convt2d *g, int h, int w, int c, int oc, int k, int s, int p,
		    int opad);
size_t fd_convt2d_in_floats(const struct fd_convt2d *g);
size_t fd_convt2d_out_floats(const struct fd_convt2d *g);
/* floats of a batch's col: n h w x k k oc */
size_t fd_convt2d_col_floats(const struct fd_convt2d *g, int n);
/* The im2col geometry: windows over the OUTPUT, one per input pixel. */
struct fd_patch_geom fd_convt2d_patches(const struct fd_convt2d *g);

/* col = X W; Z = col2im(col) (Z overwritten). */
void fd_convt2d_forward(const struct fd_convt2d *g, const float *X, int n, const float *W,
			float *col, float *Z, int nthreads, int padded);
/* Given dZ: dcol = im2col(dZ); dW = X^T dcol + beta_w dW; when dX is not
 * NULL, dX = dcol W^T. dcol: scratch of col's size. */
void fd_convt2d_backward(const struct fd_convt2d *g, const float *X, const float *dZ, int n,
			 const float *W, float beta_w, float *dW, float *dcol, float *dX,
			 int nthreads, int padded);

#endif
