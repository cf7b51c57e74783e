/* Guard pages around gemm operands. BLIS 0.9's small-matrix ("sup") sgemm
 * kernels read past the end of their operands (flame/blis#635; measured in
 * bench/sup_probe.c: up to one row of the operand's leading dimension).
 * - fd_gemm (caller buffers allowed): every operand ends exactly at a
 *   PROT_NONE page and starts right after one; any stray access crashes.
 * - fd_gemm_padded (library memory): each operand is followed by exactly
 *   FD_GEMM_PAD bytes and then a PROT_NONE page, the worst placement an
 *   fd_malloc block allows; shapes include the measured over-reading ones
 *   (k % 8 != 0 with B transposed, n = 1, n = 2 with C read) and leading
 *   dimensions up to FD_GEMM_PAD_LD.
 * - fd_malloc leaves FD_GEMM_PAD bytes of its own allocation behind every
 *   block.
 * Results are checked against a double-precision loop, 1 and 2 threads. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "kernels/gemm.h"
#include "../testutil.h"

struct guarded {
	void *map;
	size_t bytes;
	float *p; /* n floats, then `tail` bytes, then a PROT_NONE page */
};

/* [PROT_NONE page][pad to align][n floats][tail bytes][PROT_NONE page]:
 * the start is as close to the front guard as 4-byte alignment allows when
 * the data fill whole pages; otherwise only the end is exact. */
static struct guarded guarded(size_t n, size_t tail)
{
	struct guarded g;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (n * sizeof(float) + tail + pg - 1) / pg * pg;

