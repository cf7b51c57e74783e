/* HSIC penalty between the factors of a batch (FDEN_P_HSIC, issue 15).
 *
 * Biased HSIC (Gretton et al. 2005) with Gaussian kernels and the median
 * heuristic, the statistic of `fden eval`'s independence test:
 *   D^a_ij = ||a_i - a_j||^2,  K_ij = exp(-D^a_ij / (2 m_a)),
 *   m_a = median of D^a over the pairs i < j (element m/2 of the sorted
 *   n(n-1)/2 values), L from B likewise,
 *   HSIC = tr(K H L H) / (n - 1)^2,  H = I - 1 1^T / n.
 * Zero iff (for these characteristic kernels, in the large-sample limit)
 * A and B are independent; it sees non-linear dependence that the
 * cross-correlation term (indep.h) does not. Scale-free: scaling A scales
 * D^a and m_a alike. The gradient goes through the kernels and through the
 * bandwidth (the median pair's distance), so it is the exact derivative of
 * the value returned wherever the median pair is unique.
 * Cost: two n x n x (p, q) Gram products and two n x n x (p, q) gradient
 * products (fd_gemm), O(n^2) elementwise work; memory fd_hsic_ws(). */
#ifndef FD_FDEN_HSIC_H
#define FD_FDEN_HSIC_H

#include <stddef.h>

/* Floats of workspace fd_hsic needs for n rows of widths p and q. */
size_t fd_hsic_ws(int n, int p, int q);

/* HSIC of A (n x p) and B (n x q), n >= 2. When dA / dB are not NULL,
 * ADDS scale * dHSIC/dA, dHSIC/dB into them. ws: fd_hsic_ws() floats. */
double fd_hsic(const float *A, int p, const float *B, int q, int n, float scale, float *dA,
	       float *dB, float *ws, int nthreads);

#endif
