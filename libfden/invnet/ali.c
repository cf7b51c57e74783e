/* The built-in ALI host (Dumoulin et al. 2016, "Adversarially Learned
 * Inference"), on channels-last images (H x W x C rows), with libfden's
 * own layers: the paper's SVHN model (its Appendix A) scaled to the input
 * by B = base channels (the paper: B = 32, 32x32x3):
 *   G_z  conv 5 (B) . 4/2 (2B) . 4 (4B) . 4/2 (8B) . dense 16B . dense 16B
 *        . dense 2 Dim (bias, linear) = [mu | log sigma]; batch norm and
 *        leaky ReLU 0.01 after every layer but the last
 *   G_x  dense Dim -> h4 x w4 x 8B . convT 4/2 (4B) . 4 (2B) . 4/2 (B) .
 *        5 (B) . conv 1 (B) . conv 1 (C, linear) ; + per-pixel bias b
 *        (started at the data's log-odds, as ALI's untied output bias);
 *        sigmoid or tanh
 *   D    D_x: conv 5 (B, bias) . 4/2 (2B) . 4 (4B) . 4/2 (8B) . dense 16B
 *        (batch norm from the second layer, as ALI's); D_z: dense 16B .
 *        16B (bias); joint on [D_x | D_z]: dense 32B . 32B . 1 (logit s).
 *        Dropout (ALI: 0.2) on D_x's input, on D_z's input and on the input
 *        of every joint layer; ALI also drops the inputs of D_x's inner
 *        convolutions, which libfden's conv container has no place for.
 * A valid convolution of the 28x28 case: 28 -> 24 -> 11 -> 8 -> 3 (x 8B),
 * the transposed ones back 3 -> 8 -> 11 -> 24 -> 28 (output padding
 * restores odd sizes).
 *
 * One step on a batch x (n rows), z ~ N(0, I), eps ~ N(0, I):
 *   u = G_z(x), z^ = mu + exp(ls) eps;  x~ = G_x(z);  [x^ = G_x(z^)]
 *   D scores the 2n pairs [(x, z^); (x~, z)] in one batch (so its batch
 *   norm sees both, as ALI's), logits s_r, s_f
 *   L_D = mean softplus(-s_r) + softplus(s_f)
 *   L_G = mean softplus(s_r) + softplus(-s_f) + w mean_i ||x_i - x^_i||^2
 *   (x^ only with w > 0: G_x then runs the 2n rows [z; z^]).
 * Both losses' gradients at the same parameters (D's backward twice: with
 * dL_G/ds for the input gradients into G_x and G_z, then with dL_D/ds for
 * D's own), then Adam on all (ALI's simultaneous update). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "invnet/ali.h"
#include "invnet/builtin.h"
#include "invnet/fitlog.h"
#include "invnet/netrec.h"
#include "io/ckpt.h"
#include "kernels/rng.h"
#include "kernels/vec.h"
#include "nn/adam.h"
#include "nn/convnet.h"
#include "nn/dropout.h"
#include "nn/mlp.h"

#define ALI_SLOPE 0.01f /* Blocks' LeakyRectifier, which ALI uses */
#define ALI_INIT 0.01f  /* ALI: isotropic Gaussian, std 0.01 */
#define ALI_INFER_ROWS 128
#define ALI_EVAL_ROWS 256 /* rows of the per-epoch reconstruction figure */
#define ALI_GZ 7
#define ALI_GX 7
#define ALI_DX 5
#define PAD 16

struct fd_ali {
	size_t h, w, c, latent, base, in;
	int out_act; /* enum fden_ali_output */
	int threads, has_d;
	float drop;
	const struct fden_allocator *alloc;
	struct fden_allocator alloc_copy;
	struct fd_convnet *gz, *gx, *dx;
	struct fd_mlp *dz, *dj;
	struct fd_param pixb;
	float *pixb_block;
	/* step workspace (fd_ali_reserve) */
	int cap, cap_l2;
	float *ws;
	float *xd, *xmask, *zin, *zg, *xg, *dv, *dxd, *dzd, *dzg, *J, *dJ, *ds, *du;
	const float *u, *s; /* G_z's and D's outputs of the last forward */
};

static size_t padn(size_t n)
{
	return (n + PAD - 1) / PAD * PAD;
}

/* Feature-map sizes of a valid-convolution stack: s[0] = input, s[1] = after
 * the 5x5, s[2] after the 4x4/2, s[3] after the 4x4, s[4] after the 4x4/2. */
static int sizes(size_t in, int s[5])
{
	if (in < 20 || in > 4096)
		return -1;
	s[0] = (int)in;
	s[1] = s[0] - 4;
	s[2] = (s[1] - 4) / 2 + 1;
	s[3] = s[2] - 3;
	s[4] = (s[3] - 4) / 2 + 1;
	return 0;
}

/* The five networks' configurations from d[] (h, w, c, latent, base, output). */
struct cfgs {
	struct fd_cl_spec gz_l[ALI_GZ], gx_l[ALI_GX], dx_l[ALI_DX];
	struct fd_layer_spec dz_l[2], dj_l[3];
	struct fd_convnet_cfg gz, gx, dx;
	struct fd_mlp_cfg dz, dj;
};

