/* The invertible-network handle: a copy of an ops table (host-supplied or
 * built in) with its user_data. libfden only calls encode/decode on it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "invnet/builtin.h"
#include "io/ckpt.h"

/* Size of the version-1 ops struct: everything up to and including destroy. */
#define OPS_V1_SIZE (offsetof(struct fden_invnet_ops, destroy) + sizeof(void (*)(void *)))

struct fden_invnet {
	struct fden_invnet_ops ops;
	void *user_data;
	size_t input_dim, latent_dim;
	int kind; /* enum fd_invnet_kind */
};

int fd_invnet_wrap(const struct fden_invnet_ops *ops, size_t input_dim, size_t latent_dim,
		   void *user_data, int kind, struct fd_err *err, struct fden_invnet **out)
{
	struct fden_invnet *net;

	net = fd_calloc(NULL, 1, sizeof *net);
	if (!net)
		return fd_err_set(err, FDEN_E_NOMEM, "invnet: out of memory");
	memcpy(&net->ops, ops, OPS_V1_SIZE);
	net->ops.struct_size = sizeof net->ops;
	net->user_data = user_data;
	net->input_dim = input_dim;
	net->latent_dim = latent_dim;
	net->kind = kind;
	*out = net;
	return FDEN_OK;
}

int fd_invnet_kind(const struct fden_invnet *net)
{
	return net->kind;
}

void *fd_invnet_user_data(const struct fden_invnet *net)
{
	return net->user_data;
}

FDEN_EXPORT int fden_invnet_new(const struct fden_invnet_ops *ops, size_t input_dim,
				size_t latent_dim, void *user_data, struct fden_invnet **out)
{
	size_t bytes;

	if (!ops || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_invnet_new: %s is NULL",
				  !ops ? "ops" : "out");
	if (ops->struct_size < OPS_V1_SIZE)
		return fd_err_set(NULL, FDEN_E_VERSION,
				  "fden_invnet_new: ops->struct_size %zu is smaller than the "
				  "version-1 struct (%zu bytes)",
				  ops->struct_size,
				  (size_t)OPS_V1_SIZE);
	if (ops->version != FDEN_INVNET_OPS_VERSION)
		return fd_err_set(NULL, FDEN_E_VERSION,
				  "fden_invnet_new: ops->version %u is not supported (this "
				  "library knows version %u)",
				  ops->version,
				  (unsigned)FDEN_INVNET_OPS_VERSION);
	if (!ops->encode || !ops->decode)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_invnet_new: required member ops->%s is NULL",
				  !ops->encode ? "encode" : "decode");
	if (input_dim == 0 || latent_dim == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_invnet_new: %s is 0",
				  input_dim == 0 ? "input_dim" : "latent_dim");
	if (fd_mul_overflow(input_dim, sizeof(float), &bytes) ||
	    fd_mul_overflow(latent_dim, sizeof(float), &bytes))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_invnet_new: width too large");
	return fd_invnet_wrap(ops, input_dim, latent_dim, user_data, FD_INVNET_HOST, NULL, out);
}

FDEN_EXPORT void fden_invnet_free(struct fden_invnet *net)
{
	if (!net)
		return;
	if (net->ops.destroy)
		net->ops.destroy(net->user_data);
	fd_free(NULL, net);
}

FDEN_EXPORT size_t fden_invnet_input_dim(const struct fden_invnet *net)
{
	return net ? net->input_dim : 0;
}

FDEN_EXPORT size_t fden_invnet_latent_dim(const struct fden_invnet *net)
{
	return net ? net->latent_dim : 0;
}

