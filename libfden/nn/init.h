/* Weight initialisers. */
#ifndef FD_NN_INIT_H
#define FD_NN_INIT_H

#include <stddef.h>

#include "kernels/rng.h"

enum fd_init {
	FD_INIT_TRUNC_NORMAL = 0,  /* truncated normal, sigma = init_sigma */
	FD_INIT_GLOROT_NORMAL = 1, /* normal, sigma = sqrt(2 / (fan_in + fan_out)) */
	FD_INIT_HE_NORMAL = 2,     /* normal, sigma = sqrt(2 / fan_in) */
};

/* w[0..n) ~ normal(0, sigma) truncated at 2 sigma (resampled). */
void fd_init_trunc_normal(struct fd_rng *r, float *w, size_t n, float sigma);
/* w ~ normal(0, sqrt(2 / (fan_in + fan_out))), n = fan_in fan_out. */
void fd_init_glorot_normal(struct fd_rng *r, float *w, int fan_in, int fan_out);
/* w ~ normal(0, sqrt(2 / fan_in)), n = fan_in fan_out. */
void fd_init_he_normal(struct fd_rng *r, float *w, int fan_in, int fan_out);
/* Dispatch on kind (enum fd_init); sigma for FD_INIT_TRUNC_NORMAL. */
void fd_init_weights(struct fd_rng *r, int kind, float sigma, float *w,
		     int fan_in, int fan_out);

#endif
