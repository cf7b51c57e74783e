/* Memory through a user allocator (struct fden_allocator, NULL = malloc).
 * Blocks are 64-byte aligned, so BLIS and vector loops get aligned rows. */
#ifndef FD_CORE_ALLOC_H
#define FD_CORE_ALLOC_H

#include <stddef.h>
#include <fden/core.h>

/* NULL on failure or when n is 0. */
void *fd_malloc(const struct fden_allocator *a, size_t n);
/* Zeroed count*size bytes; NULL on failure or when count*size overflows. */
void *fd_calloc(const struct fden_allocator *a, size_t count, size_t size);
/* NULL is a no-op. */
void fd_free(const struct fden_allocator *a, void *p);
/* *out = a*b; returns 0, or -1 when it overflows size_t. */
int fd_mul_overflow(size_t a, size_t b, size_t *out);

#endif
