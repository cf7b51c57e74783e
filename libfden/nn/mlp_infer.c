/* The MLP's evaluation-mode forward (fd_mlp_infer): running batch-norm
 * statistics, no dropout, the net left unchanged (reentrant). */
#include <stddef.h>

#include "kernels/gemm.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dense.h"
#include "nn/mlp.h"
#include "nn/mlp_int.h"

size_t fd_mlp_infer_ws(const struct fd_mlp *m, int n)
{
	size_t nn = n > 0 ? (size_t)n : 1;

	return 2 * padn(nn * m->maxw) + 2 * padn((size_t)m->maxw);
}

void fd_mlp_infer(const struct fd_mlp *m, const float *X, int n, float *Y, float *ws)
{
	fd_mlp_infer_ld(m, X, m->L[0].in, n, Y, ws, 1);
}

/* The first product reads X with row stride ldx; the rest are ws's. */
static void first_forward(const float *X, int ldx, int n, int in, int out, const float *W,
			  const float *b, int act, float slope, float *Y, int nthreads)
{
	fd_gemm(0, 0, n, out, in, 1.0f, X, ldx, W, out, 0.0f, Y, out, nthreads);
	fd_act_forward(act, slope, Y, b, NULL, NULL, n, out);
}

void fd_mlp_infer_ld(const struct fd_mlp *m, const float *X, int ldx, int n, float *Y, float *ws,
		     int last_bias)
{
	float *buf[2], *scr;
	const float *x = X;
	int i;

	if (n < 1)
		return;
	buf[0] = ws;
	buf[1] = ws + padn((size_t)n * m->maxw);
	scr = buf[1] + padn((size_t)n * m->maxw);
	for (i = 0; i < m->nlayers; i++) {
		const struct layer *L = &m->L[i];
		const int last = i == m->nlayers - 1;
		float *dst = last ? Y : buf[i & 1];
		const float *b = last && !last_bias ? NULL : L->b;
		/* X and Y may be the caller's: only products between ws buffers pad */
		void (*fwd)(const float *, int, int, int, const float *, const float *, int, float,
			    const float *, float *, float *, int) =
			i > 0 && i < m->nlayers - 1 ? fd_dense_forward_padded : fd_dense_forward;

		if (i == 0) {
			first_forward(x, ldx, n, L->in, L->out, L->W, L->bn ? NULL : b,
				      L->bn ? FD_ACT_LINEAR : L->act, m->slope, dst, m->nthreads);
			if (L->bn)
				fd_bn_infer(dst, n, L->out, L->gamma, L->beta, L->rmean, L->rvar,
					    m->bn_eps, L->act, m->slope, dst, scr);
		} else if (L->bn) {
			/* h = x W; y = act(gamma (h - mean) / sqrt(var + eps) + beta) */
			fwd(x, n, L->in, L->out, L->W, NULL, FD_ACT_LINEAR, 0.0f, NULL, dst, NULL,
			    m->nthreads);
			fd_bn_infer(dst, n, L->out, L->gamma, L->beta, L->rmean, L->rvar,
				    m->bn_eps, L->act, m->slope, dst, scr);
		} else {
			fwd(x, n, L->in, L->out, L->W, b, L->act, m->slope, NULL, dst, NULL,
			    m->nthreads);
		}
		x = dst;
	}
}
