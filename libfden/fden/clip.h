/* Adaptive gradient clipping of the MINE gradient (Belghazi et al.), per
 * parameter tensor: g = g_u + g_a, g_a = min(||g_u||, ||g_m||) g_m / ||g_m||. */
#ifndef FD_FDEN_CLIP_H
#define FD_FDEN_CLIP_H

#include <stddef.h>

/* g_u[0..n) <- g_u + g_a (clip) or g_u + g_m (!clip). Returns ||g_a|| / ||g_m||
 * (1 when !clip or g_m is zero). */
double fd_clip_adaptive(float *g_u, const float *g_m, size_t n, int clip);

/* Euclidean norm in double. */
double fd_norm(const float *x, size_t n);

#endif
