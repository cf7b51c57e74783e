/* Adam, fused: one pass over w, g, m, v per parameter tensor. */
#ifndef FD_NN_ADAM_H
#define FD_NN_ADAM_H

#include <stdint.h>
#include "nn/param.h"

struct fd_adam {
	float lr, beta1, beta2, eps;
};

/* One update of p with step number t (1-based, for bias correction):
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). Leaves g as it is. */
void fd_adam_update(const struct fd_adam *opt, struct fd_param *p, uint64_t t);

#endif
