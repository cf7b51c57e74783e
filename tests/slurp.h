/* Shared by the Check suites: read a whole file, asserting every step. */
#ifndef FDEN_TESTS_SLURP_H
#define FDEN_TESTS_SLURP_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file at path (malloc'd with one spare byte, owned by the
 * caller), its size in *n. */
static inline void *test_slurp(const char *path, size_t *n)
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

#endif
