/* The built-in convolutional autoencoder, on channels-last images
 * (H x W x C rows), trained with libfden's own conv layers (nn/convnet.h):
 *   encoder  L times conv 4x4 stride 2 pad 1 (B, 2B, 4B, ... channels;
 *            batch norm, leaky ReLU), flatten, dense -> latent (linear)
 *   decoder  dense latent -> the last conv's h x w x c (batch norm, leaky
 *            ReLU), L times convT 4x4 stride 2 pad 1 back up (output
 *            padding restores odd sizes; batch norm, leaky ReLU; the last
 *            one to C channels with a bias), sigmoid
 * The decoder net ends in the logits u; x^ = sigmoid(u) is applied here,
 * so each loss has its gradient w.r.t. u in closed form:
 *   L2   L = mean (x^ - x)^2,                     dL/du = 2 (x^ - x) x^ (1 - x^) / (b in)
 *   BCE  L = -mean x log x^ + (1 - x) log(1 - x^), dL/du = (x^ - x) / (b in)
 * Adam on minibatches, rows shuffled each epoch from the seeded RNG; an
 * optional time budget ends fitting after the step that passes it.
 *
 * Contrastive term (opt->contrast = w > 0; SimCLR, Chen et al. 2020): the
 * batch X (b rows) is stacked over a warped copy X' (nn/warp.h), the
 * encoder runs once on the 2b rows, the decoder on the first b, and a
 * projection head g (dense 256, batch norm, ReLU, dense 64) on all 2b:
 *   L = rec(X) + w InfoNCE(g(z), tau)               (nn/infonce.h)
 * so dz of a clean row is its reconstruction gradient plus the head's, and
 * of a warped row the head's alone. The head is dropped after the fit. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "invnet/builtin.h"
#include "invnet/fitlog.h"
#include "invnet/netrec.h"
#include "io/ckpt.h"
#include "kernels/rng.h"
#include "nn/adam.h"
#include "nn/convnet.h"
#include "nn/infonce.h"
#include "nn/mlp.h"
#include "nn/warp.h"

#define CAE_INFER_ROWS 128
#define CAE_SLOPE 0.2f
#define CAE_MAX_LEVELS 6
#define CAE_NDIMS 7 /* h, w, c, latent, base, levels, loss */
#define CAE_PROJ_HIDDEN 256
#define CAE_PROJ_OUT 64

struct fd_cae {
	size_t h, w, c, latent, base, levels;
	int loss, threads;
	struct fd_convnet *enc, *dec;
};

static void cae_free(struct fd_cae *a)
{
	if (!a)
		return;
	fd_convnet_free(a->enc);
	fd_convnet_free(a->dec);
	fd_free(NULL, a);
}

static void cae_destroy(void *ud)
{
	cae_free(ud);
}

/* The two nets' configurations (specs in enc_l / dec_l). */
static int cae_cfgs(const size_t d[CAE_NDIMS], int threads, struct fd_cl_spec *enc_l,
		    struct fd_cl_spec *dec_l, struct fd_convnet_cfg *ec, struct fd_convnet_cfg *dc,
		    struct fd_err *err)
{
	int hs[CAE_MAX_LEVELS + 1], ws[CAE_MAX_LEVELS + 1], L = (int)d[5], base = (int)d[4];
	struct fd_convnet_cfg c0 = {
		.leaky_slope = CAE_SLOPE,
		.init = FD_INIT_HE_NORMAL,
		.init_sigma = 0.02f,
		.bn_momentum = 0.9f,
		.bn_eps = 1e-5f,
		.nthreads = threads,
	};