static int make_cfgs(const size_t d[FD_ALI_NDIMS], float drop, float slope, int threads,
		     struct cfgs *c, struct fd_err *err)
{
	int hs[5], ws[5], B, H;
	struct fd_convnet_cfg c0 = {
		.leaky_slope = slope,
		.init = FD_INIT_TRUNC_NORMAL,
		.init_sigma = ALI_INIT,
		.bn_momentum = 0.95f,
		.bn_eps = 1e-4f,
		.nthreads = threads,
	};
	struct fd_mlp_cfg m0 = {
		.leaky_slope = slope,
		.drop_before = 1,
		.init = FD_INIT_TRUNC_NORMAL,
		.init_sigma = ALI_INIT,
		.bn_momentum = 0.95f,
		.bn_eps = 1e-4f,
		.nthreads = threads,
	};

	if (sizes(d[0], hs) || sizes(d[1], ws) || d[2] < 1 || d[2] > 64 || d[3] < 1 ||
	    d[3] > (1u << 16) || d[4] < 1 || d[4] > 256 || d[5] > 1)
		return fd_err_set(err, FDEN_E_INVALID,
				  "ali: bad shape or sizes (%zu x %zu x %zu, latent %zu, channels "
				  "%zu, output %zu; height and width 20 .. 4096)",
				  d[0], d[1], d[2],
				  d[3], d[4], d[5]);
	if ((hs[1] - 4) % 2 != (ws[1] - 4) % 2 || (hs[3] - 4) % 2 != (ws[3] - 4) % 2)
		return fd_err_set(err, FDEN_E_INVALID, "ali: %zu x %zu: height and width must "
						       "halve alike (the same parity at each stride-2 layer)",
				  d[0], d[1]);
	B = (int)d[4];
	H = 16 * B;
	{
		struct fd_cl_spec gz[ALI_GZ] = {
			{ FD_CL_CONV, B, 5, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONV, 2 * B, 4, 2, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONV, 4 * B, 4, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONV, 8 * B, 4, 2, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_DENSE, H, 0, 0, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_DENSE, H, 0, 0, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_DENSE, 2 * (int)d[3], 0, 0, 0, 0, 0, 0, 1, 0, FD_ACT_LINEAR },
		};
		struct fd_cl_spec gx[ALI_GX] = {
			{ FD_CL_DENSE, 8 * B, 0, 0, 0, 0, hs[4], ws[4], 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONVT, 4 * B, 4, 2, 0, hs[3] - 2 * (hs[4] - 1) - 4, 0, 0, 0, 1,
			  FD_ACT_LEAKY },
			{ FD_CL_CONVT, 2 * B, 4, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONVT, B, 4, 2, 0, hs[1] - 2 * (hs[2] - 1) - 4, 0, 0, 0, 1,
			  FD_ACT_LEAKY },
			{ FD_CL_CONVT, B, 5, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONV, B, 1, 1, 0, 0, 0, 0, 0, 1, FD_ACT_LEAKY },
			{ FD_CL_CONV, (int)d[2], 1, 1, 0, 0, 0, 0, 0, 0, FD_ACT_LINEAR },
		};
		struct fd_layer_spec dz[2] = {
			{ H, 1, 0, drop, FD_ACT_LEAKY },
			{ H, 1, 0, drop, FD_ACT_LEAKY },
		};
		struct fd_layer_spec dj[3] = {
			{ 2 * H, 1, 0, drop, FD_ACT_LEAKY },
			{ 2 * H, 1, 0, drop, FD_ACT_LEAKY },
			{ 1, 1, 0, drop, FD_ACT_LINEAR },
		};
		memcpy(c->gz_l, gz, sizeof gz);
		memcpy(c->gx_l, gx, sizeof gx);
		memcpy(c->dx_l, gz, sizeof c->dx_l); /* G_z's first five layers ... */
		c->dx_l[0].batchnorm = 0;            /* ... the first with a bias, no norm */
		c->dx_l[0].bias = 1;
		memcpy(c->dz_l, dz, sizeof dz);
		memcpy(c->dj_l, dj, sizeof dj);
	}
	c->gz = c0;
	c->gz.h = (int)d[0];
	c->gz.w = (int)d[1];
	c->gz.c = (int)d[2];
	c->gz.nlayers = ALI_GZ;
	c->gz.layers = c->gz_l;
	c->dx = c->gz;
	c->dx.nlayers = ALI_DX;
	c->dx.layers = c->dx_l;
	c->gx = c0;
	c->gx.h = 1;
	c->gx.w = 1;
	c->gx.c = (int)d[3];
	c->gx.nlayers = ALI_GX;
	c->gx.layers = c->gx_l;
	c->dz = m0;
	c->dz.in = (int)d[3];
	c->dz.nlayers = 2;
	c->dz.layers = c->dz_l;
	c->dj = m0;
	c->dj.in = 2 * H;
	c->dj.nlayers = 3;
	c->dj.layers = c->dj_l;
	{ /* the decoder must give back exactly the input shape */
		struct fd_convnet_plan p;
		int rc;

		if ((rc = fd_convnet_plan(&c->gz, &p, err)) || (rc = fd_convnet_plan(&c->gx, &p, err)))
			return rc;
		if (p.out != d[0] * d[1] * d[2])
			return fd_err_set(err, FDEN_E_INVALID, "ali: %zu x %zu: the decoder gives "
							       "%zu floats, not the input's",
					  d[0], d[1], p.out);
	}
	return FDEN_OK;
}

