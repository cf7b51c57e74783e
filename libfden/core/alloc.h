/* Memory through a user allocator (struct fden_allocator, NULL = malloc).
 * Blocks are 64-byte aligned, so BLIS and vector loops get aligned rows.
 *
 * Every block is followed by FD_GEMM_PAD readable bytes of the same
 * allocation (never handed out, never written), so any matrix stored inside
 * library memory may be an operand of fd_gemm_padded (kernels/gemm.h):
 * BLIS 0.9's small-matrix kernels read up to one leading dimension past the
 * last element of an operand (measured: bench/sup_probe.c, bench/README.md).
 * 16 KiB + 64 covers two rows of FD_GEMM_PAD_LD = 2048 floats; untouched
 * tail pages are never resident. */
#ifndef FD_CORE_ALLOC_H
#define FD_CORE_ALLOC_H

#include <stddef.h>
#include <fden/core.h>

#define FD_GEMM_PAD_LD 2048                       /* floats */
#define FD_GEMM_PAD (2 * FD_GEMM_PAD_LD * 4 + 64) /* bytes */

/* NULL on failure or when n is 0; FD_GEMM_PAD readable bytes follow the n. */
void *fd_malloc(const struct fden_allocator *a, size_t n);
/* Zeroed count*size bytes; NULL on failure or when count*size overflows. */
void *fd_calloc(const struct fden_allocator *a, size_t count, size_t size);
/* NULL is a no-op. */
void fd_free(const struct fden_allocator *a, void *p);
/* *out = a*b; returns 0, or -1 when it overflows size_t. */
int fd_mul_overflow(size_t a, size_t b, size_t *out);

/* The padding rule's check (fd_gemm_padded, kernels/gemm.h): 1 when
 * [p, p + n) lies inside one live fd_malloc block, else 0. Debug builds
 * (NDEBUG undefined) keep the live blocks for it, sorted by address under
 * a lock; release builds keep nothing and always return 1. */
int fd_alloc_is_library(const void *p, size_t n);
/* Count [p, p + n) as library memory until fd_alloc_disown(p): for tests
 * whose guard-page buffers stand in for fd_malloc blocks. No-ops under
 * NDEBUG. */
void fd_alloc_adopt(const void *p, size_t n);
void fd_alloc_disown(const void *p);

#endif
