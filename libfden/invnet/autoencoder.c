/* The built-in MLP autoencoder, trained with libfden's own layers:
 *   encoder  in -> hidden -> hidden -> latent   (leaky ReLU, leaky ReLU, linear)
 *   decoder  latent -> hidden -> hidden -> in   (leaky ReLU, leaky ReLU, sigmoid)
 *   loss     L = mean_{i,j} (x^_ij - x_ij)^2,  dL/dx^ = 2 (x^ - x) / (n in)
 * Adam on minibatches, the rows shuffled each epoch from the seeded RNG. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"
#include "invnet/builtin.h"
#include "invnet/fitlog.h"
#include "io/ckpt.h"
#include "kernels/rng.h"
#include "nn/adam.h"
#include "nn/mlp.h"

#define AE_INFER_ROWS 256 /* rows per inference chunk in encode/decode */
#define AE_SLOPE 0.01f

struct fd_ae {
	size_t in, hidden, latent;
	int threads;
	struct fd_mlp *enc, *dec;
};

static void ae_free(struct fd_ae *a)
{
	if (!a)
		return;
	fd_mlp_free(a->enc);
	fd_mlp_free(a->dec);
	fd_free(NULL, a);
}

static void ae_destroy(void *ud)
{
	ae_free(ud);
}

/* Build both networks, initialised from rng. */
static int ae_new(size_t in, size_t hidden, size_t latent, int threads, struct fd_rng *rng,
		  struct fd_err *err, struct fd_ae **out)
{
	struct fd_layer_spec enc_l[3] = {
		{ (int)hidden, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ (int)hidden, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ (int)latent, 1, 0, 0.0f, FD_ACT_LINEAR },
	};
	struct fd_layer_spec dec_l[3] = {
		{ (int)hidden, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ (int)hidden, 1, 0, 0.0f, FD_ACT_LEAKY },
		{ (int)in, 1, 0, 0.0f, FD_ACT_SIGMOID },
	};
	struct fd_mlp_cfg cfg = {
		.in = (int)in,
		.nlayers = 3,
		.layers = enc_l,
		.leaky_slope = AE_SLOPE,
		.drop_before = 0,
		.init = FD_INIT_HE_NORMAL,
		.init_sigma = 0.01f,
		.bn_momentum = 0.99f,
		.bn_eps = 1e-3f,
		.nthreads = threads,
	};
	struct fd_ae *a;
	int rc;

	a = fd_calloc(NULL, 1, sizeof *a);
	if (!a)
		return fd_err_set(err, FDEN_E_NOMEM, "autoencoder: out of memory");
	a->in = in;
	a->hidden = hidden;
	a->latent = latent;
	a->threads = threads;
	rc = fd_mlp_new(&cfg, "enc", NULL, rng, err, &a->enc);
	if (rc == FDEN_OK) {
		cfg.in = (int)latent;
		cfg.layers = dec_l;
		rc = fd_mlp_new(&cfg, "dec", NULL, rng, err, &a->dec);
	}
	if (rc) {
		ae_free(a);
		return rc;
	}
	*out = a;
	return FDEN_OK;
}

/* Y = net(X) in evaluation mode, AE_INFER_ROWS rows at a time. */
static int ae_infer(const struct fd_mlp *m, const float *X, size_t n, float *Y)
{
	size_t in = (size_t)fd_mlp_in(m), out = (size_t)fd_mlp_out(m);
	size_t rows = n < AE_INFER_ROWS ? n : AE_INFER_ROWS;
	float *ws = fd_malloc(NULL, fd_mlp_infer_ws(m, (int)rows) * sizeof(float));

	if (!ws) {
		fd_err_set(NULL, FDEN_E_NOMEM, "autoencoder: out of memory");
		return -1;
	}
	for (size_t r = 0; r < n; r += rows) {
		int b = (int)(n - r < rows ? n - r : rows);
		fd_mlp_infer(m, X + r * in, b, Y + r * out, ws);
	}
	fd_free(NULL, ws);
	return 0;
}