	if (d[0] < 1 || d[1] < 1 || d[2] < 1 || d[0] > 4096 || d[1] > 4096 || d[2] > 64 ||
	    d[3] < 1 || d[3] > (1u << 16) || d[4] < 1 || d[4] > 1024 || L < 1 ||
	    L > CAE_MAX_LEVELS || d[6] > 1 || (base << (L - 1)) > 4096)
		return fd_err_set(err, FDEN_E_INVALID,
				  "conv autoencoder: bad shape or sizes (%zu x %zu x %zu, latent "
				  "%zu, channels %zu, levels %zu, loss %zu)",
				  d[0], d[1], d[2], d[3],
				  d[4], d[5], d[6]);
	hs[0] = (int)d[0];
	ws[0] = (int)d[1];
	for (int l = 0; l < L; l++) {
		if (hs[l] < 2 || ws[l] < 2)
			return fd_err_set(err, FDEN_E_INVALID, "conv autoencoder: %zu x %zu is too "
							       "small for %d stride-2 levels",
					  d[0], d[1], L);
		hs[l + 1] = hs[l] / 2; /* (h + 2 - 4) / 2 + 1 */
		ws[l + 1] = ws[l] / 2;
	}
	*ec = c0;
	*dc = c0;
	for (int l = 0; l < L; l++) {
		struct fd_cl_spec e = { FD_CL_CONV, base << l, 4, 2, 1, 0, 0, 0, 0, 1, FD_ACT_LEAKY };
		int up = L - 1 - l; /* decoder layer l + 1 restores level `up` */
		struct fd_cl_spec t = { FD_CL_CONVT, up > 0 ? base << (up - 1) : (int)d[2], 4, 2, 1,
					hs[up] - 2 * hs[up + 1], 0, 0, 1, up > 0, up > 0 ? FD_ACT_LEAKY : FD_ACT_LINEAR };
		if (hs[up] - 2 * hs[up + 1] != ws[up] - 2 * ws[up + 1]) {
			/* opad is one value for both axes: both parities must agree */
			return fd_err_set(err, FDEN_E_INVALID, "conv autoencoder: %zu x %zu: height "
							       "and width must halve alike (both even or both odd at "
							       "each level)",
					  d[0], d[1]);
		}
		enc_l[l] = e;
		dec_l[l + 1] = t;
	}
	{
		struct fd_cl_spec z = { FD_CL_DENSE, (int)d[3], 0, 0, 0, 0, 0, 0, 1, 0, FD_ACT_LINEAR };
		struct fd_cl_spec u = { FD_CL_DENSE, base << (L - 1), 0, 0, 0, 0, hs[L], ws[L], 0, 1,
					FD_ACT_LEAKY };
		enc_l[L] = z;
		dec_l[0] = u;
	}
	ec->h = (int)d[0];
	ec->w = (int)d[1];
	ec->c = (int)d[2];
	ec->nlayers = L + 1;
	ec->layers = enc_l;
	dc->h = 1;
	dc->w = 1;
	dc->c = (int)d[3];
	dc->nlayers = L + 1;
	dc->layers = dec_l;
	return FDEN_OK;
}

/* Build both nets from d[] (h, w, c, latent, base, levels, loss). */
static int cae_new(const size_t d[CAE_NDIMS], int threads, struct fd_rng *rng,
		   struct fd_err *err, struct fd_cae **out)
{
	struct fd_cl_spec enc_l[CAE_MAX_LEVELS + 1], dec_l[CAE_MAX_LEVELS + 1];
	struct fd_convnet_cfg ec, dc;
	struct fd_cae *a;
	int rc;

	if ((rc = cae_cfgs(d, threads, enc_l, dec_l, &ec, &dc, err)))
		return rc;
	a = fd_calloc(NULL, 1, sizeof *a);
	if (!a)
		return fd_err_set(err, FDEN_E_NOMEM, "conv autoencoder: out of memory");
	a->h = d[0];
	a->w = d[1];
	a->c = d[2];
	a->latent = d[3];
	a->base = d[4];
	a->levels = d[5];
	a->loss = (int)d[6];
	a->threads = threads;
	rc = fd_convnet_new(&ec, "enc", NULL, rng, err, &a->enc);
	if (rc == FDEN_OK)
		rc = fd_convnet_new(&dc, "dec", NULL, rng, err, &a->dec);
	if (rc) {
		cae_free(a);
		return rc;
	}
	*out = a;
	return FDEN_OK;
}

static void sigmoid_rows(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f / (1.0f + expf(-x[i])); /* 1 / (1 + e^-u) */
}

/* Y = net(X) in evaluation mode, CAE_INFER_ROWS rows at a time; refuses
 * non-finite inputs. */