/* Common argument checks of the three calls. */
static int check_call(const char *fn, const struct fden_invnet *net, const void *in,
		      size_t n, const void *out1, const void *out2)
{
	size_t bytes;

	if (!net || !in || !out1 || !out2)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn,
				  !net ? "net" : !in ? "input"
						     : "output");
	if (fd_mul_overflow(n, net->input_dim > net->latent_dim ? net->input_dim : net->latent_dim, &bytes) ||
	    fd_mul_overflow(bytes, sizeof(float), &bytes))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: n = %zu rows overflow", fn, n);
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_encode(struct fden_invnet *net, const float *x, size_t n,
				   float *z)
{
	int rc = check_call("fden_invnet_encode", net, x, n, z, z);

	if (rc)
		return rc;
	if (n == 0)
		return FDEN_OK;
	rc = net->ops.encode(net->user_data, x, n, z);
	if (rc != 0)
		return fd_err_set(NULL, FDEN_E_HOST,
				  "fden_invnet_encode: the network's encode callback returned %d",
				  rc);
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_decode(struct fden_invnet *net, const float *z, size_t n,
				   float *x)
{
	int rc = check_call("fden_invnet_decode", net, z, n, x, x);

	if (rc)
		return rc;
	if (n == 0)
		return FDEN_OK;
	rc = net->ops.decode(net->user_data, z, n, x);
	if (rc != 0)
		return fd_err_set(NULL, FDEN_E_HOST,
				  "fden_invnet_decode: the network's decode callback returned %d",
				  rc);
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_encode_dist(struct fden_invnet *net, const float *x, size_t n,
					float *mu, float *log_sigma)
{
	int rc = check_call("fden_invnet_encode_dist", net, x, n, mu, log_sigma);

	if (rc)
		return rc;
	if (!net->ops.encode_dist)
		return fd_err_set(NULL, FDEN_E_UNSUPPORTED,
				  "fden_invnet_encode_dist: the network has no encode_dist "
				  "(not a distributional encoder)");
	if (n == 0)
		return FDEN_OK;
	rc = net->ops.encode_dist(net->user_data, x, n, mu, log_sigma);
	if (rc != 0)
		return fd_err_set(NULL, FDEN_E_HOST,
				  "fden_invnet_encode_dist: the network's encode_dist callback "
				  "returned %d",
				  rc);
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_save(const struct fden_invnet *net, const char *path)
{
	if (!net || !path)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_invnet_save: %s is NULL",
				  !net ? "net" : "path");
	switch (net->kind) {
	case FD_INVNET_PCA:
		return fd_pca_save(net->user_data, path, NULL);
	case FD_INVNET_AE:
		return fd_ae_save(net->user_data, path, NULL);
	case FD_INVNET_CONV:
		return fd_cae_save(net->user_data, path, NULL);
	case FD_INVNET_ALI:
		return fd_ali_save(net->user_data, path, NULL);
	}
	return fd_err_set(NULL, FDEN_E_UNSUPPORTED,
			  "fden_invnet_save: a host network cannot be saved by libfden");
}

/* The kind field of a checkpoint header (magic, u32 version, u32 kind; see
 * io/ckpt.h), so the right loader can be chosen. fd_ckpt_read re-checks all. */
static int peek_kind(const char *path, uint32_t *kind)
{
	unsigned char h[16];
	struct stat sb;
	FILE *f = fopen(path, "rb");
	size_t got;

	if (!f)
		return fd_err_set(NULL, FDEN_E_IO, "fden_invnet_load: cannot open '%s': %s", path,
				  strerror(errno));
	memset(&sb, 0, sizeof sb);
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int dir = S_ISDIR(sb.st_mode);

		fclose(f);
		return fd_err_set(NULL, FDEN_E_IO, "fden_invnet_load: '%s' %s", path,
				  dir ? "is a directory" : "is not a regular file");
	}
	got = fread(h, 1, sizeof h, f);
	fclose(f);
	if (got != sizeof h || memcmp(h, "FDENCKPT", 8) != 0)
		return fd_err_set(NULL, FDEN_E_FORMAT,
				  "fden_invnet_load: '%s' is not a libfden checkpoint", path);
	*kind = (uint32_t)h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 |
		(uint32_t)h[15] << 24;
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_load(const char *path, struct fden_invnet **out)
{
	uint32_t kind = 0;
	int rc;

	if (!path || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_invnet_load: %s is NULL",
				  !path ? "path" : "out");
	rc = peek_kind(path, &kind);
	if (rc)
		return rc;
	switch (kind) {
	case FD_CKPT_PCA:
		return fd_pca_load(path, NULL, out);
	case FD_CKPT_AE:
		return fd_ae_load(path, NULL, out);
	case FD_CKPT_CONV:
		return fd_cae_load(path, NULL, out);
	case FD_CKPT_ALI:
		return fd_ali_load(path, NULL, out);
	}
	return fd_err_set(NULL, FDEN_E_FORMAT,
			  "fden_invnet_load: '%s' holds checkpoint kind %u, not a PCA, "
			  "autoencoder, conv autoencoder or ALI network",
			  path, (unsigned)kind);
}
