/* Batch norm with fused activation and dropout. Column statistics are
 * accumulated row by row (contiguous, vectorised along the width). */
/* Let GCC if-convert the float selects (leaky ReLU and its derivative) into
 * vector blends; the library never reads floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>

#include "kernels/vec.h"
#include "nn/act.h"
#include "nn/batchnorm.h"
#include "nn/dropout.h"

#define FD_INLINE static inline __attribute__((always_inline))

/* Given dh = dz and the column sums sdz = sum dz, sdzx = sum dz xhat:
 * accumulate dgamma, dbeta and turn dh into the input gradient. */
static void bwd_finish(const float *restrict xhat, int n, int w, const float *restrict gamma,
		       const float *restrict inv_std, float *restrict dgamma, float *restrict dbeta,
		       float *dh, float *restrict sdz, float *restrict sdzx)
{
	float rn = 1.0f / (float)n;

	for (int j = 0; j < w; j++) {
		dgamma[j] += sdzx[j]; /* dgamma += sum dz xhat */
		dbeta[j] += sdz[j];   /* dbeta += sum dz */
		sdz[j] *= rn;         /* mean dz */
		sdzx[j] *= rn;        /* mean dz xhat */
	}
	/* dh = gamma inv_std (dz - mean dz - xhat mean(dz xhat)) */
	for (int i = 0; i < n; i++) {
		const float *restrict xr = xhat + (size_t)i * w;
		float *restrict dr = dh + (size_t)i * w;
		for (int j = 0; j < w; j++)
			dr[j] = gamma[j] * inv_std[j] * (dr[j] - sdz[j] - xr[j] * sdzx[j]);
	}
}

FD_INLINE void fwd_sweep(int act, float slope, float *restrict h, int n, int w,
			 const float *restrict gamma, const float *restrict beta,
			 const float *restrict mean, const float *restrict inv_std,
			 const float *restrict mask, float *restrict a, float *restrict y)
{
	for (int i = 0; i < n; i++) {
		float *restrict hr = h + (size_t)i * w;
		float *restrict ar = a + (size_t)i * w;

		for (int j = 0; j < w; j++) {
			float xh = (hr[j] - mean[j]) * inv_std[j]; /* xhat */
			hr[j] = xh;
			ar[j] = fd_act_f(act, gamma[j] * xh + beta[j], slope); /* act(g xhat + b) */
		}
		if (mask) {
			const float *restrict mr = mask + (size_t)i * w;
			float *restrict yr = y + (size_t)i * w;
			for (int j = 0; j < w; j++)
				yr[j] = ar[j] * mr[j]; /* y = a * mask */
		}
	}
}

void fd_bn_stats(const float *h, int n, int w, float eps, float momentum, float *run_mean,
		 float *run_var, float *mean, float *inv_std)
{
	float rn = 1.0f / (float)n;
	/* unbiased correction n / (n - 1); n = 1 has no spread to correct */
	float unb = n > 1 ? (float)n / (float)(n - 1) : 1.0f;

	/* mean = 1/n sum_i h_i */
	fd_vec_zero(mean, (size_t)w);
	fd_vec_colsum_add(mean, h, n, w);
	fd_vec_scale(mean, (size_t)w, rn);
	/* var = 1/n sum_i (h_i - mean)^2 (two-pass, kept in inv_std for now) */
	fd_vec_zero(inv_std, (size_t)w);
	for (int i = 0; i < n; i++) {
		const float *hr = h + (size_t)i * w;
		for (int j = 0; j < w; j++) {
			float d = hr[j] - mean[j];
			inv_std[j] += d * d;
		}
	}
	for (int j = 0; j < w; j++) {
		float var = inv_std[j] * rn;
		if (run_mean) /* run = momentum run + (1 - momentum) batch */
			run_mean[j] = momentum * run_mean[j] + (1.0f - momentum) * mean[j];
		if (run_var)
			run_var[j] = momentum * run_var[j] + (1.0f - momentum) * var * unb;
		inv_std[j] = 1.0f / sqrtf(var + eps); /* 1 / sqrt(var + eps) */
	}
}