static int ae_encode(void *ud, const float *x, size_t n, float *z)
{
	return ae_infer(((struct fd_ae *)ud)->enc, x, n, z);
}

static int ae_decode(void *ud, const float *z, size_t n, float *x)
{
	return ae_infer(((struct fd_ae *)ud)->dec, z, n, x);
}

static const struct fden_invnet_ops ae_ops = {
	.struct_size = sizeof(struct fden_invnet_ops),
	.version = FDEN_INVNET_OPS_VERSION,
	.encode = ae_encode,
	.decode = ae_decode,
	.encode_dist = NULL,
	.destroy = ae_destroy,
};

FDEN_EXPORT void fden_ae_options_default(struct fden_ae_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof *opt);
	opt->struct_size = sizeof *opt;
	opt->hidden = 512;
	opt->epochs = 10;
	opt->batch = 128;
	opt->lr = 1e-3;
	opt->seed = 1;
	opt->threads = 1;
	opt->log = NULL;
	opt->log_user_data = NULL;
}

static void update_all(struct fd_mlp *m, const struct fd_adam *adam, uint64_t t)
{
	for (int i = 0; i < fd_mlp_nparams(m); i++)
		fd_adam_update(adam, fd_mlp_param(m, i), t);
}

FDEN_EXPORT int fden_invnet_fit_autoencoder(const float *x, size_t n, size_t input_dim,
					    size_t latent_dim,
					    const struct fden_ae_options *opt_in,
					    struct fden_invnet **out)
{
	const char *fn = "fden_invnet_fit_autoencoder";
	struct fden_ae_options opt;
	struct fd_ae *a = NULL;
	struct fd_rng rng;
	struct fd_adam adam;
	struct fd_err err;
	int32_t *perm = NULL;
	float *xb = NULL, *dy = NULL, *dz = NULL;
	size_t bs, total;
	uint64_t t = 0;
	double t0 = fd_fit_now();
	int rc;

