/* libFuzzer harness: the checkpoint reader on arbitrary bytes, twice:
 * 1. the input as a whole file (the kind asked for is the one in its header);
 * 2. the input as the payload, wrapped in a valid header, zlib stream and
 *    CRC, so mutations reach the record parser instead of dying at the CRC.
 * Every record found is read back in full. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, uint32_t kind)
{
	struct fd_ckpt_reader *r = NULL;
	struct fd_err err;
	size_t i, j, n;
	volatile uint8_t sink = 0;

	if (fd_ckpt_read_mem(data, size, kind, NULL, &err, &r) != FDEN_OK)
		return;
	for (i = 0; i < fd_ckpt_count(r); i++) {
		const char *name;
		const void *d, *d2;
		int type;

		if (fd_ckpt_record(r, i, &name, &type, &d, &n) != FDEN_OK)
			__builtin_trap();
		/* the lookup by name finds the same record */
		if (fd_ckpt_get(r, name, type, n, &d2, NULL) != FDEN_OK || d2 != d)
			__builtin_trap();
		if (n && ((uintptr_t)d & 63))
			__builtin_trap();
		for (j = 0; j < n; j++) /* touch every byte (ASan checks the bounds) */
			sink ^= ((const uint8_t *)d)[j];
	}
	fd_ckpt_reader_free(r);
	(void)sink;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t kind = FD_CKPT_MODEL;
	uLongf zlen;
	uint8_t *f;

	if (size >= 16)
		kind = (uint32_t)data[12] | (uint32_t)data[13] << 8 | (uint32_t)data[14] << 16 |
		       (uint32_t)data[15] << 24;
	check(data, size, kind);
	/* 2: a valid container around the input */
	zlen = compressBound((uLong)size);
	f = malloc(36 + zlen);
	if (!f)
		return 0;
	if (compress2(f + 36, &zlen, data, (uLong)size, 1) == Z_OK) {
		memcpy(f, "FDENCKPT", 8);
		put_le(f + 8, 1, 4);
		put_le(f + 12, FD_CKPT_MODEL, 4);
		put_le(f + 16, size, 8);
		put_le(f + 24, zlen, 8);
		put_le(f + 32, crc32(0L, data, (uInt)size), 4);
		check(f, 36 + zlen, FD_CKPT_MODEL);
	}
	free(f);
	return 0;
}
