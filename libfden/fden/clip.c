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
 * before it is written, so out may alias either input); ||out||^2 taken
 * chunk by chunk while the chunk is in L1 */
#define CHUNK 4096

FD_CLONES
double fd_clip_combine(const float *g_u, double nu2, const float *g_m, float *out, size_t n,
		       int clip, double *sumsq)
{
	double f = 1.0, sq = 0.0;
	fd_v8 fv;
	float ff;

	if (clip) {
		double nu = sqrt(nu2), nm = sqrt(fd_vec_sumsq_fast(g_m, n));

		if (nm > 0 && nu < nm)
			f = nu / nm; /* g_a = (||g_u|| / ||g_m||) g_m */
	}
	ff = (float)f;
	fv = (fd_v8){ ff, ff, ff, ff, ff, ff, ff, ff };
	for (size_t c = 0; c < n; c += CHUNK) {
		size_t e = n - c < CHUNK ? n : c + CHUNK, i = c;

		for (; i + 8 <= e; i += 8)
			*(fd_v8u *)(out + i) = *(const fd_v8u *)(g_u + i) + fv * *(const fd_v8u *)(g_m + i);
		for (; i < e; i++)
			out[i] = g_u[i] + ff * g_m[i];
		sq += fd_vec_sumsq_fast(out + c, e - c);
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
