/* Helpers shared by the model suites: a small seeded generator, small
 * configurations and random episodes. */
#ifndef TEST_MODEL_UTIL_H
#define TEST_MODEL_UTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "../check_run.h"

static uint64_t tu_state = 0x9e3779b97f4a7c15ULL;

static inline double tu_uniform(void)
{
	tu_state = tu_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(tu_state >> 11) * (1.0 / 9007199254740992.0);
}

static inline double tu_normal(void)
{
	double u = tu_uniform() + 1e-12, v = tu_uniform();
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* A tiny model configuration: every width small, every lever settable. */
static inline struct fden_config *tu_small_config(int dim, int head)
{
	struct fden_config *c = NULL;

	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, dim), FDEN_OK);
	/* the paper's MLP disentangler and no extra terms, unless a test asks */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_MLP), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_XCORR, 0), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_ADV, 0), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-4), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIS_WIDTH, 8), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIS_TRUNK_DEPTH, 2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIS_HEAD_DEPTH, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STAT_WIDTH1, 8), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STAT_WIDTH2, 6), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STAT_WIDTH3, 4), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ENT_BRANCH_WIDTH, 6), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ENT_BRANCH_DEPTH, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ENT_TRUNK_WIDTH, 8), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ENT_TRUNK_DEPTH, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_HEAD, head), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_WIDTH, 6), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_INIT, FDEN_INIT_HE_NORMAL), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_SEED, 7), FDEN_OK);
	return c;
}

struct tu_episodes {
	struct fden_episodes ep;
	float *z, *ls;
	int32_t *labels;
};

/* E episodes, ways-way, shots + queries per class, rows N(0,1) plus a class offset. */
static inline void tu_episodes_make(struct tu_episodes *t, size_t E, size_t ways, size_t shots,
				    size_t queries, int dim)
{
	size_t R = ways * (shots + queries), N = E * R;

	memset(t, 0, sizeof *t);
	t->z = malloc(N * dim * sizeof *t->z);
	t->ls = malloc(N * dim * sizeof *t->ls);
	t->labels = malloc(N * sizeof *t->labels);
	ck_assert(t->z && t->ls && t->labels);
	for (size_t e = 0; e < E; e++)
		for (size_t i = 0; i < R; i++) {
			size_t row = e * R + i;
			int32_t y = (int32_t)(i < ways * shots ? i % ways : (i - ways * shots) % ways);
			t->labels[row] = y;
			for (int d = 0; d < dim; d++) {
				t->z[row * dim + d] = (float)(tu_normal() + (d == y % dim ? 1.5 : 0.0));
				t->ls[row * dim + d] = (float)(-1.0 + 0.3 * tu_normal());
			}
		}
	t->ep.struct_size = sizeof t->ep;
	t->ep.n_episodes = E;
	t->ep.ways = ways;
	t->ep.shots = shots;
	t->ep.queries = queries;
	t->ep.z = t->z;
	t->ep.z_log_sigma = NULL;
	t->ep.labels = t->labels;
}

static inline void tu_episodes_free(struct tu_episodes *t)
{
	free(t->z);
	free(t->ls);
	free(t->labels);
}

static inline void tu_run(Suite *s, int *nf)
{
	*nf += fd_check_failed(s, NULL);
}

#endif
