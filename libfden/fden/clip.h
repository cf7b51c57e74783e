/* Adaptive gradient clipping of the MINE gradient (Belghazi et al.), per
 * parameter tensor: g = g_u + g_a, g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#ifndef FD_FDEN_CLIP_H
#define FD_FDEN_CLIP_H

#include <stddef.h>

/* g_u[0..n) <- g_u + g_a (clip) or g_u + g_m (!clip). Returns ||g_a|| / ||g_m||
 * (1 when !clip or g_m is zero). */
double fd_clip_adaptive(float *g_u, const float *g_m, size_t n, int clip);

/* The same combination written into g, which holds g_m on entry and
 * g_u + g_a (or g_u + g_m when !clip) on return; g_u is read only and nu2 is
 * ||g_u||^2 (fd_vec_copy_sumsq gives it when g_u is saved). Passes: ||g_m||,
 * then the sum with ||result||^2 into *sumsq (not finite iff an element of
 * the result is not). Returns the factor f. */
double fd_clip_combine(const float *restrict g_u, double nu2, float *restrict g, size_t n,
		       int clip, double *sumsq);

/* Euclidean norm in double. */
double fd_norm(const float *x, size_t n);

#endif