void fd_bn_forward_train(float *h, int n, int w, const float *gamma, const float *beta,
			 float eps, float momentum, float *run_mean, float *run_var,
			 float *mean, float *inv_std, int act, float slope,
			 const float *mask, float *a, float *y)
{
	fd_bn_stats(h, n, w, eps, momentum, run_mean, run_var, mean, inv_std);
	switch (act) {
	case FD_ACT_LEAKY: fwd_sweep(FD_ACT_LEAKY, slope, h, n, w, gamma, beta, mean, inv_std, mask, a, y); break;
	case FD_ACT_SIGMOID: fwd_sweep(FD_ACT_SIGMOID, slope, h, n, w, gamma, beta, mean, inv_std, mask, a, y); break;
	case FD_ACT_TANH: fwd_sweep(FD_ACT_TANH, slope, h, n, w, gamma, beta, mean, inv_std, mask, a, y); break;
	default: fwd_sweep(FD_ACT_LINEAR, slope, h, n, w, gamma, beta, mean, inv_std, mask, a, y); break;
	}
}

FD_INLINE void bwd_sums(int act, float slope, const float *restrict xhat,
			const float *restrict a, const float *dy, const float *restrict mask,
			int n, int w, float *dh, float *restrict sdz, float *restrict sdzx)
{
	for (int i = 0; i < n; i++) {
		const float *xr = xhat + (size_t)i * w;
		const float *ar = a + (size_t)i * w;
		const float *gr = dy + (size_t)i * w;
		const float *mr = mask ? mask + (size_t)i * w : NULL;
		float *dr = dh + (size_t)i * w;

		for (int j = 0; j < w; j++) {
			float dz = gr[j] * fd_act_dfy(act, ar[j], slope); /* dz = dy act'(a) */
			if (mr)
				dz *= mr[j]; /* dropout mask */
			dr[j] = dz;
			sdz[j] += dz;          /* sum dz */
			sdzx[j] += dz * xr[j]; /* sum dz xhat */
		}
	}
}

void fd_bn_backward(const float *xhat, const float *a, const float *dy, const float *mask,
		    int n, int w, const float *gamma, const float *inv_std,
		    int act, float slope, float *dgamma, float *dbeta, float *dh,
		    float *scratch)
{
	float *sdz = scratch, *sdzx = scratch + w;

	fd_vec_zero(scratch, 2 * (size_t)w);
	switch (act) {
	case FD_ACT_LEAKY: bwd_sums(FD_ACT_LEAKY, slope, xhat, a, dy, mask, n, w, dh, sdz, sdzx); break;
	case FD_ACT_SIGMOID: bwd_sums(FD_ACT_SIGMOID, slope, xhat, a, dy, mask, n, w, dh, sdz, sdzx); break;
	case FD_ACT_TANH: bwd_sums(FD_ACT_TANH, slope, xhat, a, dy, mask, n, w, dh, sdz, sdzx); break;
	default: bwd_sums(FD_ACT_LINEAR, slope, xhat, a, dy, mask, n, w, dh, sdz, sdzx); break;
	}
	bwd_finish(xhat, n, w, gamma, inv_std, dgamma, dbeta, dh, sdz, sdzx);
}

/* dz = dy act'(a) [* keep], a = act(gamma xhat + beta) recomputed (the
 * forward's own expression, so the same bits); dh may alias dy */
