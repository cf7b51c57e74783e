/* libFuzzer harness: the checkpoint reader on arbitrary bytes. The kind
 * asked for is the one in the input's header, so mutations reach the
 * payload; every record found is read back in full. */
#include <stddef.h>
#include <stdint.h>

#include "io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_ckpt_reader *r = NULL;
	struct fd_err err;
	uint32_t kind = FD_CKPT_MODEL;
	size_t i, j, n;
	volatile uint8_t sink = 0;

	if (size >= 16)
		kind = (uint32_t)data[12] | (uint32_t)data[13] << 8 | (uint32_t)data[14] << 16 |
		       (uint32_t)data[15] << 24;
	if (fd_ckpt_read_mem(data, size, kind, NULL, &err, &r) != FDEN_OK)
		return 0;
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
	return 0;
}