static int cae_infer(const struct fd_cae *a, const struct fd_convnet *m, const float *X,
		     size_t n, float *Y, int sigmoid)
{
	const struct fd_convnet_plan *p = fd_convnet_get_plan(m);
	size_t rows = n < CAE_INFER_ROWS ? n : CAE_INFER_ROWS;
	float *ws;

	(void)a;
	for (size_t i = 0; i < n * p->in; i++)
		if (!isfinite(X[i])) {
			fd_err_set(NULL, FDEN_E_NONFINITE, "conv autoencoder: input element %zu "
							   "is not finite",
				   i);
			return -2;
		}
	ws = fd_malloc(NULL, fd_convnet_infer_ws(m, (int)rows) * sizeof(float));
	if (!ws) {
		fd_err_set(NULL, FDEN_E_NOMEM, "conv autoencoder: out of memory");
		return -1;
	}
	for (size_t r = 0; r < n; r += rows) {
		int b = (int)(n - r < rows ? n - r : rows);
		fd_convnet_infer(m, X + r * p->in, b, Y + r * p->out, ws);
	}
	fd_free(NULL, ws);
	if (sigmoid)
		sigmoid_rows(Y, n * p->out);
	return 0;
}

static int cae_encode(void *ud, const float *x, size_t n, float *z)
{
	struct fd_cae *a = ud;

	return cae_infer(a, a->enc, x, n, z, 0);
}

static int cae_decode(void *ud, const float *z, size_t n, float *x)
{
	struct fd_cae *a = ud;

	return cae_infer(a, a->dec, z, n, x, 1);
}

static const struct fden_invnet_ops cae_ops = {
	.struct_size = sizeof(struct fden_invnet_ops),
	.version = FDEN_INVNET_OPS_VERSION,
	.encode = cae_encode,
	.decode = cae_decode,
	.encode_dist = NULL,
	.destroy = cae_destroy,
};

FDEN_EXPORT void fden_conv_options_default(struct fden_conv_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof *opt);
	opt->struct_size = sizeof *opt;
	opt->height = 0;
	opt->width = 0;
	opt->channels = 1;
	opt->base_channels = 32;
	opt->levels = 2;
	opt->epochs = 20;
	opt->batch = 64;
	opt->lr = 2e-3;
	opt->loss = FDEN_CONV_LOSS_L2;
	opt->seed = 1;
	opt->threads = 1;
	opt->time_budget = 0;
	opt->contrast = 0.1;
	opt->contrast_tau = 0.2;
	opt->aug_rotation = 10;
	opt->aug_scale = 0.1;
	opt->aug_shift = 2;
}

/* The contrastive term's projection head: latent -> 256 (batch norm, ReLU)
 * -> 64 (linear, bias). */
