/* Adaptive gradient clipping: g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#include <math.h>

#include "fden/clip.h"

double fd_norm(const float *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return sqrt(s);
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
