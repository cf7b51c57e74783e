/* libFuzzer harness: the FDEN model loader (fden_model_load: configuration,
 * every network's records, Adam moments, batch-norm statistics, RNG state,
 * standardisation) on arbitrary bytes, twice:
 * 1. the input as a whole file;
 * 2. the input as the payload of a valid model container (header, zlib,
 *    CRC), so mutations reach the loader's record checks instead of dying
 *    at the CRC.
 * The file goes through a memfd (/proc/self/fd/N): no disk. A model that
 * loads disentangles and entangles one row (zeros), so a loaded model must
 * be whole. Everything else must be refused: never a crash, a leak or an
 * allocation past what the payload holds (-rss_limit_mb catches that). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <fden/fden.h>
#include "io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const struct fden_model *m)
{
	size_t d = fden_model_dim(m), di = fden_model_ide_dim(m), ds = fden_model_sty_dim(m);
	float *z = calloc(d ? d : 1, sizeof(float)), *fi = calloc(di ? di : 1, sizeof(float));
	float *fs = calloc(ds ? ds : 1, sizeof(float));

	if (!d || !di || !ds)
		__builtin_trap();
	if (z && fi && fs && fden_disentangle(m, z, 1, fi, fs) == FDEN_OK)
		(void)!fden_entangle(m, fi, fs, 1, z);
	free(z);
	free(fi);
	free(fs);
}

static void load_bytes(const uint8_t *data, size_t size)
{
	struct fden_model *m = NULL;
	char path[64];
	int fd = memfd_create("fden-fuzz", 0);

	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (fden_model_load(path, NULL, &m) == FDEN_OK) {
		if (!m)
			__builtin_trap();
		use(m);
		fden_model_free(m);
	} else if (m) {
		__builtin_trap(); /* *out is set only on success */
	}
	close(fd);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uLongf zlen;
	uint8_t *f;

	load_bytes(data, size);
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
		load_bytes(f, 36 + zlen);
	}
	free(f);
	return 0;
}