static int cae_head_new(size_t latent, int threads, struct fd_rng *rng, struct fd_err *err,
			struct fd_convnet **out)
{
	static const struct fd_cl_spec layers[2] = {
		{ FD_CL_DENSE, CAE_PROJ_HIDDEN, 0, 0, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
		{ FD_CL_DENSE, CAE_PROJ_OUT, 0, 0, 0, 0, 0, 0, 1, 0, FD_ACT_LINEAR },
	};
	struct fd_convnet_cfg c = {
		.h = 1,
		.w = 1,
		.c = (int)latent,
		.nlayers = 2,
		.layers = layers,
		.leaky_slope = 0.0f, /* ReLU */
		.init = FD_INIT_HE_NORMAL,
		.init_sigma = 0.02f,
		.bn_momentum = 0.9f,
		.bn_eps = 1e-5f,
		.nthreads = threads,
	};

	return fd_convnet_new(&c, "proj", NULL, rng, err, out);
}

static void update_all(struct fd_convnet *m, const struct fd_adam *adam, uint64_t t)
{
	for (int i = 0; i < fd_convnet_nparams(m); i++)
		fd_adam_update(adam, fd_convnet_param(m, i), t);
}

/* The loss of one batch and dL/du into dy; returns the batch's summed loss. */
static double loss_grad(int loss, const float *u, const float *x, size_t cnt, float *xh,
			float *dy)
{
	float scale = 1.0f / (float)cnt;
	double s = 0;

	for (size_t i = 0; i < cnt; i++) {
		float p = 1.0f / (1.0f + expf(-u[i])), e = p - x[i]; /* x^ = sigmoid(u) */
		xh[i] = p;
		if (loss == FDEN_CONV_LOSS_BCE) {
			/* -(x log p + (1 - x) log(1 - p)), log p = -softplus(-u) */
			float lp = -log1pf(expf(-fabsf(u[i]))) - (u[i] < 0 ? -u[i] : 0.0f);
			float lq = lp - u[i]; /* log(1 - p) = log p - u */
			s -= (double)x[i] * lp + (1.0 - x[i]) * lq;
			dy[i] = scale * e; /* (p - x) / (b in) */
		} else {
			s += (double)e * e;
			dy[i] = 2.0f * scale * e * p * (1.0f - p); /* 2 (p - x) p (1 - p) / (b in) */
		}
	}
	return s;
}

/* One step on the batch xb (bs rows); returns the batch's summed loss. */
static double cae_step(struct fd_cae *a, const float *xb, size_t bs, float *xh, float *dy,
		       float *dz, const struct fd_adam *adam, uint64_t t)
{
	size_t in = a->h * a->w * a->c;
	const float *z, *u;
	double s;

	fd_convnet_zero_grad(a->enc);
	fd_convnet_zero_grad(a->dec);
	z = fd_convnet_forward(a->enc, xb, (int)bs);
	u = fd_convnet_forward(a->dec, z, (int)bs);
	s = loss_grad(a->loss, u, xb, bs * in, xh, dy);
	fd_convnet_backward(a->dec, dy, (int)in, dz);
	fd_convnet_backward(a->enc, dz, (int)a->latent, NULL);
	update_all(a->enc, adam, t);
	update_all(a->dec, adam, t);
	return s;
}

/* The contrastive term's state: the head, its optimiser steps share the
 * autoencoder's Adam, and the buffers of one step (library memory). */
struct cae_nce {
	struct fd_convnet *head;
	struct fd_warp warp;
	struct fd_rng *rng;
	float w, tau;
	float *x2;  /* 2b x in: the batch, then its warped views */
	float *dz2; /* 2b x latent */
	float *dh;  /* 2b x CAE_PROJ_OUT */
	float *ws;  /* fd_infonce_ws(2b, CAE_PROJ_OUT) */
};

/* One contrastive step on the batch xb (bs rows); the summed reconstruction
 * loss is returned, the InfoNCE loss (unweighted) goes to *nce. */
static double cae_step_nce(struct fd_cae *a, struct cae_nce *c, const float *xb, size_t bs,
			   float *xh, float *dy, float *dz, const struct fd_adam *adam,
			   uint64_t t, double *nce)
{
	size_t in = a->h * a->w * a->c, L = a->latent;
	const float *z, *u, *hp;
	double s;

	fd_convnet_zero_grad(a->enc);
	fd_convnet_zero_grad(a->dec);
	fd_convnet_zero_grad(c->head);
	memcpy(c->x2, xb, bs * in * sizeof(float));
	fd_warp_batch(xb, (int)bs, (int)a->h, (int)a->w, (int)a->c, &c->warp, c->rng,
		      c->x2 + bs * in);
	z = fd_convnet_forward(a->enc, c->x2, (int)(2 * bs));
	u = fd_convnet_forward(a->dec, z, (int)bs);
	s = loss_grad(a->loss, u, xb, bs * in, xh, dy);
	hp = fd_convnet_forward(c->head, z, (int)(2 * bs));
	*nce = fd_infonce(hp, (int)(2 * bs), CAE_PROJ_OUT, c->tau, c->w, c->dh, c->ws,
			  a->threads);
	fd_convnet_backward(c->head, c->dh, CAE_PROJ_OUT, c->dz2);
	fd_convnet_backward(a->dec, dy, (int)in, dz);
	for (size_t i = 0; i < bs * L; i++) /* clean rows: both gradients */
		c->dz2[i] += dz[i];
	fd_convnet_backward(a->enc, c->dz2, (int)L, NULL);
	update_all(a->enc, adam, t);
	update_all(a->dec, adam, t);
	update_all(c->head, adam, t);
	return s;
}

/* The options, checked, with the input shape resolved from input_dim. */
static int check_opts(const char *fn, const struct fden_conv_options *in, size_t input_dim,
		      struct fden_conv_options *o)
{
	fden_conv_options_default(o);
	if (in) {
		if (in->struct_size < sizeof *o)
			return fd_err_set(NULL, FDEN_E_VERSION,
					  "%s: opt->struct_size %zu, expected %zu (call "
					  "fden_conv_options_default first)",
					  fn, in->struct_size,
					  sizeof *o);
		memcpy(o, in, sizeof *o);
	}
	if (o->channels == 0 || o->channels > 64)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: channels %zu out of range", fn,
				  o->channels);
	if (o->height == 0 && o->width == 0) { /* square: h = w = sqrt(input_dim / c) */
		size_t s = (size_t)llround(sqrt((double)(input_dim / o->channels)));
		o->height = o->width = s;
	}
	if (o->height * o->width * o->channels != input_dim || o->height == 0 || o->width == 0)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: shape %zu x %zu x %zu does not match input_dim %zu", fn,
				  o->height, o->width, o->channels, input_dim);
	if (o->epochs == 0 || o->batch == 0 || o->batch > 4096 || !(o->lr > 0 && o->lr < 1) ||
	    o->threads < 1 || (o->loss != FDEN_CONV_LOSS_L2 && o->loss != FDEN_CONV_LOSS_BCE) ||
	    !(o->time_budget >= 0) || o->base_channels == 0 || o->levels == 0)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: invalid options (epochs %zu, batch %zu, lr %g, threads %d, "
				  "loss %d, time budget %g, channels %zu, levels %zu)",
				  fn, o->epochs,
				  o->batch, o->lr, o->threads, o->loss, o->time_budget,
				  o->base_channels, o->levels);
	if (!(o->contrast >= 0 && o->contrast <= 1e3) ||
	    !(o->contrast_tau >= 1e-3 && o->contrast_tau <= 1e3) ||
	    !(o->aug_rotation >= 0 && o->aug_rotation <= 180) ||
	    !(o->aug_scale >= 0 && o->aug_scale < 1) ||
	    !(o->aug_shift >= 0 && o->aug_shift <= 1e4))
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: invalid contrastive options (contrast %g in [0, 1000], tau "
				  "%g in [0.001, 1000], rotation %g in [0, 180], scale %g in "
				  "[0, 1), shift %g in [0, 10000])",
				  fn, o->contrast, o->contrast_tau, o->aug_rotation,
				  o->aug_scale, o->aug_shift);
	if (o->contrast > 0 && o->batch < 2)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: the contrastive term needs a batch of at least 2", fn);
	return FDEN_OK;
}

