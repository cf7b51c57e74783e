/* 2-D convolution on a batch of channels-last (NHWC) images, by im2col
 * and one fd_gemm per batch (BLIS does the product).
 *
 *   input  X: n images of h x w x c       (row-major, channel last)
 *   output Z: n images of oh x ow x oc,   oh = (h + 2p - k) / s + 1 (floor)
 *   weight W: (k k c) x oc, row-major, rows ordered (ky, kx, ci)
 *   Z[b, y, x, o] = sum_{ky, kx, ci} X[b, y s - p + ky, x s - p + kx, ci]
 *                   W[(ky k + kx) c + ci, o]      (zero outside the image)
 *
 * Bias, batch norm and the activation are not applied here: Z viewed as an
 * (n oh ow) x oc matrix is what fd_act_forward (bias + activation, one
 * sweep) and the batch-norm calls of batchnorm.h take as rows x width, so
 * "batch norm over channels" is fd_bn_* with n oh ow rows of oc. The
 * transposed convolution is in convt.h; the layer container in convnet.h.
 *
 * The caller owns every buffer. col holds fd_conv2d_col_floats(g, n)
 * floats; with `padded`, X, W, col, Z (and dZ, dW, dcol in backward) are
 * all library memory (fd_malloc) and the products may take BLIS's small
 * kernels (fd_gemm_padded, kernels/gemm.h). No call allocates. */
#ifndef FD_NN_CONV_H
#define FD_NN_CONV_H

#include <stddef.h>

#include "nn/im2col.h"

struct fd_conv2d {
	int h, w, c;    /* input image */
	int oh, ow, oc; /* output image */
	int k, s, p;    /* kernel side, stride, zero padding */
};

/* Fill g for an h x w x c input, oc output channels, k x k kernel, stride
 * s, padding p. Returns 0, or -1 when a size is < 1, p >= k, the output
 * would be empty, or an image or a col row overflows an int. */
int fd_conv2d_init(struct fd_conv2d *g, int h, int w, int c, int oc, int k, int s, int p);
/* floats of one image in and out, of one col row, and of a batch's col */
size_t fd_conv2d_in_floats(const struct fd_conv2d *g);
size_t fd_conv2d_out_floats(const struct fd_conv2d *g);
size_t fd_conv2d_col_floats(const struct fd_conv2d *g, int n);
/* The im2col geometry of g (the windows over the input). */
struct fd_patch_geom fd_conv2d_patches(const struct fd_conv2d *g);

/* col = im2col(X); Z = col W. */
void fd_conv2d_forward(const struct fd_conv2d *g, const float *X, int n, const float *W,
		       float *col, float *Z, int nthreads, int padded);
/* Given dZ = dL/dZ and the forward's col: dW = col^T dZ + beta_w dW
 * (beta_w 1 adds, 0 overwrites); when dX is not NULL, dcol = dZ W^T and
 * dX = col2im(dcol) (dX overwritten; dcol is scratch of col's size). */
void fd_conv2d_backward(const struct fd_conv2d *g, const float *col, const float *dZ, int n,
			const float *W, float beta_w, float *dW, float *dcol, float *dX,
			int nthreads, int padded);

#endif
