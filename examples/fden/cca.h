/* Canonical correlation analysis between two blocks of features, for
 * measuring how linearly dependent f_ide and f_sty are. Double precision,
 * no external LAPACK: Cholesky whitening and a cyclic Jacobi eigensolver. */
#ifndef FDEN_CLI_CCA_H
#define FDEN_CLI_CCA_H

#include <stddef.h>

/* Canonical correlations of X (n x dx) and Y (n x dy), row-major floats.
 * Each covariance gets ridge * (mean of its diagonal) added to the diagonal.
 * corr receives min(dx, dy) values in [0, 1], largest first.
 * Returns 0, or -1 (out of memory, n < 2, or a covariance not positive
 * definite even with the ridge). */
int cca(const float *x, const float *y, size_t n, size_t dx, size_t dy, double ridge,
	double *corr);

/* Lower Cholesky factor of a symmetric positive definite d x d matrix, in
 * place (upper triangle zeroed). Returns 0 or -1 when not positive definite. */
int cca_cholesky(double *a, size_t d);

/* Eigenvalues of a symmetric d x d matrix by cyclic Jacobi rotations;
 * a is destroyed. eig receives d values, unsorted. */
void cca_jacobi_eigenvalues(double *a, size_t d, double *eig);

#endif