FDEN_EXPORT int fden_invnet_fit_conv(const float *x, size_t n, size_t input_dim,
				     size_t latent_dim, const struct fden_conv_options *opt_in,
				     struct fden_invnet **out)
{
	const char *fn = "fden_invnet_fit_conv";
	struct fden_conv_options opt;
	struct fd_cae *a = NULL;
	struct fd_rng rng;
	struct fd_adam adam;
	struct fd_err err;
	struct cae_nce nce = { 0 };
	int32_t *perm = NULL;
	float *xb = NULL, *xh = NULL, *dy = NULL, *dz = NULL;
	size_t bs, total, d[CAE_NDIMS], steps = 0;
	uint64_t t = 0;
	double t0 = fd_fit_now();
	int rc, stop = 0;

	if (!x || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn, !x ? "x" : "out");
	if (n < 1 || n > (size_t)INT32_MAX || input_dim == 0 || input_dim > (1u << 24) ||
	    latent_dim == 0 || latent_dim > (1u << 16))
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: n %zu, input_dim %zu, latent_dim %zu "
							"out of range",
				  fn, n, input_dim, latent_dim);
	if ((rc = check_opts(fn, opt_in, input_dim, &opt)))
		return rc;
	if (fd_mul_overflow(n, input_dim, &total) || fd_mul_overflow(total, sizeof(float), &total))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: n x input_dim overflows", fn);
	for (size_t i = 0; i < n * input_dim; i++)
		if (!isfinite(x[i]))
			return fd_err_set(NULL, FDEN_E_NONFINITE, "%s: x[%zu] is not finite", fn, i);

	d[0] = opt.height;
	d[1] = opt.width;
	d[2] = opt.channels;
	d[3] = latent_dim;
	d[4] = opt.base_channels;
	d[5] = opt.levels;
	d[6] = (size_t)opt.loss;
	bs = opt.batch < n ? opt.batch : n;
	fd_err_clear(&err);
	fd_rng_seed(&rng, opt.seed);
	if ((rc = cae_new(d, opt.threads, &rng, &err, &a)))
		return fd_err_publish(&err);
	if (opt.contrast > 0 && bs < 2) {
		rc = fd_err_set(NULL, FDEN_E_INVALID, "%s: the contrastive term needs at least 2 "
						      "rows",
				fn);
		goto done;
	}
	if (opt.contrast > 0) {
		nce.w = (float)opt.contrast;
		nce.tau = (float)opt.contrast_tau;
		nce.warp.rot_deg = (float)opt.aug_rotation;
		nce.warp.scale = (float)opt.aug_scale;
		nce.warp.shift = (float)opt.aug_shift;
		nce.rng = &rng;
		if ((rc = cae_head_new(latent_dim, opt.threads, &rng, &err, &nce.head)) ||
		    (rc = fd_convnet_reserve(nce.head, (int)(2 * bs), &err))) {
			fd_err_publish(&err);
			goto done;
		}
	}
	if ((rc = fd_convnet_reserve(a->enc, (int)(nce.head ? 2 * bs : bs), &err)) ||
	    (rc = fd_convnet_reserve(a->dec, (int)bs, &err))) {
		fd_err_publish(&err);
		goto done;
	}
	rc = FDEN_E_NOMEM;
	if (nce.head) {
		nce.x2 = fd_malloc(NULL, 2 * bs * input_dim * sizeof(float));
		nce.dz2 = fd_malloc(NULL, 2 * bs * latent_dim * sizeof(float));
		nce.dh = fd_malloc(NULL, 2 * bs * CAE_PROJ_OUT * sizeof(float));
		nce.ws = fd_malloc(NULL, fd_infonce_ws((int)(2 * bs), CAE_PROJ_OUT) *
						 sizeof(float));
		if (!nce.x2 || !nce.dz2 || !nce.dh || !nce.ws) {
			fd_err_set(NULL, rc, "%s: out of memory", fn);
			goto done;
		}
	}
	perm = fd_malloc(NULL, n * sizeof(int32_t));
	xb = fd_malloc(NULL, bs * input_dim * sizeof(float));
	xh = fd_malloc(NULL, bs * input_dim * sizeof(float));
	dy = fd_malloc(NULL, bs * input_dim * sizeof(float));
	dz = fd_malloc(NULL, bs * latent_dim * sizeof(float));
	if (!perm || !xb || !xh || !dy || !dz) {
		fd_err_set(NULL, rc, "%s: out of memory", fn);
		goto done;
	}
	adam.lr = (float)opt.lr;
	adam.beta1 = 0.9f;
	adam.beta2 = 0.999f;
	adam.eps = 1e-8f;

	for (size_t ep = 0; ep < opt.epochs && !stop; ep++) {
		double sum = 0, nsum = 0;
		size_t nb = 0;

		fd_rng_perm(&rng, perm, (int)n);
		for (size_t r = 0; r + bs <= n; r += bs) { /* drop the ragged last batch */
			double s;

			for (size_t i = 0; i < bs; i++)
				memcpy(xb + i * input_dim, x + (size_t)perm[r + i] * input_dim,
				       input_dim * sizeof(float));
			if (nce.head) {
				double l;

				s = cae_step_nce(a, &nce, xb, bs, xh, dy, dz, &adam, ++t, &l);
				nsum += l;
				if (!isfinite(l))
					s = l;
			} else {
				s = cae_step(a, xb, bs, xh, dy, dz, &adam, ++t);
			}
			if (!isfinite(s)) {
				rc = fd_err_set(NULL, FDEN_E_NONFINITE,
						"%s: loss is not finite at epoch %zu", fn, ep + 1);
				goto done;
			}
			sum += s;
			nb++;
			steps++;
			if (opt.time_budget > 0 && fd_fit_now() - t0 >= opt.time_budget) {
				stop = 1;
				break;
			}
		}
		if (nce.head)
			fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
				   "conv autoencoder epoch %zu/%zu: %s %.6f nce %.4f (%.1f s)%s",
				   ep + 1, opt.epochs,
				   opt.loss == FDEN_CONV_LOSS_BCE ? "bce" : "mse",
				   sum / (double)(nb * bs * input_dim), nsum / (double)nb,
				   fd_fit_now() - t0, stop ? ", time budget reached" : "");
		else
			fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
				   "conv autoencoder epoch %zu/%zu: %s %.6f (%.1f s)%s",
				   ep + 1, opt.epochs,
				   opt.loss == FDEN_CONV_LOSS_BCE ? "bce" : "mse",
				   sum / (double)(nb * bs * input_dim), fd_fit_now() - t0,
				   stop ? ", time budget reached" : "");
	}
	rc = fd_invnet_wrap(&cae_ops, input_dim, latent_dim, a, FD_INVNET_CONV, NULL, out);
	if (rc == FDEN_OK)
		a = NULL;
