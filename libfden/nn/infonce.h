/* The contrastive InfoNCE loss of SimCLR (NT-Xent; Chen et al. 2020) on a
 * batch of 2n embeddings: rows i and i + n (i < n) are two views of one
 * input, every other row of the batch is a negative. With p_i = h_i / |h_i|
 * and s_ij = p_i . p_j / tau,
 *   L = 1/(2n) sum_i [ -s_{i,t(i)} + log sum_{j != i} exp s_ij ],
 *   t(i) = i + n for i < n, i - n otherwise.
 * Gradient: G_ij = (softmax_{j != i}(s_i.)_j - [j = t(i)]) / (2n) (G_ii = 0);
 *   dL/dP = (G + G^T) P / tau,  dL/dh_i = (dP_i - (dP_i . p_i) p_i) / |h_i|.
 * The two products (P P^T and (G + G^T) P) go through fd_gemm. */
#ifndef FD_NN_INFONCE_H
#define FD_NN_INFONCE_H

#include <stddef.h>

/* Floats of the workspace fd_infonce needs for 2n rows of width d. */
size_t fd_infonce_ws(int n2, int d);

/* The loss of h (n2 = 2n rows of width d, row-major; n2 even, >= 4) at
 * temperature tau > 0; dh (n2 x d, may be NULL) receives dL/dh, scaled by
 * `scale` (the loss's weight). A zero row has no direction: it is treated
 * as |h| = 1e-12, like F.normalize's eps. ws holds fd_infonce_ws floats. */
double fd_infonce(const float *h, int n2, int d, float tau, float scale, float *dh,
		  float *ws, int nthreads);

#endif
