/* Adaptive gradient clipping: g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#include <math.h>

#include "core/clones.h"
#include "fden/clip.h"
#include "kernels/vec.h"

double fd_norm(const float *x, size_t n)
{
	return sqrt(fd_vec_sumsq(x, n)); /* 8-lane double sum */
}

#define LANES 8

static double lanes_sum(const double *a)
{
	double s = 0;

	for (int l = 0; l < LANES; l++)
		s += a[l];
	return s;
}

/* the AVX2 clone sums 4 lanes a step (same per-lane order: same bits) */
FD_CLONES
double fd_clip_combine(const float *restrict g_u, double nu2, float *restrict g, size_t n,
		       int clip, double *sumsq)
{
	double f = 1.0, as[LANES] = {0};
	size_t i;

	if (clip) {
		double nu = sqrt(nu2), nm = sqrt(fd_vec_sumsq(g, n));

		if (nm > 0 && nu < nm)
			f = nu / nm; /* g_a = (||g_u|| / ||g_m||) g_m */
	}
	/* g = g_u + f g_m, and ||g||^2 on the way */
	for (i = 0; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++) {
			float v = g_u[i + l] + (float)(f * g[i + l]);
			g[i + l] = v;
			as[l] += (double)v * v;
		}
	for (; i < n; i++) {
		float v = g_u[i] + (float)(f * g[i]);
		g[i] = v;
		as[0] += (double)v * v;
	}
	*sumsq = lanes_sum(as);
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
		g_u[i] += (float)(f * g_m[i]);
	return f;
}
