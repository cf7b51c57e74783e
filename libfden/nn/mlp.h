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
#include "nn/act.h"
#include "nn/init.h"
#include "nn/param.h"

struct fd_layer_spec {
	int width;     /* output width */
	int bias;      /* 1: add a bias (ignored, no bias, with batch norm) */
	int batchnorm; /* 1: batch norm after the product */
	float dropout; /* rate in [0, 1); 0 = none */
	int act;       /* enum fd_act */
};

struct fd_mlp_cfg {
	int in; /* input width */
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
 * when n grows). FDEN_OK, FDEN_E_INVALID (n < 1), FDEN_E_OVERFLOW or
 * FDEN_E_NOMEM. A net reserved alone has panels of its own (it leaves any
 * group) and none for a backward of two output gradients at once. */
int fd_mlp_reserve(struct fd_mlp *m, int n, struct fd_err *err);
/* fd_mlp_reserve for nets that train one after another (never two forward
 * or backward calls at once): nets[k] (NULL entries skipped) gets its
 * caches for rows[k] rows, and all share one pair of scratch panels, owned
 * by the first non-NULL net. two[k] 1 (two NULL: all 0): nets[k]'s panels
 * also hold 2 rows[k] rows, for a backward of two output gradients at once
 * (fd_mlp_bwd.two). Call it with the same group every time (a member
 * reserved alone afterwards takes panels of its own); free the group
 * together. */
int fd_mlp_reserve_group(struct fd_mlp *const *nets, const int *rows, const int *two,
			 int count, struct fd_err *err);

/* What a training forward does besides the plain one (all zero / NULL: the
 * plain forward). */
struct fd_mlp_fwd {
	/* The output written to y, rows ldy >= fd_mlp_out(m) floats apart (a
	 * column block of a wider matrix, library memory): directly when the
	 * last layer keeps no cache (linear, no batch norm, dropout after it;
	 * the net's own output buffer is then never touched), else copied. */
	float *y;
	int ldy;
	/* Paired input: with pair_b set, the net sees the 2n rows [X_i ++ B_i]
	 * (i < n) then [X_i ++ B_perm[i]], never built: X is n x pair_ia, B is
	 * n x (in - pair_ia), both unchanged until the backward, pair_perm a
	 * permutation of 0..n-1. The first layer's product is split as
	 * X W_top + B W_bot (two n-row products instead of one of 2n rows over
	 * the whole width); the first layer must take no input dropout; n <=
	 * the reserved rows / 2. The output has 2n rows. */
	const float *pair_b;
	int pair_ia;
	const int32_t *pair_perm;
};

/* Training-mode forward of n rows (n <= reserved; 2n rows out with a
 * paired input). Batch norm uses batch statistics and updates its running
 * ones; rng draws the dropout masks (may be NULL without dropout). X is
 * borrowed until the next forward (kept for backward). opt NULL: the plain
 * forward. Returns the output (n x out, rows opt->ldy apart with opt->y)
 * - inside the workspace, valid until the next forward, unless opt->y -
 * or NULL on bad arguments (nothing done).
 * X, opt->pair_b and opt->y, and dY, dX of the backward, must be library
 * memory (in an fd_malloc block, never a caller's buffer): the products take
 * fd_gemm_padded, which reads past its operands (kernels/gemm.h). */
const float *fd_mlp_forward(struct fd_mlp *m, const float *X, int n, struct fd_rng *rng,
			    const struct fd_mlp_fwd *opt);

/* Called once per parameter tensor as soon as its gradient is complete,
 * last layer first (W, then b, or gamma and beta): g is the gradient (in
 * p->g, or in fd_mlp_bwd.tmp), g2 the second one with fd_mlp_bwd.two (else
 * NULL). Lets the caller use the gradient while it is in cache. */
typedef void (*fd_mlp_hook_fn)(void *ctx, struct fd_param *p, float *g, float *g2);

