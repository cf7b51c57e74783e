/* Aligned memory through the user's allocator. Each block is over-allocated
 * by FD_ALIGN bytes in front (the offset back to the raw pointer sits just
 * before the aligned address) and FD_GEMM_PAD bytes behind (alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define FD_ALIGN 64

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
	return p;
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
	raw_free(a, q - q[-1]);
}

int fd_mul_overflow(size_t a, size_t b, size_t *out)
{
	if (b != 0 && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}