void fd_ali_free(struct fd_ali *a)
{
	if (!a)
		return;
	fd_convnet_free(a->gz);
	fd_convnet_free(a->gx);
	fd_convnet_free(a->dx);
	fd_mlp_free(a->dz);
	fd_mlp_free(a->dj);
	fd_free(a->alloc, a->pixb_block);
	fd_free(a->alloc, a->ws);
	fd_free(a->alloc, a);
}

static void ali_destroy(void *ud)
{
	fd_ali_free(ud);
}

static int ali_build(const size_t d[FD_ALI_NDIMS], int with_d, float drop, float slope,
		     int threads,
		     const struct fden_allocator *alloc, struct fd_rng *rng, struct fd_err *err,
		     struct fd_ali **out)
{
	struct cfgs c;
	struct fd_ali *a;
	size_t in;
	int rc;

	if (!(drop >= 0.0f && drop < 1.0f))
		return fd_err_set(err, FDEN_E_INVALID, "ali: dropout %g outside [0, 1)",
				  (double)drop);
	if ((rc = make_cfgs(d, drop, slope, threads, &c, err)))
		return rc;
	a = fd_calloc(alloc, 1, sizeof *a);
	if (!a)
		return fd_err_set(err, FDEN_E_NOMEM, "ali: out of memory");
	if (alloc) {
		a->alloc_copy = *alloc;
		a->alloc = &a->alloc_copy;
	}
	a->h = d[0];
	a->w = d[1];
	a->c = d[2];
	a->latent = d[3];
	a->base = d[4];
	a->out_act = (int)d[5];
	a->in = in = d[0] * d[1] * d[2];
	a->threads = threads;
	a->has_d = with_d;
	a->drop = drop;
	rc = fd_convnet_new(&c.gz, "gz", a->alloc, rng, err, &a->gz);
	if (rc == FDEN_OK)
		rc = fd_convnet_new(&c.gx, "gx", a->alloc, rng, err, &a->gx);
	if (rc == FDEN_OK && with_d) {
		rc = fd_convnet_new(&c.dx, "dx", a->alloc, rng, err, &a->dx);
		if (rc == FDEN_OK)
			rc = fd_mlp_new(&c.dz, "dz", a->alloc, rng, err, &a->dz);
		if (rc == FDEN_OK)
			rc = fd_mlp_new(&c.dj, "dj", a->alloc, rng, err, &a->dj);
	}
	if (rc == FDEN_OK) {
		a->pixb_block = fd_calloc(a->alloc, 4 * padn(in), sizeof(float));
		if (!a->pixb_block)
			rc = fd_err_set(err, FDEN_E_NOMEM, "ali: out of memory");
	}
	if (rc) {
		fd_ali_free(a);
		return rc;
	}
	a->pixb.w = a->pixb_block;
	a->pixb.g = a->pixb_block + padn(in);
	a->pixb.m = a->pixb_block + 2 * padn(in);
	a->pixb.v = a->pixb_block + 3 * padn(in);
	a->pixb.n = in;
	strcpy(a->pixb.name, "gx.pixb");
	*out = a;
	return FDEN_OK;
}

int fd_ali_new(const size_t d[FD_ALI_NDIMS], float dropout, float slope, int threads,
	       const struct fden_allocator *alloc, struct fd_rng *rng, struct fd_err *err,
	       struct fd_ali **out)
{
	return ali_build(d, 1, dropout, slope, threads, alloc, rng, err, out);
}

int fd_ali_reserve(struct fd_ali *a, int n, int l2, struct fd_err *err)
{
	size_t in = a->in, L = a->latent, H = 16 * a->base, n2, total, off = 0;
	int gxn = l2 ? 2 * n : n, rc;
	float *ws;

	if (n < 1 || (double)n * 2 * (in > 2 * H ? in : 2 * H) > 1e9)
		return fd_err_set(err, FDEN_E_OVERFLOW, "ali: a %d-row workspace overflows", n);
	if (n <= a->cap && (!l2 || a->cap_l2))
		return FDEN_OK;
	if ((rc = fd_convnet_reserve(a->gz, n, err)) ||
	    (rc = fd_convnet_reserve(a->gx, gxn, err)) ||
	    (rc = fd_convnet_reserve(a->dx, 2 * n, err)) ||
	    (rc = fd_mlp_reserve(a->dz, 2 * n, err)) || (rc = fd_mlp_reserve(a->dj, 2 * n, err)))
		return rc;
	n2 = 2 * (size_t)n;
	total = 6 * padn(n2 * in) + 4 * padn(n2 * L) + 2 * padn(n2 * 2 * H) + padn(n2) +
		padn((size_t)n * 2 * L);
	ws = fd_calloc(a->alloc, total, sizeof(float));
	if (!ws)
		return fd_err_set(err, FDEN_E_NOMEM, "ali: no memory for a %d-row workspace", n);
	fd_free(a->alloc, a->ws);
	a->ws = ws;
#define TAKE(p, cnt) (a->p = ws + off, off += padn(cnt))
	TAKE(xd, n2 * in);
	TAKE(xmask, n2 * in);
	TAKE(xg, n2 * in);
	TAKE(dv, n2 * in);
	TAKE(dxd, n2 * in);
	off += padn(n2 * in); /* spare: keeps the block's layout simple to count */
	TAKE(zin, n2 * L);
	TAKE(zg, n2 * L);
	TAKE(dzd, n2 * L);
	TAKE(dzg, n2 * L);
	TAKE(J, n2 * 2 * H);
	TAKE(dJ, n2 * 2 * H);
	TAKE(ds, n2);
	TAKE(du, (size_t)n * 2 * L);
#undef TAKE
	a->cap = n;
	a->cap_l2 = l2;
	return FDEN_OK;
}

