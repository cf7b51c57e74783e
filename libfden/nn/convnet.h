/* A sequential network of convolution, transposed-convolution and dense
 * layers, built from a table of layer specs (the convolutional hosts'
 * encoders, decoders and discriminators).
 *
 * Data are channels-last (NHWC): an input row is one h x w x c image,
 * pixel (y, x) channel ci at (y w + x) c + ci; a batch is n rows. Layer i:
 *   conv   Z = conv_k,s,p(X)   (conv.h)    out (h + 2p - k) / s + 1
 *   convt  Z = convT_k,s,p(X)  (convt.h)   out (h - 1) s - 2p + k + opad
 *   dense  Z = X W, X flattened (n x h w c); its output is viewed as an
 *          out_h x out_w x ch image for the layer after it
 * then  [batch norm]  ->  act,  or  act(Z + b). Batch norm of a conv or
 * convt layer is over channels (statistics over n oh ow positions per
 * channel); of a dense layer over each of its outputs. Training forward
 * uses batch statistics and updates the running ones (run = momentum run +
 * (1 - momentum) batch, unbiased variance); inference the running ones.
 * The network's output is n x (oh ow oc) rows, so it can be placed beside
 * a dense branch (fd_convnet_backward takes an output gradient with any
 * row stride, e.g. a column block of a joint discriminator's input).
 *
 * Memory: parameters, gradients and Adam moments in one block made at
 * creation; training caches (cols, pre-norm values, activations) and the
 * backward scratch in one workspace sized by fd_convnet_reserve(); after
 * that forward and backward allocate nothing. Every product is one fd_gemm
 * per layer per batch (im2col'ed), on nthreads BLIS threads. */
#ifndef FD_NN_CONVNET_H
#define FD_NN_CONVNET_H

#include <stddef.h>
#include <fden/core.h>
#include "core/error.h"
#include "kernels/rng.h"
#include "nn/param.h"

#define FD_CONVNET_MAX_LAYERS 16

enum fd_cl_kind {
	FD_CL_DENSE = 0,
	FD_CL_CONV = 1,
	FD_CL_CONVT = 2,
};

struct fd_cl_spec {
	int kind;         /* enum fd_cl_kind */
	int ch;           /* output channels (dense: width / (out_h out_w)) */
	int k, s, p;      /* conv, convt: kernel side, stride, zero padding */
	int opad;         /* convt: output padding in [0, s) */
	int out_h, out_w; /* dense: output image shape (0 means 1) */
	int bias;         /* 1: add a bias (ignored, no bias, with batch norm) */
	int batchnorm;    /* 1: batch norm after the product */
	int act;          /* enum fd_act (nn/act.h) */
};

struct fd_convnet_cfg {
	int h, w, c;                     /* input image */
	int nlayers;                     /* 1 .. FD_CONVNET_MAX_LAYERS */
	const struct fd_cl_spec *layers; /* copied */
	float leaky_slope;               /* for FD_ACT_LEAKY, >= 0 */
	int init;                        /* enum fd_init; fans are the kernel's (convt: c k k / s^2) */
	float init_sigma;                /* for FD_INIT_TRUNC_NORMAL */
	float bn_momentum, bn_eps;
	int nthreads; /* BLIS threads for this net's products */
};

/* Shapes and tensor sizes of a configuration, computed without allocating
 * (a loader checks a file's records against them before it allocates). */
struct fd_convnet_plan {
	int nlayers, nparams, nbuffers;
	size_t in, out;      /* floats of an input and an output row */
	size_t param_floats; /* sum of the parameter tensors' sizes */
	struct fd_cl_plan {
		int ih, iw, ic, oh, ow, oc;
		size_t nw;            /* weight floats */
		int has_bias, has_bn; /* bias of oc (dense: width); gamma, beta */
		size_t col;           /* col floats per image (0 for dense) */
	} L[FD_CONVNET_MAX_LAYERS];
};

/* FDEN_OK, or FDEN_E_INVALID naming the bad layer and field. */
int fd_convnet_plan(const struct fd_convnet_cfg *cfg, struct fd_convnet_plan *plan,
		    struct fd_err *err);
/* Name (prefix + "<layer>.w" / ".b" / ".gamma" / ".beta"; buffers ".mean",
 * ".var") and size of parameter tensor i, or buffer i, of a plan, in the
 * order fd_convnet_param / fd_convnet_buffer give them. */
void fd_convnet_param_desc(const struct fd_convnet_plan *plan, const char *prefix, int i,
			   char name[32], size_t *n);
void fd_convnet_buffer_desc(const struct fd_convnet_plan *plan, const char *prefix, int i,
			    char name[32], size_t *n);

struct fd_convnet;

/* Create and initialise from init_rng; prefix names the tensors. */
int fd_convnet_new(const struct fd_convnet_cfg *cfg, const char *prefix,
		   const struct fden_allocator *alloc, struct fd_rng *init_rng,
		   struct fd_err *err, struct fd_convnet **out);
void fd_convnet_free(struct fd_convnet *net);
const struct fd_convnet_plan *fd_convnet_get_plan(const struct fd_convnet *net);
void fd_convnet_set_threads(struct fd_convnet *net, int nthreads);

/* Training workspace for batches of up to n rows (allocates only when n
 * grows). FDEN_OK, FDEN_E_NOMEM or FDEN_E_OVERFLOW. */
int fd_convnet_reserve(struct fd_convnet *net, int n, struct fd_err *err);
/* Training forward of n rows (n <= reserved; X library memory, borrowed
 * until the last backward of this forward). Returns the n x out output in
 * the workspace, valid until the next forward. Batch norm's running mean
 * and variance: the first training forward of a new net sets them to its
 * batch's statistics (not momentum 1 and 0: a layer with variance 1e-4 at
 * its start would otherwise be divided by about 1 in evaluation for
 * hundreds of steps); later ones run = momentum run + (1 - momentum) batch. */
const float *fd_convnet_forward(struct fd_convnet *net, const float *X, int n);
/* Marks the running statistics as estimated already (a net whose buffers
 * were loaded), so the next training forward blends into them. */
void fd_convnet_bn_keep(struct fd_convnet *net);
/* Backward of the last forward: dY is n x out with rows ldy >= out floats
 * apart (any memory). Adds the parameter gradients into each g; writes dX
 * (n x in, library memory, not X) when not NULL. The caches are kept, so
 * it may be called again for another dY. */
void fd_convnet_backward(struct fd_convnet *net, const float *dY, int ldy, float *dX);
void fd_convnet_zero_grad(struct fd_convnet *net);

/* Evaluation forward, reentrant (net is not modified): X (n x in) and Y
 * (n x out) may be the caller's; ws holds fd_convnet_infer_ws(net, n)
 * floats of library memory. */
void fd_convnet_infer(const struct fd_convnet *net, const float *X, int n, float *Y,
		      float *ws);
size_t fd_convnet_infer_ws(const struct fd_convnet *net, int n);

/* Parameter tensors and buffers (running mean and variance), borrowed. */
int fd_convnet_nparams(const struct fd_convnet *net);
struct fd_param *fd_convnet_param(struct fd_convnet *net, int i);
int fd_convnet_nbuffers(const struct fd_convnet *net);
struct fd_buffer *fd_convnet_buffer(struct fd_convnet *net, int i);

/* Floating-point operations of one training forward + backward of n rows
 * (three products per layer, 2 m n k each; the first layer's input
 * gradient included), for benchmarks. */
double fd_convnet_train_flops(const struct fd_convnet *net, int n);

#endif
