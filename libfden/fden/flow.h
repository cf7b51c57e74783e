/* An exactly invertible disentangler: a stack of affine coupling layers
 * (RealNVP). Layer l permutes its input by a fixed permutation P_l, splits it
 * into x1 (d1 = dim/2 wide) and x2 (d2 = dim - d1), and computes
 *   [r, t] = g_l(x1),  s = c tanh(r / c),  y = [x1, x2 * exp(s) + t]
 * with g_l an MLP (d1 -> hidden^depth -> 2 d2, last layer zero-initialised so
 * the flow starts as a permutation). Its inverse is closed-form:
 *   x1 = y1,  x2 = (y2 - t(y1)) * exp(-s(y1)).
 * The model splits the output into f_ide (first k columns) and f_sty. */
#ifndef FD_FDEN_FLOW_H
#define FD_FDEN_FLOW_H

#include <stddef.h>
#include <fden/core.h>
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/mlp.h"
#include "nn/param.h"

struct fd_flow_cfg {
	int dim;     /* width of z and of the output */
	int nlayers; /* coupling layers (>= 2) */
	int hidden;  /* coupling-net hidden width */
	int depth;   /* coupling-net hidden layers */
	float clamp; /* c: |s| < c */
	float leaky_slope;
	int init; /* enum fd_init for hidden layers */
	float init_sigma;
	int nthreads;
};

struct fd_flow;

int fd_flow_new(const struct fd_flow_cfg *cfg, const struct fden_allocator *alloc,
		struct fd_rng *init_rng, struct fd_err *err, struct fd_flow **out);
void fd_flow_free(struct fd_flow *f);
void fd_flow_set_threads(struct fd_flow *f, int nthreads);

/* Training workspace for up to n rows. */
int fd_flow_reserve(struct fd_flow *f, int n, struct fd_err *err);
/* Training forward of n rows; returns Y (n x dim) inside the workspace. */
const float *fd_flow_forward(struct fd_flow *f, const float *X, int n);
/* log|det dY/dX| of the last training forward, summed over its rows
 * (= sum over layers, rows and columns of s). */
double fd_flow_logdet(const struct fd_flow *f);
/* Backward of the last forward: adds parameter gradients; dX may be NULL.
 * dY is not modified. ds is dL/d(log-det) of every row (0: the loss does
 * not involve the log-determinant; -w/(n dim) for the term -w logdet/(n dim)). */
void fd_flow_backward(struct fd_flow *f, const float *dY, float *dX, float ds);
/* Two backward passes of the last forward at once: dY holds 2n rows, the
 * first n the first output gradient, the last n the second (ds, as above,
 * applies to the first only); dX (NULL: not computed) gets the two input
 * gradients the same way (2n x dim). Each coupling net's element-wise
 * sweep runs over the 2n rows, its input-gradient products are one of 2n
 * rows each, and each parameter tensor's two gradients are SET in tmp
 * (2 fd_flow_hook_ws(f) floats, library memory) and handed to hook
 * (fd_mlp_bwd.two), which must set p->g: nothing else does. FDEN_OK, or
 * FDEN_E_INVALID (no forward, no tmp or hook), nothing done. */
int fd_flow_backward_two(struct fd_flow *f, const float *dY, float *dX, float ds,
			 float *tmp, fd_mlp_hook_fn hook, void *ctx);
/* Floats of one gradient in fd_flow_backward_two's tmp. */
size_t fd_flow_hook_ws(const struct fd_flow *f);

/* Reentrant evaluation: forward and exact inverse, ws of fd_flow_ws(f, n)
 * floats; the input and the output must not overlap. */
void fd_flow_infer(const struct fd_flow *f, const float *X, int n, float *Y, float *ws);
void fd_flow_inverse(const struct fd_flow *f, const float *Y, int n, float *X, float *ws);
size_t fd_flow_ws(const struct fd_flow *f, int n);

void fd_flow_zero_grad(struct fd_flow *f);
int fd_flow_nparams(const struct fd_flow *f);
struct fd_param *fd_flow_param(struct fd_flow *f, int i);
double fd_flow_train_flops(const struct fd_flow *f, int n);

#endif
