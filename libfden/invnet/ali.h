/* Internal view of the built-in ALI host (ali.c), for its tests: build
 * the three networks, run one training step's forward and both backward
 * passes without updating (the gradients the finite-difference checks
 * compare), and the step with its updates (the no-allocation test). */
#ifndef FD_INVNET_ALI_H
#define FD_INVNET_ALI_H

#include <stddef.h>
#include <stdint.h>
#include <fden/core.h>
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/param.h"

#define FD_ALI_NDIMS 6 /* h, w, c, latent, base, output */

struct fd_ali;

/* What one step saw: the three losses (means over the batch) and D's
 * accuracy over its 2n rows (real pairs scored > 0, fake pairs < 0). */
struct fd_ali_stats {
	double d_loss, g_loss, rec, acc;
};

/* slope: the leaky ReLUs' (ALI_SLOPE 0.01 in fitting; the gradient checks
 * take 1, where every function in the nets is smooth). */
int fd_ali_new(const size_t d[FD_ALI_NDIMS], float dropout, float slope, int threads,
	       const struct fden_allocator *alloc, struct fd_rng *rng, struct fd_err *err,
	       struct fd_ali **out);
void fd_ali_free(struct fd_ali *a);
/* Workspace for steps of up to n rows (with the reconstruction term when
 * l2: G_x then runs 2n rows). */
int fd_ali_reserve(struct fd_ali *a, int n, int l2, struct fd_err *err);
/* One step on xb (n rows, library memory), with the prior's z (n x latent)
 * and the encoder's noise eps (n x latent) given, and rng for the dropout
 * masks. Sets every parameter gradient: the discriminator's of
 * d_loss, the generators' of g_loss + l2_weight rec. Returns the stats. */
struct fd_ali_stats fd_ali_grads(struct fd_ali *a, const float *xb, const float *zp,
				 const float *eps, int n, float l2_weight, struct fd_rng *rng);
/* The same losses without any backward (forward in training mode, as
 * fd_ali_grads runs it: batch statistics, dropout drawn from rng). */
struct fd_ali_stats fd_ali_losses(struct fd_ali *a, const float *xb, const float *zp,
				  const float *eps, int n, float l2_weight, struct fd_rng *rng);
/* Parameter tensors: which 0 = discriminator (D_x, D_z, joint), 1 =
 * generators (G_z, G_x, G_x's pixel bias). */
int fd_ali_nparams(struct fd_ali *a, int which);
struct fd_param *fd_ali_param(struct fd_ali *a, int which, int i);

#endif
