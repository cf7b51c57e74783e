/* A parameter tensor with its gradient and Adam moments. Storage is owned
 * by whoever made it (an MLP, the flow); this struct only points into it. */
#ifndef FD_NN_PARAM_H
#define FD_NN_PARAM_H

#include <stddef.h>

struct fd_param {
	float *w;      /* values */
	float *g;      /* gradient, accumulated by backward passes */
	float *m, *v;  /* Adam first and second moments */
	size_t n;      /* number of floats */
	char name[32]; /* "dense0.w", "bn0.gamma", ... (for checkpoints and errors) */
};

/* Non-trainable state saved in checkpoints (batch-norm running stats). */
struct fd_buffer {
	float *x;
	size_t n;
	char name[32];
};

#endif