static inline float out_act(int act, float v)
{
	return act == FDEN_ALI_TANH ? tanhf(v) : 1.0f / (1.0f + expf(-v));
}

static inline float out_dact(int act, float y) /* d act / dv at output y */
{
	return act == FDEN_ALI_TANH ? 1.0f - y * y : y * (1.0f - y);
}

static inline double softplus(double v) /* log(1 + e^v) */
{
	return (v > 0 ? v : 0) + log1p(exp(-fabs(v)));
}

static inline float sigm(float v)
{
	return 1.0f / (1.0f + expf(-v));
}

/* The training forward of one step (see the top of the file). */
static struct fd_ali_stats forward(struct fd_ali *a, const float *xb, const float *zp,
				   const float *eps, int n, float l2w, struct fd_rng *rng)
{
	const size_t in = a->in, L = a->latent, H = 16 * a->base, n2 = 2 * (size_t)n;
	const int l2 = l2w > 0, gxn = l2 ? 2 * n : n;
	struct fd_ali_stats st = { 0, 0, 0, 0 };
	const float *u, *v, *hx, *hz;
	double dl = 0, gl = 0, rec = 0;
	int correct = 0;

	u = fd_convnet_forward(a->gz, xb, n);
	a->u = u;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < L; j++) {
			const float *ui = u + (size_t)i * 2 * L;
			float zh = ui[j] + expf(ui[L + j]) * eps[i * L + j]; /* mu + sigma eps */
			a->zin[i * L + j] = zh;
			a->zin[(n + i) * L + j] = zp[i * L + j];
			a->zg[i * L + j] = zp[i * L + j];
			if (l2)
				a->zg[(n + i) * L + j] = zh;
		}
	v = fd_convnet_forward(a->gx, a->zg, gxn);
	for (size_t r = 0; r < (size_t)gxn; r++)
		for (size_t p = 0; p < in; p++)
			a->xg[r * in + p] = out_act(a->out_act, v[r * in + p] + a->pixb.w[p]);
	memcpy(a->xd, xb, (size_t)n * in * sizeof(float));
	memcpy(a->xd + (size_t)n * in, a->xg, (size_t)n * in * sizeof(float));
	if (a->drop > 0)
		fd_dropout_forward(rng, a->drop, a->xd, a->xmask, a->xd, n2 * in);
	hx = fd_convnet_forward(a->dx, a->xd, (int)n2);
	hz = fd_mlp_forward(a->dz, a->zin, (int)n2, rng, NULL);
	fd_cols_join(a->J, hx, hz, n2, (int)H, (int)H);
	a->s = fd_mlp_forward(a->dj, a->J, (int)n2, rng, NULL);
	for (int i = 0; i < n; i++) {
		double sr = a->s[i], sf = a->s[n + i];
		dl += softplus(-sr) + softplus(sf);
		gl += softplus(sr) + softplus(-sf);
		correct += (sr > 0) + (sf < 0);
	}
	if (l2)
		for (size_t r = 0; r < (size_t)n; r++)
			for (size_t p = 0; p < in; p++) {
				double e = (double)a->xg[(n + r) * in + p] - xb[r * in + p];
				rec += e * e;
			}
	st.d_loss = dl / n;
	st.g_loss = gl / n;
	st.rec = rec / n;
	st.acc = (double)correct / (double)n2;
	return st;
}

struct fd_ali_stats fd_ali_losses(struct fd_ali *a, const float *xb, const float *zp,
				  const float *eps, int n, float l2_weight, struct fd_rng *rng)
{
	return forward(a, xb, zp, eps, n, l2_weight, rng);
}

