/* Initialisers. */
#include <math.h>

#include "nn/init.h"

void fd_init_trunc_normal(struct fd_rng *r, float *w, size_t n, float sigma)
{
	for (size_t i = 0; i < n; i++)
		w[i] = fd_rng_trunc_normal(r, sigma);
}

void fd_init_glorot_normal(struct fd_rng *r, float *w, int fan_in, int fan_out)
{
	/* sigma = sqrt(2 / (fan_in + fan_out)) */
	float sigma = sqrtf(2.0f / (float)(fan_in + fan_out));

	fd_rng_fill_normal(r, w, (size_t)fan_in * (size_t)fan_out, sigma);
}

void fd_init_he_normal(struct fd_rng *r, float *w, int fan_in, int fan_out)
{
	/* sigma = sqrt(2 / fan_in) */
	float sigma = sqrtf(2.0f / (float)fan_in);

	fd_rng_fill_normal(r, w, (size_t)fan_in * (size_t)fan_out, sigma);
}

void fd_init_weights(struct fd_rng *r, int kind, float sigma, float *w,
		     int fan_in, int fan_out)
{
	switch (kind) {
	case FD_INIT_GLOROT_NORMAL: fd_init_glorot_normal(r, w, fan_in, fan_out); break;
	case FD_INIT_HE_NORMAL: fd_init_he_normal(r, w, fan_in, fan_out); break;
	default:
		fd_init_trunc_normal(r, w, (size_t)fan_in * (size_t)fan_out, sigma);
		break;
	}
}
