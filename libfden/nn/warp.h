/* Random affine warps of channels-last images: the augmented views of the
 * conv autoencoder's contrastive term. Each image gets its own rotation
 * a ~ U(-rot, rot) degrees, scale s ~ 1 + U(-scale, scale) and shift
 * (tx, ty) ~ U(-shift, shift) pixels, drawn from the caller's RNG. The
 * output pixel (y, x) samples the input, bilinearly with zeros outside, at
 *   [u v]^T = R(a) [x' y']^T / s + [tx ty]^T,  x' = x + 1/2 - w/2, ...
 * (in pixel units about the image centre; PyTorch's affine_grid and
 * grid_sample with align_corners=False on the same angle, scale and shift
 * give the same image). */
#ifndef FD_NN_WARP_H
#define FD_NN_WARP_H

#include "kernels/rng.h"

struct fd_warp {
	float rot_deg; /* >= 0 */
	float scale;   /* in [0, 1) */
	float shift;   /* pixels, >= 0 */
};

/* One image (h x w x c) warped by the given angle (degrees), scale and
 * shift into Y (not aliasing X). */
void fd_warp_one(const float *X, int h, int w, int c, float deg, float s, float tx,
		 float ty, float *Y);

/* n images, each warped by its own draw from rng. */
void fd_warp_batch(const float *X, int n, int h, int w, int c, const struct fd_warp *cfg,
		   struct fd_rng *rng, float *Y);

#endif