struct fd_ali_stats fd_ali_grads(struct fd_ali *a, const float *xb, const float *zp,
				 const float *eps, int n, float l2w, struct fd_rng *rng)
{
	const size_t in = a->in, L = a->latent, H = 16 * a->base, n2 = 2 * (size_t)n;
	const int l2 = l2w > 0, gxn = l2 ? 2 * n : n;
	struct fd_ali_stats st = forward(a, xb, zp, eps, n, l2w, rng);
	const float *s = a->s, *u = a->u;
	const float rs = 1.0f / (float)n, rec_scale = 2.0f * l2w / (float)n;
	/* gradients set, not added; D_z's output gradient is dJ's right block */
	const struct fd_mlp_bwd set = { .set = 1 }, joint = { .ldy = (int)(2 * H), .set = 1 };

	/* generators: dL_G/ds_r = sigmoid(s_r) / n, dL_G/ds_f = (sigmoid(s_f) - 1) / n */
	for (int i = 0; i < n; i++) {
		a->ds[i] = sigm(s[i]) * rs;
		a->ds[n + i] = (sigm(s[n + i]) - 1.0f) * rs;
	}
	fd_mlp_backward(a->dj, a->ds, a->dJ, &set);
	fd_convnet_zero_grad(a->dx);
	fd_convnet_backward(a->dx, a->dJ, (int)(2 * H), a->dxd);
	fd_mlp_backward(a->dz, a->dJ + H, a->dzd, &joint);
	/* G_x's output: dL/dx~ from D (through the dropout mask), dL/dx^ =
	 * 2 w (x^ - x) / n; then through the output non-linearity */
	fd_vec_zero(a->pixb.g, in);
	for (size_t r = 0; r < (size_t)gxn; r++)
		for (size_t p = 0; p < in; p++) {
			size_t k = r * in + p;
			float g;

			if (r < (size_t)n)
				g = a->dxd[(size_t)n * in + k] *
				    (a->drop > 0 ? a->xmask[(size_t)n * in + k] : 1.0f);
			else
				g = rec_scale * (a->xg[k] - xb[k - (size_t)n * in]);
			g *= out_dact(a->out_act, a->xg[k]);
			a->dv[k] = g;
			a->pixb.g[p] += g;
		}
	fd_convnet_zero_grad(a->gx);
	fd_convnet_backward(a->gx, a->dv, (int)in, l2 ? a->dzg : NULL);
	/* z^ = mu + exp(ls) eps: dmu = dz^, dls = dz^ eps exp(ls) */
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < L; j++) {
			const float *ui = u + (size_t)i * 2 * L;
			float g = a->dzd[i * L + j] + (l2 ? a->dzg[(n + i) * L + j] : 0.0f);
			a->du[i * 2 * L + j] = g;
			a->du[i * 2 * L + L + j] = g * eps[i * L + j] * expf(ui[L + j]);
		}
	fd_convnet_zero_grad(a->gz);
	fd_convnet_backward(a->gz, a->du, (int)(2 * L), NULL);
	/* discriminator: dL_D/ds_r = (sigmoid(s_r) - 1) / n, dL_D/ds_f = sigmoid(s_f) / n */
	for (int i = 0; i < n; i++) {
		a->ds[i] = (sigm(s[i]) - 1.0f) * rs;
		a->ds[n + i] = sigm(s[n + i]) * rs;
	}
	fd_mlp_backward(a->dj, a->ds, a->dJ, &set);
	fd_convnet_zero_grad(a->dx);
	fd_convnet_backward(a->dx, a->dJ, (int)(2 * H), NULL);
	fd_mlp_backward(a->dz, a->dJ + H, NULL, &joint);
	(void)n2;
	return st;
}

int fd_ali_nparams(struct fd_ali *a, int which)
{
	if (which == 0)
		return a->has_d ? fd_convnet_nparams(a->dx) + fd_mlp_nparams(a->dz) +
					  fd_mlp_nparams(a->dj)
				: 0;
	return fd_convnet_nparams(a->gz) + fd_convnet_nparams(a->gx) + 1;
}

struct fd_param *fd_ali_param(struct fd_ali *a, int which, int i)
{
	if (which == 0) {
		int k = fd_convnet_nparams(a->dx);
		if (i < k)
			return fd_convnet_param(a->dx, i);
		i -= k;
		k = fd_mlp_nparams(a->dz);
		return i < k ? fd_mlp_param(a->dz, i) : fd_mlp_param(a->dj, i - k);
	}
	if (i < fd_convnet_nparams(a->gz))
		return fd_convnet_param(a->gz, i);
	i -= fd_convnet_nparams(a->gz);
	return i < fd_convnet_nparams(a->gx) ? fd_convnet_param(a->gx, i) : &a->pixb;
}

/* ---- inference: encode mu, encode_dist (mu, log sigma), decode ---- */

static int check_finite(const float *X, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		if (!isfinite(X[i])) {
			fd_err_set(NULL, FDEN_E_NONFINITE, "ali: input element %zu is not finite", i);
			return -2;
		}
	return 0;
}

static int ali_encode_dist(void *ud, const float *x, size_t n, float *mu, float *ls)
{
	const struct fd_ali *a = ud;
	size_t L = a->latent, rows = n < ALI_INFER_ROWS ? n : ALI_INFER_ROWS;
	float *ws, *U;

	if (check_finite(x, n * a->in))
		return -2;
	ws = fd_malloc(NULL, fd_convnet_infer_ws(a->gz, (int)rows) * sizeof(float));
	U = fd_malloc(NULL, rows * 2 * L * sizeof(float));
	if (!ws || !U) {
		fd_free(NULL, ws);
		fd_free(NULL, U);
		fd_err_set(NULL, FDEN_E_NOMEM, "ali: out of memory");
		return -1;
	}
	for (size_t r = 0; r < n; r += rows) {
		int b = (int)(n - r < rows ? n - r : rows);
		fd_convnet_infer(a->gz, x + r * a->in, b, U, ws);
		fd_cols_split(mu + r * L, ls ? ls + r * L : NULL, U, (size_t)b, (int)L, (int)L);
	}
	fd_free(NULL, ws);
	fd_free(NULL, U);
	return 0;
}

