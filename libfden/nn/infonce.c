/* SimCLR's InfoNCE (NT-Xent) loss and its gradient; see infonce.h. */
#include <math.h>

#include "kernels/gemm.h"
#include "nn/infonce.h"

#define NCE_EPS 1e-12f

size_t fd_infonce_ws(int n2, int d)
{
	/* P (n2 x d), 1/|h| (n2), S then G (n2 x n2), dP (n2 x d) */
	return (size_t)n2 * d * 2 + (size_t)n2 + (size_t)n2 * n2;
}

double fd_infonce(const float *h, int n2, int d, float tau, float scale, float *dh,
		  float *ws, int nthreads)
{
	float *P = ws, *rn = P + (size_t)n2 * d, *S = rn + n2, *dP = S + (size_t)n2 * n2;
	int n = n2 / 2;
	double loss = 0;

	for (int i = 0; i < n2; i++) {
		const float *hi = h + (size_t)i * d;
		float ss = 0, r;

		for (int k = 0; k < d; k++)
			ss += hi[k] * hi[k];
		r = 1.0f / fmaxf(sqrtf(ss), NCE_EPS); /* 1 / max(|h_i|, eps) */
		rn[i] = r;
		for (int k = 0; k < d; k++)
			P[(size_t)i * d + k] = hi[k] * r;
	}
	/* S = P P^T / tau */
	fd_gemm(0, 1, n2, n2, d, 1.0f / tau, P, d, P, d, 0.0f, S, n2, nthreads);
	for (int i = 0; i < n2; i++) {
		float *si = S + (size_t)i * n2, mx = -INFINITY;
		int t = i < n ? i + n : i - n;
		double z = 0;

		for (int j = 0; j < n2; j++)
			if (j != i && si[j] > mx)
				mx = si[j];
		for (int j = 0; j < n2; j++)
			if (j != i)
				z += exp((double)(si[j] - mx));
		/* -s_it + logsumexp_{j != i} s_ij */
		loss += -(double)si[t] + (double)mx + log(z);
		/* S row i becomes G row i: (softmax - onehot) / n2 */
		for (int j = 0; j < n2; j++)
			si[j] = j == i ? 0.0f : (float)(exp((double)(si[j] - mx)) / z) / (float)n2;
		si[t] -= 1.0f / (float)n2;
	}
	loss /= n2;
	if (!dh)
		return loss;
	/* G + G^T in place (upper and lower triangles swapped and summed) */
	for (int i = 0; i < n2; i++)
		for (int j = i + 1; j < n2; j++) {
			float v = S[(size_t)i * n2 + j] + S[(size_t)j * n2 + i];
			S[(size_t)i * n2 + j] = S[(size_t)j * n2 + i] = v;
		}
	/* dP = (G + G^T) P * scale / tau */
	fd_gemm(0, 0, n2, d, n2, scale / tau, S, n2, P, d, 0.0f, dP, d, nthreads);
	for (int i = 0; i < n2; i++) {
		const float *pi = P + (size_t)i * d, *gi = dP + (size_t)i * d;
		float *di = dh + (size_t)i * d, dot = 0;

		for (int k = 0; k < d; k++)
			dot += gi[k] * pi[k];
		for (int k = 0; k < d; k++) /* (dP_i - (dP_i . p_i) p_i) / |h_i| */
			di[k] = (gi[k] - dot * pi[k]) * rn[i];
	}
	return loss;
}
