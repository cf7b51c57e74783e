/* Adaptive gradient clipping: g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#include <math.h>

#include "core/clones.h"
#include "fden/clip.h"
#include "kernels/vec.h"

double fd_norm(const float *x, size_t n)
{
	return sqrt(fd_vec_sumsq(x, n)); /* 8-lane double sum */
}

/* out = g_u + f g_m in float, 8 lanes at a time (each vector read whole
 * before it is written, so out may alias either input), with ||out||^2 as
 * fd_vec_sumsq_fast sums it, block by block (fd_sq_block) */

FD_CLONES
double fd_clip_combine(const float *g_u, double nu2, const float *g_m, float *out, size_t n,
		       int clip, double *sumsq)
{
	double f = 1.0, sq = 0.0;
	size_t i = 0;
	fd_v8 fv;
	float ff;

	if (clip) {
		double nm2;

		if (nu2 < 0) /* both norms in one pass */
			nu2 = fd_vec_sumsq2_fast(g_u, g_m, n, &nm2);
		else
			nm2 = fd_vec_sumsq_fast(g_m, n);
		if (nm2 > 0 && nu2 < nm2)
			f = sqrt(nu2) / sqrt(nm2); /* g_a = (||g_u|| / ||g_m||) g_m */
	}
	ff = (float)f;
	fv = (fd_v8){ ff, ff, ff, ff, ff, ff, ff, ff };
	while (i + FD_SQ_BLOCK <= n) {
		float *o0 = out + i;
		fd_v8 a0 = { 0 }, a1 = { 0 };

		for (size_t e = i + FD_SQ_BLOCK; i < e; i += 16) {
			fd_v8 v0 = *(const fd_v8u *)(g_u + i) + fv * *(const fd_v8u *)(g_m + i);
			fd_v8 v1 = *(const fd_v8u *)(g_u + i + 8) + fv * *(const fd_v8u *)(g_m + i + 8);
			*(fd_v8u *)(out + i) = v0;
			*(fd_v8u *)(out + i + 8) = v1;
			a0 += v0 * v0;
			a1 += v1 * v1;
		}
		a0 += a1;
		sq += fd_sq_block(&a0, o0);
	}
	for (; i < n; i++) {
		out[i] = g_u[i] + ff * g_m[i];
		sq += (double)out[i] * out[i];
	}
	*sumsq = sq;
	return f;
}

double fd_clip_adaptive(float *g_u, const float *g_m, size_t n, int clip)
{
	double nu, nm, f = 1.0;

	if (clip) {
		nu = fd_norm(g_u, n);
		nm = fd_norm(g_m, n);
		if (nm > 0 && nu < nm)
			f = nu / nm; /* g_a = (||g_u|| / ||g_m||) g_m */
	}
	for (size_t i = 0; i < n; i++)
		g_u[i] += (float)f * g_m[i]; /* as fd_clip_combine */
	return f;
}
