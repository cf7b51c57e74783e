/* libFuzzer harness: the IDX reader (plain or gzip bytes), as data and as
 * labels; every value handed back is read. */
#include <stddef.h>
#include <stdint.h>

#include "io/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fd_array a;
	struct fd_err err;
	volatile float fs = 0;
	volatile int32_t is = 0;
	size_t i;

	if (fd_idx_read_mem(data, size, "fuzz", FD_ARRAY_FLOAT, 1.0 / 255, NULL, &err, &a) ==
	    FDEN_OK) {
		if (!a.f32 || a.rows == 0 || a.cols == 0)
			__builtin_trap();
		for (i = 0; i < a.rows * a.cols; i++)
			fs += a.f32[i];
		fd_array_free(&a, NULL);
	}
	if (fd_idx_read_mem(data, size, "fuzz", FD_ARRAY_LABELS, 1.0, NULL, &err, &a) == FDEN_OK) {
		if (!a.i32 || a.cols != 1)
			__builtin_trap();
		for (i = 0; i < a.rows; i++)
			is ^= a.i32[i];
		fd_array_free(&a, NULL);
	}
	(void)fs;
	(void)is;
	return 0;
}
