/* HSIC penalty between the factors: see hsic.h. */
#include <math.h>
#include <stddef.h>

#include "fden/hsic.h"
#include "kernels/gemm.h"

/* Workspace: D^a, D^b, K, L, S (each n x n; S holds the median's copy, then
 * each gradient weight matrix), T (n x max(p, q)), the row means of K, L. */
size_t fd_hsic_ws(int n, int p, int q)
{
	size_t nn = (size_t)n * n;

	return 5 * nn + (size_t)n * (p > q ? p : q) + 2 * (size_t)n + 64;
}

/* Dm = pairwise squared distances of the rows of X (n x d), through the Gram
 * matrix: D_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j (>= 0, D_ii = 0). */
static void sqdist(const float *X, int n, int d, float *Dm, int nth)
{
	fd_gemm(0, 1, n, n, d, 1.0f, X, d, X, d, 0.0f, Dm, n, nth);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			float v = Dm[(size_t)i * n + i] + Dm[(size_t)j * n + j] - 2.0f * Dm[(size_t)i * n + j];

			v = v > 0 ? v : 0;
			Dm[(size_t)i * n + j] = v; /* the lower half is filled below */
		}
	for (int i = 0; i < n; i++) {
		Dm[(size_t)i * n + i] = 0;
		for (int j = 0; j < i; j++)
			Dm[(size_t)i * n + j] = Dm[(size_t)j * n + i];
	}
}

/* The k-th smallest of x[0..m) (x reordered), Hoare's quickselect. */
static float select_kth(float *x, ptrdiff_t m, ptrdiff_t k)
{
	ptrdiff_t lo = 0, hi = m - 1;

	while (hi > lo) {
		float piv = x[lo + (hi - lo) / 2];
		ptrdiff_t i = lo, j = hi;

		while (i <= j) {
			while (x[i] < piv)
				i++;
			while (x[j] > piv)
				j--;
			if (i <= j) {
				float t = x[i];

				x[i++] = x[j];
				x[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return x[k];
	}
	return x[k];
}

struct bw {
	double g; /* 1 / (2 m): K = exp(-g D) */
	int i, j; /* the median pair (i < j), -1 when m <= 0 (g = 1, fixed) */
};

/* Median heuristic on Dm (n x n), S scratch of n (n - 1) / 2 floats. */
static struct bw bandwidth(const float *Dm, int n, float *S)
{
	struct bw b = { 1.0, -1, -1 };
	size_t m = 0;
	float med;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			S[m++] = Dm[(size_t)i * n + j];
	med = select_kth(S, (ptrdiff_t)m, (ptrdiff_t)(m / 2));
	if (!(med > 0))
		return b;
	b.g = 1.0 / (2.0 * med);
	for (int i = 0; i < n && b.i < 0; i++)
		for (int j = i + 1; j < n; j++)
			if (Dm[(size_t)i * n + j] == med) {
				b.i = i;
				b.j = j;
				break;
			}
	return b;
}

/* K = exp(-g D) (n x n) and its row means r. */
static void kernel(const float *Dm, int n, double g, float *K, float *r)
{
	for (int i = 0; i < n; i++) {
		double s = 0;

		for (int j = 0; j < n; j++) {
			float k = expf((float)(-g * Dm[(size_t)i * n + j]));

			K[(size_t)i * n + j] = k;
			s += k;
		}
		r[i] = (float)(s / n);
	}
}

/* Gradient of HSIC with respect to X (n x d) through the kernel K of X
 * (distances Dm, bandwidth b), Oc = H O H the other factor's centred kernel
 * (built on the fly from O and its row means ro, mean obar), c = (n-1)^2:
 *   W_ij = dHSIC/dD_ij = -g K_ij Oc_ij / c,
 *   dHSIC/dm = 2 g^2 sum_ij D_ij K_ij Oc_ij / c  (m = D at the median pair),
 *   dX_k += scale (4 (sum_j W_kj) x_k - 4 (W X)_k) and the median pair's
 *   2 dHSIC/dm (x_i - x_j) at i, minus it at j. */
static void grad(const float *X, int n, int d, const float *Dm, const float *K, struct bw b,
		 const float *O, const float *ro, double obar, double c, float scale, float *dX,
		 float *S, float *T, int nth)
{
	double dm = 0;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			size_t k = (size_t)i * n + j;
			double oc = O[k] - ro[i] - ro[j] + obar, kk = (double)K[k] * oc / c;

			S[k] = (float)(-b.g * kk);
			dm += (double)Dm[k] * kk;
		}
	dm *= 2.0 * b.g * b.g;
	fd_gemm(0, 0, n, d, n, 1.0f, S, n, X, d, 0.0f, T, d, nth); /* T = W X */
	for (int i = 0; i < n; i++) {
		double w = 0;

		for (int j = 0; j < n; j++)
			w += S[(size_t)i * n + j];
		for (int t = 0; t < d; t++)
			dX[(size_t)i * d + t] += (float)(scale * 4.0 * (w * X[(size_t)i * d + t] - T[(size_t)i * d + t]));
	}
	if (b.i >= 0)
		for (int t = 0; t < d; t++) {
			double e = 2.0 * dm * ((double)X[(size_t)b.i * d + t] - X[(size_t)b.j * d + t]);

			dX[(size_t)b.i * d + t] += (float)(scale * e);
			dX[(size_t)b.j * d + t] -= (float)(scale * e);
		}
}

double fd_hsic(const float *A, int p, const float *B, int q, int n, float scale, float *dA,
	       float *dB, float *ws, int nthreads)
{
	size_t nn = (size_t)n * n;
	float *Da = ws, *Db = Da + nn, *K = Db + nn, *L = K + nn, *S = L + nn;
	float *T = S + nn, *rk = T + (size_t)n * (p > q ? p : q), *rl = rk + n;
	double kbar = 0, lbar = 0, kl = 0, cross = 0, c = (double)(n - 1) * (n - 1), v;
	struct bw ba, bb;

	sqdist(A, n, p, Da, nthreads);
	sqdist(B, n, q, Db, nthreads);
	ba = bandwidth(Da, n, S);
	bb = bandwidth(Db, n, S);
	kernel(Da, n, ba.g, K, rk);
	kernel(Db, n, bb.g, L, rl);
	/* tr(K H L H) = sum K_ij L_ij - 2 n sum_i rk_i rl_i + n^2 kbar lbar */
	for (size_t k = 0; k < nn; k++)
		kl += (double)K[k] * L[k];
	for (int i = 0; i < n; i++) {
		kbar += rk[i];
		lbar += rl[i];
		cross += (double)rk[i] * rl[i];
	}
	kbar /= n;
	lbar /= n;
	v = (kl - 2.0 * n * cross + (double)n * n * kbar * lbar) / c;
	if (dA)
		grad(A, n, p, Da, K, ba, L, rl, lbar, c, scale, dA, S, T, nthreads);
	if (dB)
		grad(B, n, q, Db, L, bb, K, rk, kbar, c, scale, dB, S, T, nthreads);
	return v;
}
