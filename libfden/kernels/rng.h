/* A seeded generator owned by each handle (xoshiro256**; seeded through
 * splitmix64). No global state: same seed, same bits. */
#ifndef FD_KERNELS_RNG_H
#define FD_KERNELS_RNG_H

#include <stddef.h>
#include <stdint.h>

struct fd_rng {
	uint64_t s[4];
};

void fd_rng_seed(struct fd_rng *r, uint64_t seed);
uint64_t fd_rng_u64(struct fd_rng *r);

/* fd_rng_u64 inline, for hot loops (dropout masks): the same sequence. */
static inline uint64_t fd_rng_next(struct fd_rng *r)
{
	uint64_t *s = r->s;
	uint64_t x = s[1] * 5;
	uint64_t out = ((x << 7) | (x >> 57)) * 9; /* rotl(5 s1, 7) * 9 */
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19); /* rotl(s3, 45) */
	return out;
}

/* Uniform integer in [0, n), unbiased; n > 0. */
uint32_t fd_rng_below(struct fd_rng *r, uint32_t n);
/* Uniform in [0, 1). */
float fd_rng_uniform(struct fd_rng *r);
/* Standard normal. */
float fd_rng_normal(struct fd_rng *r);
/* Normal(0, sigma) resampled until |x| <= 2 sigma. */
float fd_rng_trunc_normal(struct fd_rng *r, float sigma);
/* p[0..n) = a uniform random permutation of 0..n-1. */
void fd_rng_perm(struct fd_rng *r, int32_t *p, int n);
/* Fill x[0..n) with normal(0, sigma) values. */
void fd_rng_fill_normal(struct fd_rng *r, float *x, size_t n, float sigma);

#endif
