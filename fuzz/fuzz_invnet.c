/* libFuzzer harness: the built-in invertible networks' loaders
 * (fden_invnet_load: PCA, MLP autoencoder, conv autoencoder, ALI) on arbitrary
 * bytes, twice:
 * 1. the input as a whole file;
 * 2. the input as the payload of a valid container (header, zlib, CRC) of
 *    the kind its first byte picks, so mutations reach the loaders' record
 *    checks instead of dying at the CRC.
 * The file goes through a memfd (/proc/self/fd/N): no disk. A network that
 * loads encodes and decodes one row (zeros), so a loaded net must be whole.
 * The loaders must refuse (never crash, leak or allocate past what the
 * payload holds: -rss_limit_mb catches that) everything else. */
#include "fuzz_util.h"

#include <fden/fden.h>
#include "io/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_bytes(const uint8_t *data, size_t size)
{
	struct fden_invnet *net = NULL;
	char path[64];
	int fd = fz_memfd(data, size, path, sizeof path);

	if (fd < 0)
		return;
	if (fden_invnet_load(path, &net) == FDEN_OK) {
		size_t din = fden_invnet_input_dim(net), dz = fden_invnet_latent_dim(net);
		float *x = calloc(din, sizeof(float)), *z = calloc(dz, sizeof(float));

		if (!net || !din || !dz)
			__builtin_trap();
		if (x && z) { /* either may fail (FDEN_E_HOST on a non-finite net); never crash */
			if (fden_invnet_encode(net, x, 1, z) == FDEN_OK)
				(void)!fden_invnet_decode(net, z, 1, x);
		}
		free(x);
		free(z);
		fden_invnet_free(net);
	} else if (net) {
		__builtin_trap(); /* *out is set only on success */
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t kinds[4] = { FD_CKPT_PCA, FD_CKPT_AE, FD_CKPT_CONV, FD_CKPT_ALI };
	size_t len;
	uint8_t *f;

	load_bytes(data, size);
	if (size < 1)
		return 0;
	f = fz_ckpt_wrap(data + 1, size - 1, kinds[data[0] % 4], &len);
	if (f)
		load_bytes(f, len);
	free(f);
	return 0;
}
