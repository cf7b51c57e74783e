/* The FDEN model's layout (internal): the sub-networks, the random state,
 * the training workspace and the inference workspace pool. Named model_int.h
 * because "fden/model.h" is the public header. */
#ifndef FD_FDEN_MODEL_INT_H
#define FD_FDEN_MODEL_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <fden/model.h>
#include "core/error.h"
#include "fden/config.h"
#include "fden/flow.h"
#include "fden/stycls.h"
#include "kernels/rng.h"
#include "nn/mlp.h"

enum fd_net {
	FD_NET_D_DEC = 0, /* Dim -> W x depth -> 2 Dim */
	FD_NET_D_IDE,     /* 2 Dim -> W x depth -> Dim */
	FD_NET_D_STY,
	FD_NET_E_IDE, /* Dim -> W_b x depth -> Dim */
	FD_NET_E_STY,
	FD_NET_E_ENC, /* 2 Dim -> W_t x depth -> Dim */
	FD_NET_STAT,  /* 2 Dim -> 1024 -> 256 -> 64 -> 1 */
	FD_NET_REL,   /* 2 Dim -> A -> A -> 1 (relation head only, else NULL) */
	FD_NNETS
};

/* Each net's name (model.c): its name in messages and the prefix of its
 * records in a model file, so a rename changes the file format. */
extern const char *const fd_net_name[FD_NNETS];

#define FD_POOL_SLOTS 4
#define FD_CHUNK 1024 /* inference rows per chunk: fixed, so results never depend on it */

struct fd_ws_slot {
	atomic_int busy;
	float *buf; /* model->slot_floats floats, made on first use */
};

/* The training step's buffers (train.c): one block, grown to the largest
 * batch seen. N rows, D = Dim, di and ds the widths of f_ide and f_sty
 * (D each with the MLP disentangler). */
struct fd_train_ws {
	/* what the block holds: rows, relation pairs, floats of the query
	 * log-probabilities, of the head's and of the independence terms'
	 * workspaces */
	size_t cap_rows, cap_pairs, cap_logp, cap_align_ws, cap_indep_ws;
	float *zs;        /* the standardised input (N x D); the block's start */
	float *z_target;  /* L_R's target, the standardised mean, with a stochastic input */
	float *zrec_grad; /* E's output z~, then d(a L_R)/dz~ in its place (N x D) */
	/* one 4 N D region, three lives: */
	float *ent_cat;       /* E_ide(f_ide) ++ E_sty(f_sty) (N x 2D), then its gradient */
	float *stat_dx;       /* T's input gradients d f_ide (N x di), d f_sty (N x ds) */
	float *dec_dh;        /* gradient of D_dec's output (N x 2D, 2N x 2D for both passes) */
	float *dz_u, *dz_m;   /* d/dzs from D's passes of g_u and of g_m (N x D each) */
	float *dfi_u, *dfs_u; /* g_u's gradients of f_ide (N x di) and f_sty (N x ds) */
	float *dfi_m, *dfs_m; /* g_m's (the GRL's): rows after g_u's, or g_u's reused */
	float *stat_dy;       /* dL/dT on the joint rows, then the shuffled ones (2N) */
	int32_t *stat_perm;   /* the shuffle of f_sty's rows in T's marginal rows (N) */
	float *query_logp;    /* log P(class | query) of every query (queries x ways) */
	float *align_ws;      /* the alignment head's workspace (fd_align_ws) */
	float *rel_pairs;     /* relation head: each support row ++ query row (pairs x 2D) */
	float *rel_dpairs;    /* their gradient */
	float *rel_dscore;    /* gradient of each pair's relation score */
	float *flow_fi;       /* flow: f_ide, its output's first di columns (N x di) */
	float *flow_fs;       /* flow: f_sty, the other ds columns (N x ds) */
	float *flow_dout;     /* flow: gradient of its output, d f_ide ++ d f_sty (N x D) */
	float *indep_ws;      /* the independence terms' and the style classifier's workspace */
	/* flow: D's g_u, all tensors back to back; MLP: one tensor's g_u and
	 * g_m at a time (fd_mlp_bwd.tmp) */
	float *gu_saved;
	double *gu_sq;                 /* ||g_u||^2 of each of D's tensors */
	float *bn_saved;               /* the BN running statistics before the step */
	size_t gu_saved_n, bn_saved_n; /* floats of gu_saved and bn_saved */
};