	if (!x || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn, !x ? "x" : "out");
	fden_ae_options_default(&opt);
	if (opt_in) {
		if (opt_in->struct_size < sizeof opt)
			return fd_err_set(NULL, FDEN_E_VERSION,
					  "%s: opt->struct_size %zu, expected %zu (call "
					  "fden_ae_options_default first)",
					  fn,
					  opt_in->struct_size, sizeof opt);
		memcpy(&opt, opt_in, sizeof opt);
	}
	if (n < 1 || n > (size_t)INT32_MAX)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: n = %zu out of range", fn, n);
	if (input_dim == 0 || latent_dim == 0 || input_dim > (1u << 24) ||
	    latent_dim > (1u << 24))
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: input_dim %zu, latent_dim %zu out "
							"of range",
				  fn, input_dim, latent_dim);
	if (opt.hidden == 0 || opt.hidden > (1u << 24) || opt.epochs == 0 || opt.batch == 0 ||
	    opt.batch > (1u << 20) || !(opt.lr > 0 && opt.lr < 1) || opt.threads < 1)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: invalid options (hidden %zu, epochs %zu, batch %zu, lr %g, "
				  "threads %d)",
				  fn, opt.hidden, opt.epochs, opt.batch, opt.lr,
				  opt.threads);
	if (opt.threads > fd_threads_max())
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: %d threads, this machine allows at most %d (its CPUs, at "
				  "least %d)",
				  fn, opt.threads, fd_threads_max(), FD_THREADS_FLOOR);
	if (fd_mul_overflow(n, input_dim, &total) || fd_mul_overflow(total, sizeof(float), &total))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: n x input_dim overflows", fn);
	for (size_t i = 0; i < n * input_dim; i++)
		if (!isfinite(x[i]))
			return fd_err_set(NULL, FDEN_E_NONFINITE, "%s: x[%zu] is not finite", fn, i);

	bs = opt.batch < n ? opt.batch : n;
	fd_err_clear(&err);
	fd_rng_seed(&rng, opt.seed);
	rc = ae_new(input_dim, opt.hidden, latent_dim, opt.threads, &rng, &err, &a);
	if (rc)
		return fd_err_publish(&err);
	if ((rc = fd_mlp_reserve(a->enc, (int)bs, &err)) ||
	    (rc = fd_mlp_reserve(a->dec, (int)bs, &err))) {
		fd_err_publish(&err);
		goto done;
	}
	rc = FDEN_E_NOMEM;
	perm = fd_malloc(NULL, n * sizeof(int32_t));
	xb = fd_malloc(NULL, bs * input_dim * sizeof(float));
	dy = fd_malloc(NULL, bs * input_dim * sizeof(float));
	dz = fd_malloc(NULL, bs * latent_dim * sizeof(float));
	if (!perm || !xb || !dy || !dz) {
		fd_err_set(NULL, rc, "%s: out of memory", fn);
		goto done;
	}
	adam.lr = (float)opt.lr;
	adam.beta1 = 0.9f;
	adam.beta2 = 0.999f;
	adam.eps = 1e-8f;

	for (size_t ep = 0; ep < opt.epochs; ep++) {
		double sse = 0;

		fd_rng_perm(&rng, perm, (int)n);
		for (size_t r = 0; r + bs <= n; r += bs) { /* drop the ragged last batch */
			const float *z, *xh;
			float scale = 2.0f / (float)(bs * input_dim);
			double bsse = 0;

			for (size_t i = 0; i < bs; i++)
				memcpy(xb + i * input_dim, x + (size_t)perm[r + i] * input_dim,
				       input_dim * sizeof(float));
			fd_mlp_zero_grad(a->enc);
			fd_mlp_zero_grad(a->dec);
			z = fd_mlp_forward(a->enc, xb, (int)bs, &rng, NULL);
			xh = fd_mlp_forward(a->dec, z, (int)bs, &rng, NULL);
			for (size_t i = 0; i < bs * input_dim; i++) {
				float e = xh[i] - xb[i];
				bsse += (double)e * e;
				dy[i] = scale * e; /* dL/dx^ = 2 (x^ - x) / (b in) */
			}
			if (!isfinite(bsse)) {
				rc = fd_err_set(NULL, FDEN_E_NONFINITE,
						"%s: loss is not finite at epoch %zu", fn, ep + 1);
				goto done;
			}
			sse += bsse;
			fd_mlp_backward(a->dec, dy, dz, NULL);
			fd_mlp_backward(a->enc, dz, NULL, NULL);
			t++;
			update_all(a->enc, &adam, t);
			update_all(a->dec, &adam, t);
		}
		fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
			   "autoencoder epoch %zu/%zu: mse %.6f (%.1f s)", ep + 1, opt.epochs,
			   sse / (double)((n / bs) * bs * input_dim), fd_fit_now() - t0);
	}
	rc = fd_invnet_wrap(&ae_ops, input_dim, latent_dim, a, FD_INVNET_AE, NULL, out);
	if (rc == FDEN_OK)
		a = NULL;
done:
	ae_free(a);
	fd_free(NULL, perm);
	fd_free(NULL, xb);
	fd_free(NULL, dy);
	fd_free(NULL, dz);
	return rc;
}

static int put_mlp(struct fd_ckpt_writer *w, struct fd_mlp *m)
{
	int rc;

	for (int i = 0; i < fd_mlp_nparams(m); i++) {
		struct fd_param *p = fd_mlp_param(m, i);
		if ((rc = fd_ckpt_put(w, p->name, FD_CKPT_F32, p->w, p->n)))
			return rc;
	}
	for (int i = 0; i < fd_mlp_nbuffers(m); i++) {
		struct fd_buffer *b = fd_mlp_buffer(m, i);
		if ((rc = fd_ckpt_put(w, b->name, FD_CKPT_F32, b->x, b->n)))
			return rc;
	}
	return FDEN_OK;
}

