/* Independence penalties: see indep.h. */
#include <math.h>
#include <string.h>

#include "fden/align.h"
#include "fden/indep.h"
#include "kernels/gemm.h"

size_t fd_xcorr_ws(int n, int p, int q)
{
	/* A^, B^ (n x p, n x q), R (p x q), dA^, dB^, column stats */
	return (size_t)n * (p + q) * 2 + (size_t)p * q + 2 * (size_t)(p + q) + 64;
}

/* Standardise columns of X (n x d) into Xh; sd[j] = sqrt(var + eps). */
void fd_standardize_cols(const float *X, int n, int d, float *Xh, float *sd)
{
	int i, j;

	for (j = 0; j < d; j++) {
		double mu = 0, var = 0;

		for (i = 0; i < n; i++)
			mu += X[(size_t)i * d + j];
		mu /= n;
		for (i = 0; i < n; i++) {
			double c = X[(size_t)i * d + j] - mu;

			var += c * c;
		}
		sd[j] = (float)sqrt(var / n + 1e-5);
		for (i = 0; i < n; i++)
			Xh[(size_t)i * d + j] = (float)((X[(size_t)i * d + j] - mu) / sd[j]);
	}
}

/* dX += (1/sd) (dXh - mean(dXh) - Xh mean(dXh * Xh)), per column. */
void fd_standardize_cols_backward(const float *Xh, const float *dXh, const float *sd, int n,
				  int d, float *dX)
{
	int i, j;

	for (j = 0; j < d; j++) {
		double m1 = 0, m2 = 0;

		for (i = 0; i < n; i++) {
			m1 += dXh[(size_t)i * d + j];
			m2 += (double)dXh[(size_t)i * d + j] * Xh[(size_t)i * d + j];
		}
		m1 /= n;
		m2 /= n;
		for (i = 0; i < n; i++) {
			size_t k = (size_t)i * d + j;

			dX[k] += (float)((dXh[k] - m1 - Xh[k] * m2) / sd[j]);
		}
	}
}

double fd_xcorr(const float *A, int p, const float *B, int q, int n, float scale,
		float *dA, float *dB, float *ws, int nthreads)
{
	float *Ah = ws, *Bh = Ah + (size_t)n * p, *R = Bh + (size_t)n * q;
	float *dAh = R + (size_t)p * q, *dBh = dAh + (size_t)n * p;
	float *sa = dBh + (size_t)n * q, *sb = sa + p;
	double L = 0;
	size_t k;

	fd_standardize_cols(A, n, p, Ah, sa);
	fd_standardize_cols(B, n, q, Bh, sb);
	/* R = A^T B / n */
	fd_gemm(1, 0, p, q, n, 1.0f / n, Ah, p, Bh, q, 0.0f, R, q, nthreads);
	for (k = 0; k < (size_t)p * q; k++)
		L += (double)R[k] * R[k];
	L /= (double)p * q;
	if (!dA && !dB)
		return L;
	/* dR = scale * 2 R / (p q); dA^ = B^ dR^T / n; dB^ = A^ dR / n */
	for (k = 0; k < (size_t)p * q; k++)
		R[k] *= 2.0f * scale / ((float)p * q);
	if (dA) {
		fd_gemm(0, 1, n, p, q, 1.0f / n, Bh, q, R, q, 0.0f, dAh, p, nthreads);
		fd_standardize_cols_backward(Ah, dAh, sa, n, p, dA);
	}
	if (dB) {
		fd_gemm(0, 0, n, q, p, 1.0f / n, Ah, p, R, q, 0.0f, dBh, q, nthreads);
		fd_standardize_cols_backward(Bh, dBh, sb, n, q, dB);
	}
	return L;
}

size_t fd_sty_uniform_ws(int ns, int nq, int C, int dim)
{
	return fd_align_ws(ns, nq, C, dim) + (size_t)nq * C + (size_t)nq + 64;
}

double fd_sty_uniform(const float *S, const int32_t *ys, int ns, const float *Q, int nq,
		      int C, int dim, float scale, float *dS, float *dQ, float *ws)
{
	float *logp = ws;
	int32_t *yq = (int32_t *)(logp + (size_t)nq * C);
	float *aws = (float *)(yq + nq) + 16;
	double L = 0;
	int k, i;

	/* CE to uniform = (1/C) sum_k CE(all queries labelled k) */
	for (k = 0; k < C; k++) {
		for (i = 0; i < nq; i++)
			yq[i] = k;
		L += fd_align_proto(S, ys, ns, Q, yq, nq, C, dim, logp, scale / C, dS, dQ, aws);
	}
	return L / C;
}

size_t fd_sty_adv_ws(int N, int ns, int nq, int C, int dim)
{
	/* Fh, dFh (N x dim), sd (dim), the per-episode workspace */
	return 2 * (size_t)N * dim + (size_t)dim + fd_sty_uniform_ws(ns, nq, C, dim) + 64;
}

double fd_sty_adv(const float *F, int N, int dim, const int32_t *y, int E, int R, int ns,
		  int nq, int C, float scale, float *dF, float *ws)
{
	float *Fh = ws, *dFh = Fh + (size_t)N * dim, *sd = dFh + (size_t)N * dim;
	float *ews = sd + dim + 16;
	float sc = scale / ((float)E * nq);
	double L = 0;
	int e;

	fd_standardize_cols(F, N, dim, Fh, sd);
	if (dF)
		memset(dFh, 0, (size_t)N * dim * sizeof *dFh);
	for (e = 0; e < E; e++) {
		const float *S = Fh + (size_t)e * R * dim;
		float *dS = dF ? dFh + (size_t)e * R * dim : NULL;

		L += fd_sty_uniform(S, y + (size_t)e * R, ns, S + (size_t)ns * dim, nq, C, dim, sc, dS,
				    dS ? dS + (size_t)ns * dim : NULL, ews);
	}
	if (dF)
		fd_standardize_cols_backward(Fh, dFh, sd, N, dim, dF);
	return L / ((double)E * nq);
}
