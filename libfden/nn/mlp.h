/* A multi-layer perceptron built from a table of layer specs.
 *
 * Layer i computes, for a batch X (n x in, row-major):
 *   [dropout if drop_before]  ->  H = X W (+ b)  ->  [batch norm]  ->  act
 *   ->  [dropout if !drop_before]
 * W is in x width, row-major (so H = X W is one sgemm with no transpose).
 * Training mode: batch norm uses batch statistics and updates the running
 * ones (run = momentum*run + (1-momentum)*batch, unbiased variance);
 * inverted dropout (keep with prob 1-rate, scale by 1/(1-rate)).
 * Evaluation mode: running statistics, no dropout.
 *
 * Memory: parameters, gradients and Adam moments in one block made at
 * creation; training caches in a workspace sized by fd_mlp_reserve(). After
 * that, forward/backward allocate nothing.
 */
#ifndef FD_NN_MLP_H
#define FD_NN_MLP_H

#include <stddef.h>
#include <stdint.h>
#include <fden/core.h>
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/param.h"

enum fd_act {
	FD_ACT_LINEAR = 0,
	FD_ACT_LEAKY = 1,   /* x > 0 ? x : slope * x */
	FD_ACT_SIGMOID = 2, /* 1 / (1 + exp(-x)) */
	FD_ACT_TANH = 3,
};

enum fd_init {
	FD_INIT_TRUNC_NORMAL = 0, /* truncated normal, sigma = init_sigma */
	FD_INIT_GLOROT_NORMAL = 1,/* normal, sigma = sqrt(2 / (fan_in + fan_out)) */
	FD_INIT_HE_NORMAL = 2,    /* normal, sigma = sqrt(2 / fan_in) */
};

struct fd_layer_spec {
	int width;        /* output width */
	int bias;         /* 1: add a bias (ignored, no bias, with batch norm) */
	int batchnorm;    /* 1: batch norm after the product */
	float dropout;    /* rate in [0, 1); 0 = none */
	int act;          /* enum fd_act */
};

struct fd_mlp_cfg {
	int in;                             /* input width */
	int nlayers;
	const struct fd_layer_spec *layers; /* copied */
	float leaky_slope;                  /* for FD_ACT_LEAKY */
	int drop_before;                    /* 1: dropout before the dense layer (authors' code) */
	int init;                           /* enum fd_init; biases start at 0, BN gamma 1 beta 0 */
	float init_sigma;                   /* for FD_INIT_TRUNC_NORMAL */
	float bn_momentum;                  /* e.g. 0.99 */
	float bn_eps;                       /* e.g. 1e-3 */
	int nthreads;                       /* BLIS threads for this net's products */
};

struct fd_mlp;

/* Create and initialise from init_rng. `name` prefixes parameter names. */
int fd_mlp_new(const struct fd_mlp_cfg *cfg, const char *name,
	       const struct fden_allocator *alloc, struct fd_rng *init_rng,
	       struct fd_err *err, struct fd_mlp **out);
void fd_mlp_free(struct fd_mlp *m);

int fd_mlp_in(const struct fd_mlp *m);
int fd_mlp_out(const struct fd_mlp *m);
void fd_mlp_set_threads(struct fd_mlp *m, int nthreads);

/* Make the training workspace hold batches of up to n rows (allocates only
 * when n grows). FDEN_OK or FDEN_E_NOMEM. */
int fd_mlp_reserve(struct fd_mlp *m, int n, struct fd_err *err);
/* The same for nets that train one after another (never two forward or
 * backward calls at once): nets[k] (NULL entries skipped) gets its caches
 * for rows[k] rows, and all share one pair of scratch panels, owned by the
 * first non-NULL net. Call it with the same group every time (a member
 * reserved alone afterwards takes panels of its own); free the group
 * together. */
int fd_mlp_reserve_group(struct fd_mlp *const *nets, const int *rows, int count,
			 struct fd_err *err);

/* Training-mode forward of n rows (n <= reserved). X is borrowed until the
 * next forward (kept for backward). Returns the output (n x out) inside the
 * workspace, valid until the next forward. rng draws the dropout masks.
 * X here, and dY and dX of the backward calls, must be library memory (in
 * an fd_malloc block, never a caller's buffer): the products take
 * fd_gemm_padded, which reads past its operands (kernels/gemm.h). */
const float *fd_mlp_forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng);
/* The same with the output written to Y (library memory, rows ldy >= out
 * floats apart, e.g. a column block of a wider matrix): directly when the
 * last layer keeps no cache (linear, no batch norm, dropout after it; the
 * net's own output buffer is then never touched), else copied. Returns Y. */
const float *fd_mlp_forward_to(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng,
			       float *Y, int ldy);

/* Backward of the last training forward: dY is n x out. Adds the parameter
 * gradients into each param's g; writes dX (n x in) when dX is not NULL.
 * May be called more than once per forward (each call adds again). dX may
 * be the forward's X (it is written after X's last read); X is then gone,
 * so that backward must be the forward's last. */
void fd_mlp_backward(struct fd_mlp *m, const float *dY, float *dX);
/* The same, but the parameter gradients are SET to this backward's values
 * (the weight products run with beta 0), so no fd_mlp_zero_grad() pass is
 * needed before it; same bits as zero_grad + fd_mlp_backward (up to the
 * sign of exact zeros). */
