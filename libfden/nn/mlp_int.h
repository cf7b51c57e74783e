/* The MLP's layout, shared by its three files (internal to nn/mlp*.c):
 * mlp.c makes the net, its parameters and its training workspace,
 * mlp_train.c runs the training forward and backward, mlp_infer.c the
 * evaluation-mode forward.
 *
 * Memory: one block made at creation holds, each tensor padded to 64 bytes,
 * [all weights][all gradients][all Adam m][all Adam v][running stats]
 * [per-BN-layer batch mean, inv std, 2w scratch]. The training workspace
 * (fd_mlp_reserve) keeps, for up to `cap` rows, ONE float cache per layer -
 * xhat for a batch-norm layer, the activation a otherwise - plus the dropout
 * decisions as bits; everything else backward needs (a of a batch-norm
 * layer, a layer's dropped input) is recomputed from those with the
 * forward's own expressions, so the bits are the forward's. A last layer
 * that is linear, without batch norm, with dropout after it keeps only its
 * dropped output. Two cap x maxdim panels carry the transient values (the
 * dropped outputs in forward, the gradients and recomputed inputs in
 * backward); nets trained one after another share one pair of panels
 * (fd_mlp_reserve_group). Forward, backward and infer allocate nothing. */
#ifndef FD_NN_MLP_INT_H
#define FD_NN_MLP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/mlp.h"

#define PAD 16 /* floats per 64 bytes */

struct layer {
	int in, out, bias, bn, act;
	float rate, kscale;    /* dropout rate, 1/(1 - rate) */
	int drop_in, drop_out; /* dropout before / after this layer */
	/* parameters and gradients (in the block) */
	float *W, *b, *gamma, *beta;
	float *dW, *db, *dgamma, *dbeta;
	int pw;                     /* index of W's fd_param; b or gamma, beta follow */
	float *rmean, *rvar;        /* running statistics */
	float *bmean, *binv, *bscr; /* batch mean, 1/sqrt(var+eps), 2w scratch */
	/* training caches (in the workspace), cap x width each */
	float *c;                  /* xhat (bn) or activation a; NULL when not needed */
	float *y;                  /* last layer: the output when c cannot be it */
	unsigned char *kin, *kout; /* dropout keep bits (drop_in: in wide, drop_out: out) */
};

struct fd_mlp {
	struct fden_allocator alloc;
	int has_alloc;
	int in, out, nlayers, maxdim, maxw;
	float slope, bn_momentum, bn_eps;
	int nthreads;
	struct layer *L;
	struct fd_param *params;
	int nparams;
	struct fd_buffer *bufs;
	int nbufs;
	float *block;
	size_t block_n;
	float *grad0;     /* start of the gradient section */
	size_t pfloats;   /* floats of one section (padded) */
	float *ws;        /* caches, owned */
	float *pan_own;   /* panels this net allocated (shared with its group) */
	size_t pan_own_n; /* floats of each panel in pan_own */
	float *p1, *p2;   /* the two panels in use (own or a group's) */
	size_t pan_n;     /* floats of each panel in use */
	const float *X;   /* input of the last forward */
	/* a paired forward (fd_mlp_fwd.pair_b): the two inputs and the
	 * shuffle; pa NULL after any other forward */
	const float *pa, *pb;
	const int32_t *perm;
	int ia, pn;
	unsigned char *kb1, *kb2; /* maxdim-byte rows: keep bits spread to bytes */
	int cap;                  /* rows the caches hold */
	int nlast;                /* rows of the last forward (0: none since reserve) */
	int two;                  /* panels for a two-gradient backward (2 cap rows) */
};

static inline size_t padn(size_t n)
{
	return (n + PAD - 1) / PAD * PAD;
}

static inline const struct fden_allocator *alloc_of(const struct fd_mlp *m)
{
	return m->has_alloc ? &m->alloc : NULL;
}

#endif