done:
	cae_free(a);
	fd_convnet_free(nce.head);
	fd_free(NULL, nce.x2);
	fd_free(NULL, nce.dz2);
	fd_free(NULL, nce.dh);
	fd_free(NULL, nce.ws);
	fd_free(NULL, perm);
	fd_free(NULL, xb);
	fd_free(NULL, xh);
	fd_free(NULL, dy);
	fd_free(NULL, dz);
	return rc;
}

/* ---- checkpoint: "conv.dims" (u64 x 7), then every tensor by name ---- */

int fd_cae_save(const void *ud, const char *path, struct fd_err *err)
{
	const struct fd_cae *a = ud;
	struct fd_ckpt_writer *w;
	uint64_t dims[CAE_NDIMS] = { a->h, a->w, a->c, a->latent, a->base, a->levels,
				     (uint64_t)a->loss };
	int rc;

	rc = fd_ckpt_writer_new(FD_CKPT_CONV, NULL, err, &w);
	if (rc)
		return rc;
	if ((rc = fd_ckpt_put(w, "conv.dims", FD_CKPT_U64, dims, CAE_NDIMS)) ||
	    (rc = fd_netrec_put(w, a->enc)) || (rc = fd_netrec_put(w, a->dec))) {
		fd_ckpt_writer_free(w);
		return rc;
	}
	return fd_ckpt_write(w, path);
}