/* What a backward does besides the plain one (all zero / NULL: gradients
 * added into each p->g, dY rows fd_mlp_out(m) floats apart, dX =). */
struct fd_mlp_bwd {
	int ldy; /* floats between dY's rows, >= out (a column block); 0: out */
	/* 1: the parameter gradients are SET to this backward's (weight
	 * products with beta 0, no fd_mlp_zero_grad() needed; same bits as
	 * zero_grad + an adding backward up to the sign of exact zeros);
	 * 0: added. */
	int set;
	int add_dx; /* 1: dX += the input gradient (same bits as a separate add) */
	/* 1: two backward passes of the same forward at once: dY holds 2n rows,
	 * the first n the first output gradient, the last n the second. The
	 * activation and batch-norm sweeps run per half over the same caches,
	 * the weight products per half, the input gradient is one product of 2n
	 * rows into dX (2n x in, first half first). Needs tmp and hook, which
	 * must set p->g (nothing else does), and panels for 2n rows (two[] in
	 * fd_mlp_reserve_group); not after a paired forward. */
	int two;
	float *dx2; /* after a paired forward: B's gradient (dX gets X's) */
	/* NULL: gradients in each p->g; else each tensor's gradient is SET in
	 * tmp (fd_mlp_hook_ws(m) floats, twice that with two, library memory;
	 * the second at tmp + hook_ws) and handed to hook instead. */
	float *tmp;
	fd_mlp_hook_fn hook; /* NULL: none (needed with tmp) */
	void *ctx;           /* hook's first argument */
	/* 1: dY is library memory (inside one fd_malloc block, contiguous
	 * rows): a linear output layer's products may read it in place, with
	 * the small-matrix kernels that read past their operands
	 * (fd_gemm_padded); 0: it is copied into a panel first. */
	int dy_lib;
};

/* Backward of the last training forward with output gradient dY (n x out,
 * 2n x out after a paired forward or with opt->two); opt NULL: the plain
 * backward. Writes dX (n x in; NULL: not computed). After a paired forward
 * the input gradients are summed over the two halves: dX = dX_joint +
 * dX_shuffled (n x pair_ia), dx2[perm[i]] = dB_joint[perm[i]] +
 * dB_shuffled[i] (n x (in - pair_ia)), each two n-row products. May be
 * called more than once per forward. dX may be the forward's X (it is
 * written after X's last read); X is then gone, so that backward must be
 * the forward's last. FDEN_OK, or FDEN_E_INVALID (no forward, bad
 * arguments, two without its panels, tmp or hook), nothing done. */
int fd_mlp_backward(struct fd_mlp *m, const float *dY, float *dX, const struct fd_mlp_bwd *opt);
/* Floats of fd_mlp_bwd.tmp for one gradient (the largest tensor's, padded). */
size_t fd_mlp_hook_ws(const struct fd_mlp *m);

/* Evaluation-mode forward, reentrant (m is not modified): Y is n x out,
 * ws holds fd_mlp_infer_ws(m, n) floats and is library memory (fd_malloc);
 * X and Y may be the caller's. Any n >= 1. */
void fd_mlp_infer(const struct fd_mlp *m, const float *X, int n, float *Y, float *ws);
size_t fd_mlp_infer_ws(const struct fd_mlp *m, int n);
/* The same with X's rows ldx >= in floats apart (a column block of a wider
 * matrix, read in place). last_bias 0: the last layer's bias is not added
 * (a linear last layer without batch norm: the caller adds
 * fd_mlp_last_bias(m) in its own sweep over Y, one pass fewer). */
void fd_mlp_infer_ld(const struct fd_mlp *m, const float *X, int ldx, int n, float *Y, float *ws,
		     int last_bias);
/* The last layer's bias (out floats) when that layer is linear without
 * batch norm (so the bias may be added later), else NULL. */
const float *fd_mlp_last_bias(const struct fd_mlp *m);

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
