/* Independence penalties between the factors, beyond MINE (issue 8 levers).
 *
 * Cross-correlation: with columns standardised over the batch,
 *   A^ = (A - mean) / std,  B^ likewise,  R = A^T B^ / n  (p x q),
 *   L = sum R^2 / (p q)   -- mean squared correlation, scale-free, so a
 *   factor cannot hide dependence by shrinking.
 * Style-uniformity (a parameter-free adversarial class predictor on f_sty):
 *   per episode, the prototypical head on f_sty gives p(k | query); the loss
 *   is the cross entropy to the uniform distribution,
 *   L = -mean_q (1/C) sum_k log p_k  (minimal, log C, when f_sty says nothing
 *   about the class), so unlike a reversed classifier loss it is bounded. */
#ifndef FD_FDEN_INDEP_H
#define FD_FDEN_INDEP_H

#include <stddef.h>
#include <stdint.h>

/* Columns of X (n x d) standardised over the rows into Xh, sd[j] =
 * sqrt(var_j + 1e-5); the backward ADDS dL/dX for dL/dXh into dX. */
void fd_standardize_cols(const float *X, int n, int d, float *Xh, float *sd);
void fd_standardize_cols_backward(const float *Xh, const float *dXh, const float *sd, int n,
				  int d, float *dX);

/* Floats of workspace fd_xcorr needs. */
size_t fd_xcorr_ws(int n, int p, int q);
/* Returns L; when dA/dB are not NULL, ADDS scale * dL/dA, dL/dB into them. */
double fd_xcorr(const float *A, int p, const float *B, int q, int n, float scale,
		float *dA, float *dB, float *ws, int nthreads);

/* Floats of workspace fd_sty_uniform needs for one episode. */
size_t fd_sty_uniform_ws(int ns, int nq, int C, int dim);
/* One episode: S (ns x dim) with labels ys, queries Q (nq x dim). Returns the
 * summed (over queries) cross entropy to uniform; ADDS scale * gradients. */
double fd_sty_uniform(const float *S, const int32_t *ys, int ns, const float *Q, int nq,
		      int C, int dim, float scale, float *dS, float *dQ, float *ws);

/* The adversary on a whole training batch, scale-free: the columns of F
 * (N x dim, E episodes of R rows: ns support then nq query rows, labels y)
 * are standardised over the batch first, so f_sty cannot satisfy it by
 * shrinking (equal distances) while keeping the class in its direction.
 * Returns the mean over queries of the CE to uniform; ADDS scale * dL/dF. */
size_t fd_sty_adv_ws(int N, int ns, int nq, int C, int dim);
double fd_sty_adv(const float *F, int N, int dim, const int32_t *y, int E, int R, int ns,
		  int nq, int C, float scale, float *dF, float *ws);

#endif
