/* xoshiro256** (Blackman & Vigna), state seeded by splitmix64. */
#include <math.h>

#include "kernels/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fd_rng_seed(struct fd_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	/* splitmix64 never yields four zeros in a row, but be safe */
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

uint64_t fd_rng_u64(struct fd_rng *r)
{
	return fd_rng_next(r); /* xoshiro256** step, see rng.h */
}

uint32_t fd_rng_below(struct fd_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift with rejection: unbiased */
	uint64_t x = fd_rng_u64(r) >> 32;
	uint64_t p = x * n;
	uint32_t lo = (uint32_t)p;

	if (lo < n) {
		uint32_t thresh = (uint32_t)(-n) % n; /* 2^32 mod n */
		while (lo < thresh) {
			x = fd_rng_u64(r) >> 32;
			p = x * n;
			lo = (uint32_t)p;
		}
	}
	return (uint32_t)(p >> 32);
}

float fd_rng_uniform(struct fd_rng *r)
{
	/* top 24 bits: exact float in [0, 1) */
	return (float)(fd_rng_u64(r) >> 40) * 0x1.0p-24f;
}

/* Uniform double in (0, 1], for logs. */
static double uniform_pos(struct fd_rng *r)
{
	return ((double)(fd_rng_u64(r) >> 11) + 1.0) * 0x1.0p-53;
}

float fd_rng_normal(struct fd_rng *r)
{
	/* Box-Muller, one value per draw (no cached spare):
	 * x = sqrt(-2 ln u1) cos(2 pi u2) */
	double u1 = uniform_pos(r);
	double u2 = (double)(fd_rng_u64(r) >> 11) * 0x1.0p-53;

	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float fd_rng_trunc_normal(struct fd_rng *r, float sigma)
{
	float x;

	do
		x = fd_rng_normal(r);
	while (x > 2.0f || x < -2.0f);
	return x * sigma;
}

void fd_rng_perm(struct fd_rng *r, int32_t *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = i;
	/* Fisher-Yates: swap p[i] with p[j], j uniform in [0, i] */
	for (i = n - 1; i > 0; i--) {
		uint32_t j = fd_rng_below(r, (uint32_t)i + 1);
		int32_t t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
}

void fd_rng_fill_normal(struct fd_rng *r, float *x, size_t n, float sigma)
{
	size_t i = 0;

	/* Box-Muller pairs: both the cos and the sin value are used here */
	for (; i + 1 < n; i += 2) {
		double rad = sqrt(-2.0 * log(uniform_pos(r)));
		double th = 6.283185307179586 * (double)(fd_rng_u64(r) >> 11) * 0x1.0p-53;
		x[i] = (float)(rad * cos(th)) * sigma;
		x[i + 1] = (float)(rad * sin(th)) * sigma;
	}
	if (i < n)
		x[i] = fd_rng_normal(r) * sigma;
}
