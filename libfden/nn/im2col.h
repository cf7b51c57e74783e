/* Patch packing for convolutions, channels-last (NHWC): an image is H x W
 * x C floats, pixel (y, x) channel c at (y W + x) C + c; a batch is n such
 * images one after another.
 *
 * The patch grid: a k x k window with stride s and zero padding p slides
 * over the image, its top-left corner at (gy s - p, gx s - p) for gy < GH,
 * gx < GW. im2col writes one row per window, n GH GW rows of k k C floats
 * ordered (ky, kx, c), so a convolution is one product col W with W
 * (k k C) x C_out (conv.h). col2im is its adjoint: it adds each row back
 * onto the pixels it was read from (padding positions are dropped). */
#ifndef FD_NN_IM2COL_H
#define FD_NN_IM2COL_H

/* The image and the patch grid over it. */
struct fd_patch_geom {
	int h, w, c; /* image */
	int gh, gw;  /* patch grid (rows, columns of windows) */
	int k, s, p; /* window side, stride, zero padding */
};

/* col (n gh gw x k k c) = the windows of the n images at x */
void fd_im2col(const float *restrict x, int n, const struct fd_patch_geom *g,
	       float *restrict col);
/* x += the adjoint of fd_im2col applied to col (x: n images) */
void fd_col2im(const float *restrict col, int n, const struct fd_patch_geom *g,
	       float *restrict x);

#endif
