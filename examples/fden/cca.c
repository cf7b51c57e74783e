/* CCA: whiten each block by its covariance's Cholesky factor, then the
 * singular values of the whitened cross-covariance are the canonical
 * correlations: M = Lx^-1 Cxy Ly^-T, rho_i = sqrt(eig_i(M^T M)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cca.h"

int cca_cholesky(double *a, size_t d)
{
	for (size_t j = 0; j < d; j++) {
		double s = a[j * d + j];
		for (size_t k = 0; k < j; k++)
			s -= a[j * d + k] * a[j * d + k]; /* l_jj^2 = a_jj - sum l_jk^2 */
		if (!(s > 0))
			return -1;
		double l = sqrt(s);
		a[j * d + j] = l;
		for (size_t i = j + 1; i < d; i++) {
			double t = a[i * d + j];
			for (size_t k = 0; k < j; k++)
				t -= a[i * d + k] * a[j * d + k];
			a[i * d + j] = t / l; /* l_ij = (a_ij - sum l_ik l_jk) / l_jj */
		}
		for (size_t i = 0; i < j; i++)
			a[i * d + j] = 0;
	}
	return 0;
}

void cca_jacobi_eigenvalues(double *a, size_t d, double *eig)
{
	for (int sweep = 0; sweep < 100; sweep++) {
		double off = 0, diag = 0;
		for (size_t p = 0; p < d; p++) {
			diag += a[p * d + p] * a[p * d + p];
			for (size_t q = p + 1; q < d; q++)
				off += a[p * d + q] * a[p * d + q];
		}
		if (off <= 1e-24 * (diag > 0 ? diag : 1))
			break;
		for (size_t p = 0; p < d; p++)
			for (size_t q = p + 1; q < d; q++) {
				double apq = a[p * d + q];
				if (fabs(apq) < 1e-300)
					continue;
				/* theta = (a_qq - a_pp) / 2a_pq, t = sgn/(|theta| + sqrt(theta^2+1)) */
				double th = (a[q * d + q] - a[p * d + p]) / (2 * apq);
				double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
				double c = 1 / sqrt(t * t + 1), s = t * c;
				for (size_t k = 0; k < d; k++) { /* A <- A J */
					double akp = a[k * d + p], akq = a[k * d + q];
					a[k * d + p] = c * akp - s * akq;
					a[k * d + q] = s * akp + c * akq;
				}
				for (size_t k = 0; k < d; k++) { /* A <- J^T A */
					double apk = a[p * d + k], aqk = a[q * d + k];
					a[p * d + k] = c * apk - s * aqk;
					a[q * d + k] = s * apk + c * aqk;
				}
			}
	}
	for (size_t p = 0; p < d; p++)
		eig[p] = a[p * d + p];
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x < y) - (x > y);
}

/* Covariance of columns [0, da) of a (n x da, centred with mean mu). */
static void cov(const float *a, const double *mu, size_t n, size_t da, const float *b,
		const double *mub, size_t db, double *c)
{
	memset(c, 0, da * db * sizeof *c);
	double *ra = malloc((da + db) * sizeof *ra);
	if (!ra)
		return;
	double *rb = ra + da;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < da; j++)
			ra[j] = a[i * da + j] - mu[j];
		for (size_t j = 0; j < db; j++)
			rb[j] = b[i * db + j] - mub[j];
		for (size_t j = 0; j < da; j++) {
			double *cj = c + j * db, v = ra[j];
			for (size_t k = 0; k < db; k++)
				cj[k] += v * rb[k]; /* C += (a - mu_a)(b - mu_b)^T */
		}
	}
	for (size_t j = 0; j < da * db; j++)
		c[j] /= (double)(n - 1);
	free(ra);
}

static void add_ridge(double *c, size_t d, double ridge)
{
	double m = 0;
	for (size_t j = 0; j < d; j++)
		m += c[j * d + j];
	m = m / (double)d;
	if (!(m > 0))
		m = 1;
	for (size_t j = 0; j < d; j++)
		c[j * d + j] += ridge * m + 1e-12;
}

int cca(const float *x, const float *y, size_t n, size_t dx, size_t dy, double ridge,
	double *corr)
{
	if (n < 2 || !dx || !dy)
		return -1;
	int rc = -1;
	size_t dm = dx < dy ? dx : dy;
	double *mx = calloc(dx + dy, sizeof *mx);
	double *cxx = malloc(dx * dx * sizeof *cxx), *cyy = malloc(dy * dy * sizeof *cyy);
	double *cxy = malloc(dx * dy * sizeof *cxy), *mtm = malloc(dy * dy * sizeof *mtm);
	double *eig = malloc(dy * sizeof *eig);
	if (!mx || !cxx || !cyy || !cxy || !mtm || !eig)
		goto out;
	double *my = mx + dx;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < dx; j++)
			mx[j] += x[i * dx + j];
		for (size_t j = 0; j < dy; j++)
			my[j] += y[i * dy + j];
	}
	for (size_t j = 0; j < dx; j++)
		mx[j] /= (double)n;
	for (size_t j = 0; j < dy; j++)
		my[j] /= (double)n;
	cov(x, mx, n, dx, x, mx, dx, cxx);
	cov(y, my, n, dy, y, my, dy, cyy);
	cov(x, mx, n, dx, y, my, dy, cxy);
	add_ridge(cxx, dx, ridge);
	add_ridge(cyy, dy, ridge);
	if (cca_cholesky(cxx, dx) || cca_cholesky(cyy, dy))
		goto out;
	/* A = Lx^-1 Cxy: forward substitution, column by column (in place) */
	for (size_t k = 0; k < dy; k++)
		for (size_t i = 0; i < dx; i++) {
			double t = cxy[i * dy + k];
			for (size_t j = 0; j < i; j++)
				t -= cxx[i * dx + j] * cxy[j * dy + k];
			cxy[i * dy + k] = t / cxx[i * dx + i];
		}
	/* M = A Ly^-T: each row m solves Ly m^T = a^T (in place) */
	for (size_t i = 0; i < dx; i++) {
		double *r = cxy + i * dy;
		for (size_t k = 0; k < dy; k++) {
			double t = r[k];
			for (size_t j = 0; j < k; j++)
				t -= cyy[k * dy + j] * r[j];
			r[k] = t / cyy[k * dy + k];
		}
	}
	/* M^T M (dy x dy) */
	memset(mtm, 0, dy * dy * sizeof *mtm);
	for (size_t i = 0; i < dx; i++) {
		const double *r = cxy + i * dy;
		for (size_t a = 0; a < dy; a++)
			for (size_t b = 0; b < dy; b++)
				mtm[a * dy + b] += r[a] * r[b];
	}
	cca_jacobi_eigenvalues(mtm, dy, eig);
	qsort(eig, dy, sizeof *eig, cmp_desc);
	for (size_t i = 0; i < dm; i++) {
		double r = eig[i] > 0 ? sqrt(eig[i]) : 0;
		corr[i] = r > 1 ? 1 : r;
	}
	rc = 0;
out:
	free(mx);
	free(cxx);
	free(cyy);
	free(cxy);
	free(mtm);
	free(eig);
	return rc;
}
