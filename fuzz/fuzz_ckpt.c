/* libFuzzer harness: the checkpoint reader on arbitrary bytes, twice:
 * 1. the input as a whole file (the kind asked for is the one in its header);
 * 2. the input as the payload, wrapped in a valid header, zlib stream and
 *    CRC, so mutations reach the record parser instead of dying at the CRC.
 * Every record found is read back in full. */
#include "fuzz_util.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t kind = FD_CKPT_MODEL;
	size_t len;
	uint8_t *f;

	if (size >= 16)
		kind = (uint32_t)data[12] | (uint32_t)data[13] << 8 | (uint32_t)data[14] << 16 |
		       (uint32_t)data[15] << 24;
	check(data, size, kind);
	/* 2: a valid container around the input */
	f = fz_ckpt_wrap(data, size, FD_CKPT_MODEL, &len);
	if (f)
		check(f, len, FD_CKPT_MODEL);
	free(f);
	return 0;
}
