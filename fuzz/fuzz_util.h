/* Helpers the libFuzzer harnesses share (header-only; each harness is its
 * own program). */
#ifndef FDEN_FUZZ_UTIL_H
#define FDEN_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

static inline void fz_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The n bytes at payload as the payload of a valid checkpoint container of
 * `kind` (36-byte header: magic, version 1, kind, sizes, CRC; zlib body), so
 * mutations reach a loader's record checks instead of dying at the CRC.
 * Returns malloc'd bytes (free them) and their length in *len, or NULL. */
static inline uint8_t *fz_ckpt_wrap(const uint8_t *payload, size_t n, uint32_t kind, size_t *len)
{
	uLongf zlen = compressBound((uLong)n);
	uint8_t *f = malloc(36 + zlen);

	if (!f)
		return NULL;
	if (compress2(f + 36, &zlen, payload, (uLong)n, 1) != Z_OK) {
		free(f);
		return NULL;
	}
	memcpy(f, "FDENCKPT", 8);
	fz_put_le(f + 8, 1, 4);
	fz_put_le(f + 12, kind, 4);
	fz_put_le(f + 16, n, 8);
	fz_put_le(f + 24, zlen, 8);
	fz_put_le(f + 32, crc32(0L, payload, (uInt)n), 4);
	*len = 36 + zlen;
	return f;
}

/* The bytes as a file with no disk: a memfd, its name (/proc/self/fd/N) in
 * path. Returns the descriptor (close it), or -1. */
static inline int fz_memfd(const uint8_t *data, size_t size, char *path, size_t pathn)
{
	int fd = memfd_create("fden-fuzz", 0);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, pathn, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