	g.bytes = data + 2 * pg;
	g.map = mmap(NULL, g.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(g.map, MAP_FAILED);
	ck_assert_int_eq(mprotect(g.map, pg, PROT_NONE), 0);
	ck_assert_int_eq(mprotect((char *)g.map + pg + data, pg, PROT_NONE), 0);
	g.p = (float *)((char *)g.map + pg + data - tail) - n;
	return g;
}

static void release(struct guarded *g)
{
	munmap(g->map, g->bytes);
}

struct shape {
	int ta, tb, m, n, k, ldx; /* ldx: extra leading-dimension floats */
	float beta;
};

/* the training step's batch-16 products, and the measured over-readers */
static const struct shape shapes[] = {
	{ 0, 0, 16, 512, 512, 0, 0.0f }, /* forward H = X W */
	{ 1, 0, 512, 512, 16, 0, 1.0f }, /* dW += X^T dH */
	{ 0, 1, 16, 512, 512, 0, 0.0f }, /* dX = dH W^T */
	{ 0, 0, 32, 1, 64, 0, 0.0f },    /* statistician output, n = 1 */
	{ 0, 1, 32, 64, 1, 0, 0.0f },
	{ 1, 0, 64, 1, 32, 0, 0.0f },
	{ 0, 1, 1, 16, 17, 0, 0.0f }, /* A over-read: one row of lda */
	{ 0, 1, 16, 64, 17, 0, 0.5f },
	{ 0, 1, 16, 1, 17, 0, 0.0f }, /* B over-read: one row of ldb */
	{ 0, 1, 7, 64, 3, 0, 0.0f },
	{ 0, 0, 16, 1, 17, 0, 0.0f }, /* B, n = 1 */
	{ 0, 0, 16, 2, 16, 0, 0.5f }, /* C read to 16 bytes */
	{ 1, 0, 7, 3, 512, 0, 0.5f },
	{ 0, 1, 1, 16, 17, FD_GEMM_PAD_LD - 17, 0.0f }, /* one row of the largest ld */
	{ 0, 1, 16, 64, 9, FD_GEMM_PAD_LD - 9, 0.5f },
	{ 0, 1, 5, 3, 2000, 48, 0.5f },
	{ 1, 1, 33, 17, 15, 13, 0.5f },
	{ 0, 0, 64, 256, 17, 13, 0.0f },
};

static void naive(const struct shape *s, const float *A, int lda, const float *B, int ldb,
		  const float *C0, int ldc, double *R)
{
	for (int i = 0; i < s->m; i++)
		for (int j = 0; j < s->n; j++) {
			double acc = 0.0;
			for (int p = 0; p < s->k; p++) {
				double a = s->ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
				double b = s->tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
				acc += a * b;
			}
			R[(size_t)i * s->n + j] = acc + (s->beta == 0.0f ? 0.0 : s->beta * (double)C0[(size_t)i * ldc + j]);
		}
}

/* One product with operand `which` (0 A, 1 B, 2 C) guarded, `tail` bytes
 * between its last element and the page; padded selects fd_gemm_padded. */
static void guarded_case(const struct shape *s, int which, size_t tail, int padded, int nt)
{
	int lda = (s->ta ? s->m : s->k) + s->ldx, ldb = (s->tb ? s->k : s->n) + s->ldx;
	int ldc = s->n + s->ldx;
	size_t na = s->ta ? (size_t)(s->k - 1) * lda + s->m : (size_t)(s->m - 1) * lda + s->k;
	size_t nb = s->tb ? (size_t)(s->n - 1) * ldb + s->k : (size_t)(s->k - 1) * ldb + s->n;
	size_t nc = (size_t)(s->m - 1) * ldc + s->n, ns[3] = { na, nb, nc };
	struct guarded g[3];
	float *p[3], *C0;
	double *R, err = 0.0;

	for (int i = 0; i < 3; i++) {
		/* unguarded operands get a generous page-sized tail of their own */
		g[i] = guarded(ns[i], i == which ? tail : 2 * (size_t)FD_GEMM_PAD);
		p[i] = g[i].p;
		for (size_t j = 0; j < ns[i]; j++)
			p[i][j] = (float)((j * 2654435761u + (unsigned)i * 977u) % 2001) / 1000.0f - 1.0f;
	}
	C0 = malloc(nc * sizeof *C0);
	R = malloc((size_t)s->m * s->n * sizeof *R);
	ck_assert_ptr_nonnull(C0);
	ck_assert_ptr_nonnull(R);
	memcpy(C0, p[2], nc * sizeof *C0);
	naive(s, p[0], lda, p[1], ldb, C0, ldc, R);
	for (int i = 0; padded && i < 3; i++) /* they stand in for fd_malloc blocks */
		fd_alloc_adopt(p[i], ns[i] * sizeof(float));
	(padded ? fd_gemm_padded : fd_gemm)(s->ta, s->tb, s->m, s->n, s->k, 1.0f, p[0], lda,
					    p[1], ldb, s->beta, p[2], ldc, nt);
	for (int i = 0; padded && i < 3; i++)
		fd_alloc_disown(p[i]);
	for (int i = 0; i < s->m; i++) {
		for (int j = 0; j < s->n; j++)
			err = fmax(err, fabs(p[2][(size_t)i * ldc + j] - R[(size_t)i * s->n + j]));
		for (int j = s->n; j < ldc && (size_t)i * ldc + j < nc; j++)
			ck_assert_msg(p[2][(size_t)i * ldc + j] == C0[(size_t)i * ldc + j],
				      "C's padding column %d of row %d was written", j, i);
	}
	ck_assert_msg(err <= 1e-4 * sqrt((double)s->k) + 1e-5,
		      "%s ta %d tb %d %dx%dx%d: error %g", padded ? "padded" : "plain", s->ta,
		      s->tb, s->m, s->n, s->k, err);
	for (int i = 0; i < 3; i++)
		release(&g[i]);
	free(C0);
	free(R);
}

/* caller buffers: no byte outside any operand may be touched */
START_TEST(test_plain_exact)
{
	const struct shape *s = &shapes[_i];

	for (int which = 0; which < 3; which++)
		for (int nt = 1; nt <= 2; nt++)
			guarded_case(s, which, 0, 0, nt);
}
END_TEST

/* library memory: FD_GEMM_PAD bytes behind each operand are enough */
START_TEST(test_padded_tail)
{
	const struct shape *s = &shapes[_i];

	for (int which = 0; which < 3; which++)
		for (int nt = 1; nt <= 2; nt++)
			guarded_case(s, which, FD_GEMM_PAD, 1, nt);
}
END_TEST

/* the padded path really takes the sup kernels: with no tail, the measured
 * over-read of A (one row of lda, BLIS 0.9) hits the page. If this starts
 * failing, BLIS stopped over-reading: FD_GEMM_PAD may then shrink.
 * BLIS 0.9's skx family has no sup kernels (bench/sup_probe.c measured no
 * over-read with it): there the same product must run clean without the
 * tail (FDEN_BLIS_ARCH=skx runs this suite that way). */
START_TEST(test_padded_needs_tail)
{
	static const struct shape s = { 0, 1, 1, 16, 17, 0, 0.0f };

	signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would exit instead */
	guarded_case(&s, 0, 0, 1, 1);
}
END_TEST

struct rec {
	size_t asked;
	unsigned char *raw;
};

static void *rec_alloc(void *ud, size_t n)
{
	struct rec *r = ud;

	r->asked = n;
	r->raw = malloc(n);
	return r->raw;
}

static void rec_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}