static int ali_encode(void *ud, const float *x, size_t n, float *z)
{
	return ali_encode_dist(ud, x, n, z, NULL);
}

static int ali_decode(void *ud, const float *z, size_t n, float *x)
{
	const struct fd_ali *a = ud;
	size_t in = a->in, rows = n < ALI_INFER_ROWS ? n : ALI_INFER_ROWS;
	float *ws;

	if (check_finite(z, n * a->latent))
		return -2;
	ws = fd_malloc(NULL, fd_convnet_infer_ws(a->gx, (int)rows) * sizeof(float));
	if (!ws) {
		fd_err_set(NULL, FDEN_E_NOMEM, "ali: out of memory");
		return -1;
	}
	for (size_t r = 0; r < n; r += rows) {
		int b = (int)(n - r < rows ? n - r : rows);
		fd_convnet_infer(a->gx, z + r * a->latent, b, x + r * in, ws);
	}
	fd_free(NULL, ws);
	for (size_t r = 0; r < n; r++)
		for (size_t p = 0; p < in; p++)
			x[r * in + p] = out_act(a->out_act, x[r * in + p] + a->pixb.w[p]);
	return 0;
}

static const struct fden_invnet_ops ali_ops = {
	.struct_size = sizeof(struct fden_invnet_ops),
	.version = FDEN_INVNET_OPS_VERSION,
	.encode = ali_encode,
	.decode = ali_decode,
	.encode_dist = ali_encode_dist,
	.destroy = ali_destroy,
};

/* ---- fitting ---- */

FDEN_EXPORT void fden_ali_options_default(struct fden_ali_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof *opt);
	opt->struct_size = sizeof *opt;
	opt->channels = 1;
	opt->base_channels = 8;
	opt->epochs = 100;
	opt->batch = 100;
	opt->lr = 1e-4;
	opt->beta1 = 0.5;
	opt->dropout = 0.2;
	opt->l2_weight = 0;
	opt->output = FDEN_ALI_SIGMOID;
	opt->seed = 1;
	opt->threads = 1;
	opt->time_budget = 0;
}

static int check_opts(const char *fn, const struct fden_ali_options *in, size_t input_dim,
		      struct fden_ali_options *o)
{
	fden_ali_options_default(o);
	if (in) {
		if (in->struct_size < sizeof *o)
			return fd_err_set(NULL, FDEN_E_VERSION,
					  "%s: opt->struct_size %zu, expected %zu (call "
					  "fden_ali_options_default first)",
					  fn, in->struct_size,
					  sizeof *o);
		memcpy(o, in, sizeof *o);
	}
	if (o->channels == 0 || o->channels > 64)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: channels %zu out of range", fn,
				  o->channels);
	if (o->height == 0 && o->width == 0) {
		size_t s = (size_t)llround(sqrt((double)(input_dim / o->channels)));
		o->height = o->width = s;
	}
	if (o->height == 0 || o->width == 0 || o->height * o->width * o->channels != input_dim)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: shape %zu x %zu x %zu does not match input_dim %zu", fn,
				  o->height, o->width, o->channels, input_dim);
	if (o->epochs == 0 || o->batch == 0 || o->batch > 4096 || !(o->lr > 0 && o->lr < 1) ||
	    !(o->beta1 >= 0 && o->beta1 < 1) || !(o->dropout >= 0 && o->dropout < 1) ||
	    !(o->l2_weight >= 0 && o->l2_weight < 1e6) || o->threads < 1 ||
	    (o->output != FDEN_ALI_SIGMOID && o->output != FDEN_ALI_TANH) ||
	    !(o->time_budget >= 0) || o->base_channels == 0)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: invalid options (epochs %zu, batch %zu, lr %g, beta1 %g, "
				  "dropout %g, l2 weight %g, threads %d, output %d, time budget %g, "
				  "channels %zu)",
				  fn, o->epochs, o->batch, o->lr, o->beta1,
				  o->dropout, o->l2_weight, o->threads, o->output, o->time_budget,
				  o->base_channels);
	return FDEN_OK;
}

/* Output bias b_p = the inverse output non-linearity of the pixel's mean
 * (ALI starts its decoder's untied output bias at the data's log-odds). */
static void init_pixb(struct fd_ali *a, const float *x, size_t n)
{
	const size_t in = a->in;

	fd_vec_zero(a->pixb.w, in);
	for (size_t r = 0; r < n; r++)
		for (size_t p = 0; p < in; p++)
			a->pixb.w[p] += x[r * in + p];
	for (size_t p = 0; p < in; p++) {
		double m = a->pixb.w[p] / (double)n;
		if (a->out_act == FDEN_ALI_TANH) {
			m = m < -0.99 ? -0.99 : m > 0.99 ? 0.99
							 : m;
			a->pixb.w[p] = (float)atanh(m);
		} else {
			m = m < 1e-3 ? 1e-3 : m > 1 - 1e-3 ? 1 - 1e-3
							   : m;
			a->pixb.w[p] = (float)log(m / (1 - m));
		}
	}
}