void fd_mlp_backward_set(struct fd_mlp *m, const float *dY, float *dX);
/* fd_mlp_backward_set with dY rows ldy floats apart (ldy >= out; a column
 * block of a wider matrix) and, with add_dx, dX += the input gradient
 * instead of dX = (same bits as a separate add afterwards). */
void fd_mlp_backward_set_ex(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx);
/* fd_mlp_backward_set_ex, but each parameter tensor's gradient is written
 * into tmp (fd_mlp_hook_ws(m) floats, library memory) instead of its g, and
 * fn(ctx, p, tmp) is called as soon as it is complete (last layer first;
 * W, then b or gamma and beta): the caller combines it with p->g while it is
 * hot in cache (fden/train.c: the clipped MINE gradient, no saved copy).
 * tmp NULL: the gradients are set in each g as by fd_mlp_backward_set_ex and
 * fn(ctx, p, p->g) is called the same way (fden/train.c: the norms that
 * double as the finiteness check, read while the tensor is in cache). */
void fd_mlp_backward_hook(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx,
			  float *tmp, void (*fn)(void *ctx, struct fd_param *p, float *g),
			  void *ctx);
size_t fd_mlp_hook_ws(const struct fd_mlp *m);

/* Two backward passes of the last forward at once (fden/train.c: D's g_u
 * and g_m): dY is 2n x out (rows ldy apart), its first n rows the first
 * output gradient, the last n the second. The activation and batch-norm
 * sweeps run per half over the same caches; each tensor's two gradients
 * are made into tmp (2 fd_mlp_hook_ws(m) floats, library memory: the first
 * at tmp, the second hook_ws floats on) and handed to fn(ctx, p, g1, g2),
 * last layer first, which must set p->g (nothing else does); the input
 * gradient is one product of 2n rows into dX (2n x in, first half first;
 * += with add_dx; NULL: not computed). Needs fd_mlp_want_two before the
 * reserve (panels of 2 cap rows); returns -1, doing nothing, without it,
 * after fd_mlp_forward_pair, or with tmp or fn NULL. */
int fd_mlp_backward_two(struct fd_mlp *m, const float *dY, int ldy, float *dX, int add_dx,
			float *tmp,
			void (*fn)(void *ctx, struct fd_param *p, float *g1, float *g2), void *ctx);
/* Panels for fd_mlp_backward_two from the next reserve on. */
void fd_mlp_want_two(struct fd_mlp *m);

/* Forward of the 2n rows [A_i ++ B_i] (i < n) then [A_i ++ B_perm[i]],
 * never built (MINE's joint and shuffled batch): the first layer's product
 * is split as A W_top + B W_bot, two n-row products instead of one of 2n
 * rows over the whole width; the rest is fd_mlp_forward's. A is n x ia,
 * B n x (in - ia), both library memory and unchanged until the backward;
 * perm a permutation of 0..n-1; the first layer takes no input dropout.
 * Returns the 2n x out output, or NULL (bad arguments, n > cap / 2). */
const float *fd_mlp_forward_pair(struct fd_mlp *m, const float *A, int ia, const float *B,
				 const int32_t *perm, int n, struct fd_rng *rng);
/* Backward after fd_mlp_forward_pair, dY 2n x out: gradients set (as by
 * fd_mlp_backward_set), fn called per tensor as by fd_mlp_backward_hook
 * with tmp NULL (fn may be NULL), and the input gradients summed over the
 * two halves: dA = dA_joint + dA_shuffled (n x ia), dB[perm[i]] =
 * dB_joint[perm[i]] + dB_shuffled[i] (n x (in - ia)); each two n-row
 * products. dA or dB NULL: not computed. */
void fd_mlp_backward_pair(struct fd_mlp *m, const float *dY, float *dA, float *dB,
			  void (*fn)(void *ctx, struct fd_param *p, float *g), void *ctx);

/* Evaluation-mode forward, reentrant (m is not modified): Y is n x out,
 * ws holds fd_mlp_infer_ws(m, n) floats and is library memory (fd_malloc);
 * X and Y may be the caller's. Any n >= 1. */
void fd_mlp_infer(const struct fd_mlp *m, const float *X, int n, float *Y, float *ws);
size_t fd_mlp_infer_ws(const struct fd_mlp *m, int n);

/* Set every gradient to zero. */
void fd_mlp_zero_grad(struct fd_mlp *m);

/* Parameter tensors (W, b, gamma, beta per layer) and buffers (running mean
 * and variance per batch-norm layer), for optimisers, clipping and
 * checkpoints. Borrowed. */
int fd_mlp_nparams(const struct fd_mlp *m);
struct fd_param *fd_mlp_param(struct fd_mlp *m, int i);
int fd_mlp_nbuffers(const struct fd_mlp *m);
struct fd_buffer *fd_mlp_buffer(struct fd_mlp *m, int i);

/* Floating-point operations of one training forward+backward of n rows
 * (2*n*in*out per product, three products per dense layer), for benchmarks. */
double fd_mlp_train_flops(const struct fd_mlp *m, int n);

#endif
