/* Adaptive gradient clipping of the MINE gradient (Belghazi et al.), per
 * parameter tensor: g = g_u + g_a, g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#ifndef FD_FDEN_CLIP_H
#define FD_FDEN_CLIP_H

#include <stddef.h>

/* g_u[0..n) <- g_u + g_a (clip) or g_u + g_m (!clip). Returns ||g_a|| / ||g_m||
 * (1 when !clip or g_m is zero). */
double fd_clip_adaptive(float *g_u, const float *g_m, size_t n, int clip);

/* The same combination written into out: out = g_u + g_a (or g_u + g_m
 * when !clip), the same bits as fd_clip_adaptive. out may be g_u or g_m
 * (element by element, each read before it is written); nu2 is ||g_u||^2
 * (computed when g_u was), or negative: computed here, in the pass that
 * takes ||g_m|| (fd_vec_sumsq2_fast). Then the sum, with ||out||^2 into
 * *sumsq (fd_vec_sumsq_fast's accuracy; not finite iff an element of the
 * result is not). Returns the factor f. */
double fd_clip_combine(const float *g_u, double nu2, const float *g_m, float *out, size_t n,
		       int clip, double *sumsq);

/* Euclidean norm in double. */
double fd_norm(const float *x, size_t n);

#endif