static int get_mlp(struct fd_ckpt_reader *r, struct fd_mlp *m)
{
	const void *data;
	int rc;

	for (int i = 0; i < fd_mlp_nparams(m); i++) {
		struct fd_param *p = fd_mlp_param(m, i);
		if ((rc = fd_ckpt_get(r, p->name, FD_CKPT_F32, p->n, &data, NULL)))
			return rc;
		memcpy(p->w, data, p->n * sizeof(float));
	}
	for (int i = 0; i < fd_mlp_nbuffers(m); i++) {
		struct fd_buffer *b = fd_mlp_buffer(m, i);
		if ((rc = fd_ckpt_get(r, b->name, FD_CKPT_F32, b->n, &data, NULL)))
			return rc;
		memcpy(b->x, data, b->n * sizeof(float));
	}
	return FDEN_OK;
}

int fd_ae_save(const void *ud, const char *path, struct fd_err *err)
{
	const struct fd_ae *a = ud;
	struct fd_ckpt_writer *w;
	uint64_t dims[3] = { a->in, a->hidden, a->latent };
	int rc;

	rc = fd_ckpt_writer_new(FD_CKPT_AE, NULL, err, &w);
	if (rc)
		return rc;
	if ((rc = fd_ckpt_put(w, "ae.dims", FD_CKPT_U64, dims, 3)) ||
	    (rc = put_mlp(w, a->enc)) || (rc = put_mlp(w, a->dec))) {
		fd_ckpt_writer_free(w);
		return rc;
	}
	return fd_ckpt_write(w, path);
}

int fd_ae_load(const char *path, struct fd_err *err, struct fden_invnet **out)
{
	struct fd_ckpt_reader *r;
	const void *data;
	const uint64_t *dims;
	struct fd_ae *a = NULL;
	struct fd_rng rng;
	int rc;

	rc = fd_ckpt_read(path, FD_CKPT_AE, NULL, err, &r);
	if (rc)
		return rc;
	if ((rc = fd_ckpt_get(r, "ae.dims", FD_CKPT_U64, 3, &data, NULL)))
		goto out;
	dims = data;
	if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 || dims[0] > (1u << 24) ||
	    dims[1] > (1u << 24) || dims[2] > (1u << 24)) {
		rc = fd_err_set(err, FDEN_E_FORMAT, "'%s': bad autoencoder sizes", path);
		goto out;
	}
	{ /* the six weight matrices present with the claimed sizes before
	   * building (and allocating) the networks; get_mlp checks the rest */
		const size_t in = (size_t)dims[0], h = (size_t)dims[1], l = (size_t)dims[2];
		const struct {
			const char *name;
			size_t n;
		} need[6] = {
			{ "enc.0.w", in * h },
			{ "enc.1.w", h * h },
			{ "enc.2.w", h * l },
			{ "dec.0.w", l * h },
			{ "dec.1.w", h * h },
			{ "dec.2.w", h * in },
		};

		for (int i = 0; i < 6; i++)
			if ((rc = fd_ckpt_get(r, need[i].name, FD_CKPT_F32, need[i].n, &data, NULL)))
				goto out;
	}
	fd_rng_seed(&rng, 0);
	if ((rc = ae_new(dims[0], dims[1], dims[2], 1, &rng, err, &a)))
		goto out;
	if ((rc = get_mlp(r, a->enc)) || (rc = get_mlp(r, a->dec)))
		goto out;
	rc = fd_invnet_wrap(&ae_ops, a->in, a->latent, a, FD_INVNET_AE, err, out);
	if (rc == FDEN_OK)
		a = NULL;
out:
	ae_free(a);
	fd_ckpt_reader_free(r);
	return rc;
}