int fd_cae_load_reader(struct fd_ckpt_reader *r, const char *what, struct fd_err *err,
		       struct fden_invnet **out)
{
	struct fd_cl_spec enc_l[CAE_MAX_LEVELS + 1], dec_l[CAE_MAX_LEVELS + 1];
	struct fd_convnet_cfg ec, dc;
	const void *data;
	const uint64_t *u;
	size_t d[CAE_NDIMS];
	struct fd_cae *a = NULL;
	struct fd_rng rng;
	int rc;

	if ((rc = fd_ckpt_get(r, "conv.dims", FD_CKPT_U64, CAE_NDIMS, &data, NULL)))
		return rc;
	u = data;
	for (int i = 0; i < CAE_NDIMS; i++)
		d[i] = u[i] > (1u << 20) ? (size_t)1 << 30 : (size_t)u[i]; /* rejected below */
	if (cae_cfgs(d, 1, enc_l, dec_l, &ec, &dc, err))
		return fd_err_set(err, FDEN_E_FORMAT, "%s: bad conv autoencoder sizes", what);
	if ((rc = fd_netrec_check(r, &ec, "enc", "conv autoencoder", err)) ||
	    (rc = fd_netrec_check(r, &dc, "dec", "conv autoencoder", err)))
		return rc;
	fd_rng_seed(&rng, 0);
	if ((rc = cae_new(d, 1, &rng, err, &a)))
		return rc;
	if ((rc = fd_netrec_get(r, a->enc)) || (rc = fd_netrec_get(r, a->dec)))
		goto out;
	rc = fd_invnet_wrap(&cae_ops, a->h * a->w * a->c, a->latent, a, FD_INVNET_CONV, err, out);
	if (rc == FDEN_OK)
		a = NULL;
out:
	cae_free(a);
	return rc;
}

int fd_cae_load(const char *path, struct fd_err *err, struct fden_invnet **out)
{
	struct fd_ckpt_reader *r;
	int rc;

	rc = fd_ckpt_read(path, FD_CKPT_CONV, NULL, err, &r);
	if (rc)
		return rc;
	rc = fd_cae_load_reader(r, path, err, out);
	fd_ckpt_reader_free(r);
	return rc;
}