struct fden_disentangler {
	struct fden_model *m;
};
struct fden_factorizer {
	struct fden_model *m;
};
struct fden_entangler {
	struct fden_model *m;
};

struct fden_model {
	struct fden_config cfg;
	const struct fden_allocator *a; /* &cfg.alloc or NULL */
	struct fd_err err;
	fden_log_fn log;
	void *log_ud;
	int dim;
	int di, ds;           /* widths of f_ide and f_sty (Dim each unless flow) */
	struct fd_flow *flow; /* FDEN_DIS_FLOW: D is the flow, E its inverse; D and E nets NULL */
	struct fd_mlp *net[FD_NNETS];
	struct fd_rng rng;
	uint64_t step;
	double mine_log_ma; /* log of the moving average of mean exp T(marginal) */
	int mine_have_ma;
	int has_std;
	float *std_mean, *std_std; /* Dim each */
	struct fd_train_ws tw;
	struct fd_ws_slot pool[FD_POOL_SLOTS];
	size_t slot_floats;
	/* FDEN_P_ALIGN_NORM > 0: the head's log-temperature, w g m v in tau_buf */
	float tau_buf[4];
	struct fd_param tau;
	/* FDEN_P_EMA > 0 (average.c): the other copy of D's and E's weights,
	 * back to back; which copy the nets hold is ema_state */
	float *ema_other;
	atomic_int ema_state; /* FD_EMA_LIVE, FD_EMA_BUSY (being swapped) or FD_EMA_AVERAGE */
	/* FDEN_P_STY_CLS > 0: the style classifier behind the GRL (np 0: none) */
	struct fd_stycls stycls;
	struct fden_disentangler dis;
	struct fden_factorizer fac;
	struct fden_entangler ent;
};

/* Build a model (parameters initialised from the seed) from a checked config. */
int fd_model_create(const struct fden_config *cfg, struct fden_model **out);

/* Inference workspace: a pool slot (try-lock) or a temporary block. */
float *fd_ws_take(const struct fden_model *m, int *slot);
void fd_ws_give(const struct fden_model *m, float *ws, int slot);

/* Evaluation-mode D and E on n rows (any n), chunked by FD_CHUNK. */
int fd_model_disentangle(const struct fden_model *m, const float *z, size_t n,
			 float *f_ide, float *f_sty);
int fd_model_entangle(const struct fden_model *m, const float *f_ide, const float *f_sty,
		      size_t n, float *z_out);

void fd_train_ws_free(struct fden_model *m);

/* Weight average and learning-rate schedule (average.c). The tensors
 * averaged: D's (fd_model_d_param) and E's nets'. */
enum { FD_EMA_LIVE = 0,
       FD_EMA_BUSY = 1,
       FD_EMA_AVERAGE = 2 };
int fd_ema_nparams(struct fden_model *m);
struct fd_param *fd_ema_param(struct fden_model *m, int i);
/* the other copy's block, filled with the initial weights (model creation) */
int fd_ema_init(struct fden_model *m);
/* the training weights into the nets (training, gradient checks) */
void fd_ema_live(struct fden_model *m);
/* the average into the nets (inference, saving); safe from several threads
 * at once while nobody trains: the first swaps, the others wait for it */
void fd_ema_ready(const struct fden_model *m);
/* after an optimiser step (live weights in the nets): average += (1 - d)
 * (w - average), d = min(FDEN_P_EMA, (1 + t) / (10 + t)), t the steps taken */
void fd_ema_update(struct fden_model *m);
/* learning-rate multiplier of FDEN_P_LR_DECAY for the step after `step` taken */
double fd_lr_factor(const struct fden_config *c, uint64_t step);

/* D's parameter tensors, whichever kind D is (for clipping, checks, stats). */
int fd_model_d_nparams(struct fden_model *m);
struct fd_param *fd_model_d_param(struct fden_model *m, int i);

/* Test hook: forward, losses and every gradient (left in each param's g)
 * of one training batch, the model otherwise left as it was (rng, BN
 * running statistics). dz (optional, N x Dim) receives
 * d(a L_R + b L_C + lambda g L_M)/dz in the host's space, the
 * reconstruction target's path included (not with the stochastic input). */
int fd_train_grad(struct fden_model *m, const struct fden_episodes *ep,
		  struct fden_step_stats *st, float *dz);

#endif