/* every fd_malloc block has FD_GEMM_PAD bytes of its allocation behind it */
START_TEST(test_malloc_tail)
{
	struct rec r = { 0, NULL };
	struct fden_allocator a = { rec_alloc, rec_free, &r };
	size_t sizes[] = { 1, 3, 64, 4000, 65536 + 4 };

	for (int i = 0; i < 5; i++) {
		unsigned char *p = fd_malloc(&a, sizes[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 64, 0);
		ck_assert_msg(p + sizes[i] + FD_GEMM_PAD <= r.raw + r.asked,
			      "block of %zu: %td bytes behind it, need %d", sizes[i],
			      (r.raw + r.asked) - (p + sizes[i]), FD_GEMM_PAD);
		fd_free(&a, p);
	}
	ck_assert_ptr_null(fd_malloc(&a, SIZE_MAX - 16));
}
END_TEST

/* The padding rule is checked (debug builds): fd_gemm_padded on a caller's
 * buffer counts a stray and takes the exact path; on fd_malloc blocks, or
 * inside one, it counts nothing. Release builds do not look. */
START_TEST(test_padded_rule_checked)
{
	float *lib[3], *own[3];
	unsigned long before;

	for (int i = 0; i < 3; i++) {
		lib[i] = fd_malloc(NULL, 64 * sizeof(float));
		own[i] = malloc(64 * sizeof(float));
		ck_assert(lib[i] && own[i]);
		for (int j = 0; j < 64; j++)
			lib[i][j] = own[i][j] = (float)(j % 7) - 3.0f;
	}
	before = fd_gemm_padded_strays();
	fd_gemm_padded(0, 0, 8, 8, 8, 1.0f, lib[0], 8, lib[1], 8, 0.0f, lib[2], 8, 1);
	fd_gemm_padded(0, 0, 4, 4, 4, 1.0f, lib[0] + 4, 8, lib[1] + 32, 8, 0.0f, lib[2] + 1, 8, 1);
	ck_assert_uint_eq(fd_gemm_padded_strays(), before);
	fd_gemm_padded(0, 0, 8, 8, 8, 1.0f, own[0], 8, own[1], 8, 0.0f, own[2], 8, 1);
	/* still the product */
	fd_gemm(0, 0, 8, 8, 8, 1.0f, lib[0], 8, lib[1], 8, 0.0f, lib[2], 8, 1);
	for (int j = 0; j < 64; j++)
		ck_assert_float_eq_tol(own[2][j], lib[2][j], 1e-4f);
#ifndef NDEBUG
	ck_assert_uint_eq(fd_gemm_padded_strays(), before + 1);
	ck_assert(!fd_alloc_is_library(own[0], 4));
	ck_assert(fd_alloc_is_library(lib[0], 64 * sizeof(float)));
	ck_assert(fd_alloc_is_library(lib[0] + 60, 4 * sizeof(float)));
	ck_assert(!fd_alloc_is_library(lib[0] + 60, 5 * sizeof(float))); /* past the block */
	/* one product spilling past its block is a stray too */
	fd_gemm_padded(0, 0, 8, 8, 8, 1.0f, lib[0] + 1, 8, lib[1], 8, 0.0f, lib[2], 8, 1);
	ck_assert_uint_eq(fd_gemm_padded_strays(), before + 2);
#else
	ck_assert_uint_eq(fd_gemm_padded_strays(), 0);
#endif
	for (int i = 0; i < 3; i++) {
		fd_free(NULL, lib[i]);
		free(own[i]);
	}
}
END_TEST

static Suite *guard_suite(void)
{
	Suite *s = suite_create("gemm_guard");
	TCase *tc = tcase_create("guard");
	int n = (int)(sizeof shapes / sizeof shapes[0]);

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_plain_exact, 0, n);
	tcase_add_loop_test(tc, test_padded_tail, 0, n);
	tcase_add_test(tc, test_malloc_tail);
	tcase_add_test(tc, test_padded_rule_checked);
	if (strcmp(fd_gemm_arch_name(), "skx"))
		tcase_add_test_raise_signal(tc, test_padded_needs_tail, SIGSEGV);
	else
		tcase_add_test(tc, test_padded_needs_tail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(guard_suite(), 0);
}