/* Mean squared reconstruction error (evaluation mode) of rows xe. */
static double eval_rec(struct fd_ali *a, const float *xe, size_t ne, float *z, float *xr)
{
	double s = 0;

	if (ali_encode(a, xe, ne, z) || ali_decode(a, z, ne, xr))
		return NAN;
	for (size_t i = 0; i < ne * a->in; i++) {
		double e = (double)xr[i] - xe[i];
		s += e * e;
	}
	return s / (double)(ne * a->in);
}

static void update(struct fd_ali *a, const struct fd_adam *adam, uint64_t t)
{
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < fd_ali_nparams(a, w); i++)
			fd_adam_update(adam, fd_ali_param(a, w, i), t);
}

FDEN_EXPORT int fden_invnet_fit_ali(const float *x, size_t n, size_t input_dim,
				    size_t latent_dim, const struct fden_ali_options *opt_in,
				    struct fden_invnet **out)
{
	const char *fn = "fden_invnet_fit_ali";
	struct fden_ali_options opt;
	struct fd_ali *a = NULL;
	struct fd_rng rng;
	struct fd_adam adam;
	struct fd_err err;
	int32_t *perm = NULL;
	float *xb = NULL, *zp = NULL, *eps = NULL, *xe = NULL, *ze = NULL, *xr = NULL;
	size_t bs, total, d[FD_ALI_NDIMS], ne;
	uint64_t t = 0;
	double t0 = fd_fit_now();
	int rc, stop = 0;

	if (!x || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn, !x ? "x" : "out");
	if (n < 2 || n > (size_t)INT32_MAX || input_dim == 0 || input_dim > (1u << 24) ||
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
	d[5] = (size_t)opt.output;
	bs = opt.batch < n ? opt.batch : n;
	ne = n < ALI_EVAL_ROWS ? n : ALI_EVAL_ROWS;
	fd_err_clear(&err);
	fd_rng_seed(&rng, opt.seed);
	if ((rc = ali_build(d, 1, (float)opt.dropout, ALI_SLOPE, opt.threads, NULL, &rng, &err,
			    &a)))
		return fd_err_publish(&err);
	init_pixb(a, x, n);
	if ((rc = fd_ali_reserve(a, (int)bs, opt.l2_weight > 0, &err))) {
		fd_err_publish(&err);
		goto done;
	}
	rc = FDEN_E_NOMEM;
	perm = fd_malloc(NULL, n * sizeof(int32_t));
	xb = fd_malloc(NULL, bs * input_dim * sizeof(float));
	zp = fd_malloc(NULL, bs * latent_dim * sizeof(float));
	eps = fd_malloc(NULL, bs * latent_dim * sizeof(float));
	xe = fd_malloc(NULL, ne * input_dim * sizeof(float));
	ze = fd_malloc(NULL, ne * latent_dim * sizeof(float));
	xr = fd_malloc(NULL, ne * input_dim * sizeof(float));
	if (!perm || !xb || !zp || !eps || !xe || !ze || !xr) {
		fd_err_set(NULL, rc, "%s: out of memory", fn);
		goto done;
	}
	for (size_t i = 0; i < ne; i++) /* evenly spread fixed rows */
		memcpy(xe + i * input_dim, x + (i * n / ne) * input_dim, input_dim * sizeof(float));
	adam.lr = (float)opt.lr;
	adam.beta1 = (float)opt.beta1;
	adam.beta2 = 0.999f;
	adam.eps = 1e-8f;
	fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
		   "ali epoch 0/%zu: recon mse %.6f (untrained)", opt.epochs,
		   eval_rec(a, xe, ne, ze, xr));

	for (size_t ep = 0; ep < opt.epochs && !stop; ep++) {
		double sd = 0, sg = 0, sa = 0, sr = 0, mse, w[4] = { 0, 0, 0, 0 };
		size_t nb = 0, nw = 0;

		fd_rng_perm(&rng, perm, (int)n);
		for (size_t r = 0; r + bs <= n; r += bs) { /* drop the ragged last batch */
			struct fd_ali_stats st;

			for (size_t i = 0; i < bs; i++)
				memcpy(xb + i * input_dim, x + (size_t)perm[r + i] * input_dim,
				       input_dim * sizeof(float));
			fd_rng_fill_normal(&rng, zp, bs * latent_dim, 1.0f);
			fd_rng_fill_normal(&rng, eps, bs * latent_dim, 1.0f);
			st = fd_ali_grads(a, xb, zp, eps, (int)bs, (float)opt.l2_weight, &rng);
			if (!isfinite(st.d_loss) || !isfinite(st.g_loss) || !isfinite(st.rec)) {
				rc = fd_err_set(NULL, FDEN_E_NONFINITE,
						"%s: loss is not finite at epoch %zu", fn, ep + 1);
				goto done;
			}
			update(a, &adam, ++t);
			sd += st.d_loss;
			sg += st.g_loss;
			sa += st.acc;
			sr += st.rec;
			nb++;
			w[0] += st.d_loss;
			w[1] += st.g_loss;
			w[2] += st.acc;
			w[3] += st.rec;
			if (opt.log_steps && ++nw == opt.log_steps) {
				fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
					   "ali step %zu: D loss %.4f, G loss %.4f, D acc %.3f, "
					   "recon mse %.6f, train l2 %.4f (%.1f s, epoch %zu)",
					   (size_t)t,
					   w[0] / nw, w[1] / nw, w[2] / nw, eval_rec(a, xe, ne, ze, xr),
					   w[3] / nw, fd_fit_now() - t0, ep + 1);
				memset(w, 0, sizeof w);
				nw = 0;
			}
			if (opt.time_budget > 0 && fd_fit_now() - t0 >= opt.time_budget) {
				stop = 1;
				break;
			}
		}
		mse = eval_rec(a, xe, ne, ze, xr);
		if (nb == 0)
			nb = 1;
		fd_fit_log(opt.log, opt.log_user_data, FDEN_LOG_INFO,
			   "ali epoch %zu/%zu: D loss %.4f, G loss %.4f, D acc %.3f, "
			   "recon mse %.6f, train l2 %.4f (%.1f s, %zu steps)%s",
			   ep + 1, opt.epochs,
			   sd / nb, sg / nb, sa / nb, mse, sr / nb, fd_fit_now() - t0, (size_t)t,
			   stop ? ", time budget reached" : "");
	}
	rc = fd_invnet_wrap(&ali_ops, input_dim, latent_dim, a, FD_INVNET_ALI, NULL, out);
	if (rc == FDEN_OK)
		a = NULL;
