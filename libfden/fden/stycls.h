/* A style classifier behind the gradient reversal layer (FDEN_P_STY_CLS,
 * issue 15): an adversary with parameters, unlike the parameter-free
 * uniformity loss of indep.h.
 *
 * It reads the GLOBAL training class (one of k) of every row of a batch
 * from f_sty, its columns standardised over the batch first (so D cannot
 * hide the class by shrinking f_sty):
 *   X = standardise(F),  linear:  Z = X W1 + b1
 *                        hidden:  H = relu(X W1 + b1),  Z = H W2 + b2
 *   L = mean_rows -log softmax(Z)[y]
 * The classifier descends L (its own Adam step); D gets the reversed
 * gradient, -w dL/dF (w = FDEN_P_STY_CLS), through the caller's gin.
 * Training state only: saved with the model so a resumed run continues it,
 * never used by inference. */
#ifndef FD_FDEN_STYCLS_H
#define FD_FDEN_STYCLS_H

#include <stddef.h>
#include <stdint.h>

#include <fden/core.h>
#include "nn/param.h"

struct fd_stycls {
	int d, h, k;          /* input width, hidden width (0: linear), classes */
	int np;               /* tensors: 2 (W1, b1) or 4 (W1, b1, W2, b2) */
	struct fd_param p[4]; /* W1 d x (h or k), b1, W2 h x k, b2 */
	float *blk;           /* every tensor's w, g, m, v (owned) */
};

/* Build (parameters from seed: W1 He-normal with a hidden layer, else 0;
 * W2 normal with variance 1/h; biases 0). 0, or -1 when out of memory (c
 * then holds nothing to free). */
int fd_stycls_new(struct fd_stycls *c, int d, int h, int k, uint64_t seed,
		  const struct fden_allocator *a);
/* Frees the tensors; c may hold nothing (np 0). */
void fd_stycls_free(struct fd_stycls *c, const struct fden_allocator *a);

/* Floats of workspace fd_stycls_loss needs for n rows. */
size_t fd_stycls_ws(const struct fd_stycls *c, int n);

/* Forward and backward on F (n x d) with labels y in [0, k): returns L and
 * in *acc (optional) the fraction of rows classified right; SETS every
 * tensor's g to dL/dparam; when dF is not NULL ADDS gin * dL/dF into it.
 * ws: fd_stycls_ws() floats. */
double fd_stycls_loss(const struct fd_stycls *c, const float *F, int n, const int32_t *y,
		      float gin, float *dF, double *acc, float *ws, int nthreads);

#endif
