/* Helpers shared by the api suites: a small, fast model configuration,
 * synthetic episodes, and a counting allocator that can fail on demand.
 * Everything is static: each suite includes this once. */
#ifndef FDEN_TESTS_TINY_H
#define FDEN_TESTS_TINY_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

#include "../slurp.h"
#include "../check_run.h"

#define TINY_DIM 8

/* Under valgrind (it preloads vgpreload_*.so) runs are ~50x slower: do less. */
static inline int tiny_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* A counting allocator: fail_at = k makes the k-th call fail (0: never). */
struct counter {
	size_t calls;   /* alloc calls, failed ones included */
	size_t allocs;  /* successful allocations */
	size_t frees;
	size_t fail_at;
};

static inline void *counting_alloc(void *ud, size_t n)
{
	struct counter *c = ud;

	c->calls++;
	if (c->fail_at && c->calls == c->fail_at)
		return NULL;
	c->allocs++;
	return malloc(n);
}

static inline void counting_free(void *ud, void *p)
{
	struct counter *c = ud;

	c->frees++;
	free(p);
}

static inline struct fden_allocator counting_allocator(struct counter *c)
{
	struct fden_allocator a;

	a.alloc = counting_alloc;
	a.free = counting_free;
	a.user_data = c;
	return a;
}

/* xorshift for test data (not the library's RNG). */
static uint64_t tiny_rng = 0x9e3779b97f4a7c15ull;
static inline float tiny_uniform(void)
{
	tiny_rng ^= tiny_rng << 13;
	tiny_rng ^= tiny_rng >> 7;
	tiny_rng ^= tiny_rng << 17;
	return (float)((tiny_rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

static inline void tiny_fill(float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = tiny_uniform();
}

/* Small widths so a step takes well under a millisecond. `width` scales
 * every hidden layer; dim is the latent width. */
static inline struct fden_config *tiny_config_w(size_t dim, size_t width)
{
	struct fden_config *cfg = NULL;
	static const int width_keys[] = {
		FDEN_P_DIS_WIDTH, FDEN_P_STAT_WIDTH1, FDEN_P_STAT_WIDTH2, FDEN_P_STAT_WIDTH3,
		FDEN_P_ENT_BRANCH_WIDTH, FDEN_P_ENT_TRUNK_WIDTH,
	};
	static const int depth_keys[] = {
		FDEN_P_DIS_TRUNK_DEPTH, FDEN_P_DIS_HEAD_DEPTH, FDEN_P_ENT_BRANCH_DEPTH,
		FDEN_P_ENT_TRUNK_DEPTH,
	};
	size_t i;

	ck_assert_int_eq(fden_config_new(&cfg), FDEN_OK);
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_DIM, (double)dim), FDEN_OK);
	for (i = 0; i < sizeof width_keys / sizeof width_keys[0]; i++)
		ck_assert_int_eq(fden_config_set(cfg, width_keys[i], (double)width), FDEN_OK);
	for (i = 0; i < sizeof depth_keys / sizeof depth_keys[0]; i++)
		ck_assert_int_eq(fden_config_set(cfg, depth_keys[i], 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(cfg, FDEN_P_SEED, 7), FDEN_OK);
	return cfg;
}

static inline struct fden_config *tiny_config(void)
{
	return tiny_config_w(TINY_DIM, 16);
}

/* A batch of episodes with random latents: classes in order, shots support
 * rows each, then queries query rows each, per episode. Arrays are
 * malloc'ed into *z and *labels (free with free()). */
struct tiny_batch {
	struct fden_episodes ep;
	float *z;
	int32_t *labels;
	size_t rows;
};

static inline void tiny_batch_make(struct tiny_batch *b, size_t dim, size_t n_episodes, size_t ways,
			    size_t shots, size_t queries)
{
	size_t per = ways * (shots + queries), e, k, j, r = 0;

	memset(b, 0, sizeof *b);
	b->rows = n_episodes * per;
	b->z = malloc(b->rows * dim * sizeof *b->z);
	b->labels = malloc(b->rows * sizeof *b->labels);
	ck_assert(b->z && b->labels);
	tiny_fill(b->z, b->rows * dim);
	for (e = 0; e < n_episodes; e++) {
		for (k = 0; k < ways; k++)
			for (j = 0; j < shots; j++)
				b->labels[r++] = (int32_t)k;
		for (k = 0; k < ways; k++)
			for (j = 0; j < queries; j++)
				b->labels[r++] = (int32_t)k;
	}
	/* Class k's rows lean towards a class direction, so L_C is learnable. */
	for (r = 0; r < b->rows; r++)
		b->z[r * dim + (size_t)b->labels[r] % dim] += 2.0f;
	b->ep.struct_size = sizeof b->ep;
	b->ep.n_episodes = n_episodes;
	b->ep.ways = ways;
	b->ep.shots = shots;
	b->ep.queries = queries;
	b->ep.z = b->z;
	b->ep.z_log_sigma = NULL;
	b->ep.labels = b->labels;
}

static inline void tiny_batch_free(struct tiny_batch *b)
{
	free(b->z);
	free(b->labels);
	memset(b, 0, sizeof *b);
}

#endif
