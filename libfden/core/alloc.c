/* Aligned memory through the user's allocator. Each block is over-allocated
 * by FD_ALIGN bytes in front (the offset back to the raw pointer sits just
 * before the aligned address) and FD_GEMM_PAD bytes behind (alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define FD_ALIGN 64

#ifndef NDEBUG
#include <pthread.h>

/* Debug builds: the live blocks [lo, hi), sorted by lo. Bookkeeping only
 * (libc memory, never the user's allocator); when it cannot grow, `lost` is
 * set and every check passes from then on. */
struct blk {
	uintptr_t lo, hi;
};
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk *reg;
static size_t reg_n, reg_cap;
static int reg_lost;

/* index of the first block with lo > p */
static size_t reg_upper(uintptr_t p)
{
	size_t a = 0, b = reg_n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (reg[m].lo <= p)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static void reg_add(const void *p, size_t n)
{
	uintptr_t lo = (uintptr_t)p;
	size_t i;

	pthread_mutex_lock(&reg_lock);
	if (reg_n == reg_cap) {
		size_t cap = reg_cap ? 2 * reg_cap : 256;
		struct blk *r = realloc(reg, cap * sizeof *r);

		if (!r) {
			reg_lost = 1;
			pthread_mutex_unlock(&reg_lock);
			return;
		}
		reg = r;
		reg_cap = cap;
	}
	i = reg_upper(lo);
	memmove(reg + i + 1, reg + i, (reg_n - i) * sizeof *reg);
	reg[i].lo = lo;
	reg[i].hi = lo + n;
	reg_n++;
	pthread_mutex_unlock(&reg_lock);
}

static void reg_del(const void *p)
{
	uintptr_t lo = (uintptr_t)p;
	size_t i;

	pthread_mutex_lock(&reg_lock);
	i = reg_upper(lo);
	if (i > 0 && reg[i - 1].lo == lo) {
		memmove(reg + i - 1, reg + i, (reg_n - i) * sizeof *reg);
		reg_n--;
	}
	if (reg_n == 0) { /* nothing live: give the table back */
		free(reg);
		reg = NULL;
		reg_cap = 0;
	}
	pthread_mutex_unlock(&reg_lock);
}

int fd_alloc_is_library(const void *p, size_t n)
{
	uintptr_t lo = (uintptr_t)p;
	size_t i;
	int ok;

	pthread_mutex_lock(&reg_lock);
	i = reg_upper(lo);
	ok = reg_lost || (i > 0 && lo + n >= lo && lo + n <= reg[i - 1].hi);
	pthread_mutex_unlock(&reg_lock);
	return ok;
}
#else
static void reg_add(const void *p, size_t n)
{
	(void)p;
	(void)n;
}

static void reg_del(const void *p)
{
	(void)p;
}

int fd_alloc_is_library(const void *p, size_t n)
{
	(void)p;
	(void)n;
	return 1;
}
#endif

static void *raw_alloc(const struct fden_allocator *a, size_t n)
{
	return a ? a->alloc(a->user_data, n) : malloc(n);
}

static void raw_free(const struct fden_allocator *a, void *p)
{
	if (a)
		a->free(a->user_data, p);
	else
		free(p);
}

void *fd_malloc(const struct fden_allocator *a, size_t n)
{
	unsigned char *raw, *p;

	if (n == 0 || n > SIZE_MAX - FD_ALIGN - FD_GEMM_PAD)
		return NULL;
	raw = raw_alloc(a, n + FD_ALIGN + FD_GEMM_PAD); /* [<= 64 front][n][>= FD_GEMM_PAD] */
	if (!raw)
		return NULL;
	p = (unsigned char *)(((uintptr_t)raw + FD_ALIGN) & ~(uintptr_t)(FD_ALIGN - 1));
	p[-1] = (unsigned char)(p - raw);
	reg_add(p, n);
	return p;
}

void fd_alloc_adopt(const void *p, size_t n)
{
	reg_add(p, n);
}

void fd_alloc_disown(const void *p)
{
	reg_del(p);
}

void *fd_calloc(const struct fden_allocator *a, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (fd_mul_overflow(count, size, &n))
		return NULL;
	p = fd_malloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void fd_free(const struct fden_allocator *a, void *p)
{
	unsigned char *q = p;

	if (!q)
		return;
	reg_del(q);
	raw_free(a, q - q[-1]);
}

int fd_mul_overflow(size_t a, size_t b, size_t *out)
{
	if (b != 0 && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}