done:
	fd_ali_free(a);
	fd_free(NULL, perm);
	fd_free(NULL, xb);
	fd_free(NULL, zp);
	fd_free(NULL, eps);
	fd_free(NULL, xe);
	fd_free(NULL, ze);
	fd_free(NULL, xr);
	return rc;
}

/* ---- checkpoint: "ali.dims" (u64 x 6), then G_z's and G_x's tensors by
 * name and "gx.pixb" (D is a training device: not saved) ---- */

int fd_ali_save(const void *ud, const char *path, struct fd_err *err)
{
	const struct fd_ali *a = ud;
	struct fd_ckpt_writer *w;
	uint64_t dims[FD_ALI_NDIMS] = { a->h, a->w, a->c, a->latent, a->base,
					(uint64_t)a->out_act };
	int rc;

	rc = fd_ckpt_writer_new(FD_CKPT_ALI, NULL, err, &w);
	if (rc)
		return rc;
	if ((rc = fd_ckpt_put(w, "ali.dims", FD_CKPT_U64, dims, FD_ALI_NDIMS)) ||
	    (rc = fd_netrec_put(w, a->gz)) || (rc = fd_netrec_put(w, a->gx)) ||
	    (rc = fd_ckpt_put(w, a->pixb.name, FD_CKPT_F32, a->pixb.w, a->pixb.n))) {
		fd_ckpt_writer_free(w);
		return rc;
	}
	return fd_ckpt_write(w, path);
}

int fd_ali_load_reader(struct fd_ckpt_reader *r, const char *what, struct fd_err *err,
		       struct fden_invnet **out)
{
	struct cfgs c;
	const void *data;
	const uint64_t *u;
	size_t d[FD_ALI_NDIMS];
	struct fd_ali *a = NULL;
	struct fd_rng rng;
	int rc;

	if ((rc = fd_ckpt_get(r, "ali.dims", FD_CKPT_U64, FD_ALI_NDIMS, &data, NULL)))
		return rc;
	u = data;
	for (int i = 0; i < FD_ALI_NDIMS; i++)
		d[i] = u[i] > (1u << 20) ? (size_t)1 << 30 : (size_t)u[i]; /* rejected below */
	if (make_cfgs(d, 0.0f, ALI_SLOPE, 1, &c, NULL))
		return fd_err_set(err, FDEN_E_FORMAT, "%s: bad ALI sizes", what);
	if ((rc = fd_netrec_check(r, &c.gz, "gz", "ali", err)) ||
	    (rc = fd_netrec_check(r, &c.gx, "gx", "ali", err)) ||
	    (rc = fd_ckpt_get(r, "gx.pixb", FD_CKPT_F32, d[0] * d[1] * d[2], &data, NULL)))
		return rc;
	fd_rng_seed(&rng, 0);
	if ((rc = ali_build(d, 0, 0.0f, ALI_SLOPE, 1, NULL, &rng, err, &a)))
		return rc;
	if ((rc = fd_netrec_get(r, a->gz)) || (rc = fd_netrec_get(r, a->gx)) ||
	    (rc = fd_ckpt_get(r, "gx.pixb", FD_CKPT_F32, a->in, &data, NULL)))
		goto out;
	memcpy(a->pixb.w, data, a->in * sizeof(float));
	rc = fd_invnet_wrap(&ali_ops, a->in, a->latent, a, FD_INVNET_ALI, err, out);
	if (rc == FDEN_OK)
		a = NULL;
out:
	fd_ali_free(a);
	return rc;
}

int fd_ali_load(const char *path, struct fd_err *err, struct fden_invnet **out)
{
	struct fd_ckpt_reader *r;
	int rc;

	rc = fd_ckpt_read(path, FD_CKPT_ALI, NULL, err, &r);
	if (rc)
		return rc;
	rc = fd_ali_load_reader(r, path, err, out);
	fd_ckpt_reader_free(r);
	return rc;
}
