/* The style factor's between-class share (FDEN_P_STY_BETWEEN, issue 15).
 *
 * Per episode e and style column k, with y = f_sty minus the episode's
 * column mean, n_c rows of episode class c and ybar_c their mean:
 *   B_k = sum_c n_c ybar_ck^2,  T_k = sum_i y_ik^2,
 *   L = (1 / (E dim)) sum_e sum_k B_k / T_k,
 * the share of each column's variance that the episode's classes explain
 * (the correlation ratio eta^2, the R^2 of a linear read-out of the class
 * from that column). It is what a linear probe of the class reads, measured
 * on the batch. Scale-free per column, so f_sty cannot satisfy it by
 * shrinking; under independence of f_sty and the class its expectation is
 * (ways - 1) / (rows - 1) whatever the distribution, so its gradient
 * vanishes there on average. Zero when every class mean equals the episode
 * mean. Columns with T_k below 1e-12 are skipped (their share counts 0).
 * Gradient: dL/dy_ik = 2 (ybar_ck - (B_k / T_k) y_ik) / (E dim T_k); it sums
 * to zero over the episode's rows, so the centring adds nothing. */
#ifndef FD_FDEN_BETWEEN_H
#define FD_FDEN_BETWEEN_H

#include <stddef.h>
#include <stdint.h>

/* Floats of workspace fd_sty_between needs for `ways` classes of `dim`
 * columns. */
size_t fd_sty_between_ws(int ways, int dim);

/* F: N x dim, E episodes of R rows each (N = E R), y[i] in [0, ways) the
 * episode class of row i. Returns L; when dF is not NULL, ADDS
 * scale * dL/dF into it. ws: fd_sty_between_ws() floats, 8-byte aligned. */
double fd_sty_between(const float *F, int dim, const int32_t *y, int E, int R, int ways,
		      float scale, float *dF, float *ws);

#endif
