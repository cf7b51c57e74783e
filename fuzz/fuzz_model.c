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
#include "fuzz_util.h"

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
	int fd = fz_memfd(data, size, path, sizeof path);

	if (fd < 0)
		return;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t *f;

	load_bytes(data, size);
	f = fz_ckpt_wrap(data, size, FD_CKPT_MODEL, &len);
	if (f)
		load_bytes(f, len);
	free(f);
	return 0;
}