FD_INLINE void bwd_sums_x(int act, float slope, const float *restrict xhat,
			  const float *dy, const unsigned char *restrict keep, float kscale,
			  unsigned char *restrict kb, int n, int w, const float *restrict gamma,
			  const float *restrict beta, float *dh, float *restrict sdz,
			  float *restrict sdzx)
{
	for (int i = 0; i < n; i++) {
		const float *xr = xhat + (size_t)i * w;
		const float *gr = dy + (size_t)i * w;
		const unsigned char *restrict kr = NULL;
		float *dr = dh + (size_t)i * w;

		if (keep) { /* this row's keep bits as bytes */
			fd_keep_expand(keep + (size_t)i * fd_keep_stride(w), w, kb);
			kr = kb;
		}
		for (int j = 0; j < w; j++) {
			float a = fd_act_f(act, gamma[j] * xr[j] + beta[j], slope); /* act(g xhat + b) */
			float dz = gr[j] * fd_act_dfy(act, a, slope);               /* dz = dy act'(a) */
			if (kr)
				dz *= (float)kr[j] * kscale; /* dropout keep */
			dr[j] = dz;
			sdz[j] += dz;          /* sum dz */
			sdzx[j] += dz * xr[j]; /* sum dz xhat */
		}
	}
}

void fd_bn_backward_x(const float *xhat, const float *dy, const unsigned char *keep,
		      float kscale, unsigned char *kb, int n, int w, const float *gamma,
		      const float *beta, const float *inv_std, int act, float slope,
		      float *dgamma, float *dbeta, float *dh, float *scratch)
{
	float *sdz = scratch, *sdzx = scratch + w;

	fd_vec_zero(scratch, 2 * (size_t)w);
	switch (act) {
	case FD_ACT_LEAKY: bwd_sums_x(FD_ACT_LEAKY, slope, xhat, dy, keep, kscale, kb, n, w, gamma, beta, dh, sdz, sdzx); break;
	case FD_ACT_SIGMOID: bwd_sums_x(FD_ACT_SIGMOID, slope, xhat, dy, keep, kscale, kb, n, w, gamma, beta, dh, sdz, sdzx); break;
	case FD_ACT_TANH: bwd_sums_x(FD_ACT_TANH, slope, xhat, dy, keep, kscale, kb, n, w, gamma, beta, dh, sdz, sdzx); break;
	default: bwd_sums_x(FD_ACT_LINEAR, slope, xhat, dy, keep, kscale, kb, n, w, gamma, beta, dh, sdz, sdzx); break;
	}
	bwd_finish(xhat, n, w, gamma, inv_std, dgamma, dbeta, dh, sdz, sdzx);
}

FD_INLINE void inf_sweep(int act, float slope, const float *h, int n, int w,
			 const float *restrict s, const float *restrict t, float *y)
{
	for (int i = 0; i < n; i++) {
		const float *hr = h + (size_t)i * w;
		float *yr = y + (size_t)i * w;
		for (int j = 0; j < w; j++)
			yr[j] = fd_act_f(act, hr[j] * s[j] + t[j], slope); /* act(h s + t) */
	}
}

void fd_bn_infer(const float *h, int n, int w, const float *gamma, const float *beta,
		 const float *run_mean, const float *run_var, float eps,
		 int act, float slope, float *y, float *scratch)
{
	float *s = scratch, *t = scratch + w;

	for (int j = 0; j < w; j++) {
		s[j] = gamma[j] / sqrtf(run_var[j] + eps); /* s = gamma / sqrt(var + eps) */
		t[j] = beta[j] - run_mean[j] * s[j];       /* t = beta - mean s */
	}
	switch (act) {
	case FD_ACT_LEAKY: inf_sweep(FD_ACT_LEAKY, slope, h, n, w, s, t, y); break;
	case FD_ACT_SIGMOID: inf_sweep(FD_ACT_SIGMOID, slope, h, n, w, s, t, y); break;
	case FD_ACT_TANH: inf_sweep(FD_ACT_TANH, slope, h, n, w, s, t, y); break;
	default: inf_sweep(FD_ACT_LINEAR, slope, h, n, w, s, t, y); break;
	}
}
