/* The helpers every Check suite shares, one copy each: the suite runner,
 * whole-file reads, a scratch directory, a counting allocator that can fail
 * its k-th call, a seeded generator for test data, small configurations and
 * synthetic episodes. Public API only (<fden/fden.h>), so the api suites,
 * which link the shared library, use it as the unit suites do. Everything is
 * static: a test program includes this once. */
#ifndef FDEN_TESTS_TESTUTIL_H
#define FDEN_TESTS_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 in a build under AddressSanitizer (or MemorySanitizer), whose shadow
 * memory, redzones and quarantine make resident-memory bounds meaningless:
 * tests check the run, not the bound, there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#include <fden/fden.h>

/* ---- running a suite ------------------------------------------------ */

/* Run s (freed with its runner); returns the failed tests, and in *run
 * (when not NULL) the tests that ran. */
static inline int tu_check_failed(Suite *s, int *run)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	if (run)
		*run = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed;
}

/* Run s as a test program: EXIT_FAILURE if a test failed; with skip_empty,
 * 77 (meson's "skipped") when no test ran (suites whose tests need a tool
 * the machine lacks); else EXIT_SUCCESS. */
static inline int tu_check_main(Suite *s, int skip_empty)
{
	int run, failed = tu_check_failed(s, &run);

	if (failed)
		return EXIT_FAILURE;
	return skip_empty && run == 0 ? 77 : EXIT_SUCCESS;
}

/* Under valgrind (it preloads vgpreload_*.so) runs are ~50x slower: do less. */
static inline int tu_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* ---- files ---------------------------------------------------------- */

/* The whole file at path (malloc'd with one spare byte, owned by the
 * caller), its size in *n; every step asserted. */
static inline void *tu_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long len;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* The whole file at path, NUL-terminated (malloc'd, owned by the caller),
 * its size in *len when len is not NULL; NULL if it cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = n < 0 ? NULL : malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return b;
}

static char tu_dir[256];

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_rmdir(). */
static inline const char *tu_mkdir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tu_dir, sizeof tu_dir, "%s/fden-test-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tu_dir));
	return tu_dir;
}

/* Remove the scratch directory and the files (or empty directories) in it. */
static inline void tu_rmdir(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", tu_dir, e->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
	closedir(d);
	rmdir(tu_dir);
}

/* Number of entries in the scratch directory. */
static inline int tu_count_files(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* name inside the scratch directory, written into buf. */
static inline const char *tu_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tu_dir, name);
	return buf;
}

static inline void tu_write(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- a counting allocator ------------------------------------------- */

/* Zero it before use. fail_at = k makes the k-th call fail (0: never). */
struct tu_counter {
	size_t calls;  /* alloc calls, failed ones included */
	size_t allocs; /* successful allocations */
	size_t frees;
	long live; /* allocs - frees */
	size_t fail_at;
};

static inline void *tu_counting_alloc(void *ud, size_t n)
{
	struct tu_counter *c = ud;

	c->calls++;
	if (c->fail_at && c->calls == c->fail_at)
		return NULL;
	c->allocs++;
	c->live++;
	return malloc(n);
}

static inline void tu_counting_free(void *ud, void *p)
{
	struct tu_counter *c = ud;

	c->frees++;
	c->live--;
	free(p);
}

/* The allocator counting into c (borrowed: c must outlive its users). */
static inline struct fden_allocator tu_counting_allocator(struct tu_counter *c)
{
	struct fden_allocator a;

	a.alloc = tu_counting_alloc;
	a.free = tu_counting_free;
	a.user_data = c;
	return a;
}

/* ---- test data ------------------------------------------------------ */

/* A seeded LCG for test data (not the library's RNG). */
static uint64_t tu_state = 0x9e3779b97f4a7c15ULL;

/* Uniform in [0, 1). */
static inline double tu_uniform(void)
{
	tu_state = tu_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(tu_state >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller). */
static inline double tu_normal(void)
{
	double u = tu_uniform() + 1e-12, v = tu_uniform();
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* x[0..n) uniform in [-1, 1). */
static inline void tu_fill(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(2.0 * tu_uniform() - 1.0);
}

/* ---- configurations ------------------------------------------------- */

#define TU_TINY_DIM 8 /* the api suites' latent width */

/* Every hidden layer `width` wide and one deep, latent width dim, seed 7:
 * a step takes well under a millisecond. */
static inline struct fden_config *tu_tiny_config(size_t dim, size_t width)
{
	struct fden_config *cfg = NULL;
	static const int width_keys[] = {
		FDEN_P_DIS_WIDTH,
		FDEN_P_STAT_WIDTH1,
		FDEN_P_STAT_WIDTH2,
		FDEN_P_STAT_WIDTH3,
		FDEN_P_ENT_BRANCH_WIDTH,
		FDEN_P_ENT_TRUNK_WIDTH,
	};
	static const int depth_keys[] = {
		FDEN_P_DIS_TRUNK_DEPTH,
		FDEN_P_DIS_HEAD_DEPTH,
		FDEN_P_ENT_BRANCH_DEPTH,
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

/* A small configuration with every lever set: the paper's MLP
 * disentangler, no extra terms, the given alignment head. */
static inline struct fden_config *tu_small_config(int dim, int head)
{
	struct fden_config *c = NULL;

	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, dim), FDEN_OK);
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

/* ---- episodes ------------------------------------------------------- */

struct tu_episodes {
	struct fden_episodes ep; /* points into z and labels; z_log_sigma NULL */
	float *z, *ls;           /* rows x dim latents, and log-sigmas for tests that want them */
	int32_t *labels;
	size_t rows;
};

/* E episodes, ways-way, shots support then queries query rows per class
 * (labels 0..ways-1 cycling, support first), rows N(0,1) plus 1.5 on the
 * class's own coordinate, so the classes are learnable; log-sigmas around
 * -1. Free with tu_episodes_free(). */
static inline void tu_episodes_make(struct tu_episodes *t, size_t E, size_t ways, size_t shots,
				    size_t queries, size_t dim)
{
	size_t R = ways * (shots + queries), N = E * R;

	memset(t, 0, sizeof *t);
	t->rows = N;
	t->z = malloc(N * dim * sizeof *t->z);
	t->ls = malloc(N * dim * sizeof *t->ls);
	t->labels = malloc(N * sizeof *t->labels);
	ck_assert(t->z && t->ls && t->labels);
	for (size_t e = 0; e < E; e++)
		for (size_t i = 0; i < R; i++) {
			size_t row = e * R + i;
			int32_t y = (int32_t)(i < ways * shots ? i % ways : (i - ways * shots) % ways);
			t->labels[row] = y;
			for (size_t d = 0; d < dim; d++) {
				t->z[row * dim + d] = (float)(tu_normal() + (d == (size_t)y % dim ? 1.5 : 0.0));
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
	memset(t, 0, sizeof *t);
}

#endif
