/* im2col / col2im, channels-last. Within one window row (fixed ky) the
 * pixels read by consecutive kx are consecutive in memory, so each window
 * row is one copy (or one add loop) of the in-range run of kx c floats. */
#include <string.h>

#include "nn/im2col.h"

/* The in-range kx of a window whose left edge is x0: [*lo, *hi). */
static void kx_range(int x0, int k, int w, int *lo, int *hi)
{
	*lo = x0 < 0 ? -x0 : 0;
	*hi = x0 + k > w ? w - x0 : k;
	if (*hi < *lo)
		*hi = *lo;
}

void fd_im2col(const float *restrict x, int n, const struct fd_patch_geom *g,
	       float *restrict col)
{
	const int k = g->k, c = g->c, kc = k * c;
	const size_t img = (size_t)g->h * g->w * c, rowlen = (size_t)k * kc;

	for (int b = 0; b < n; b++) {
		const float *xi = x + (size_t)b * img;
		for (int gy = 0; gy < g->gh; gy++) {
			for (int gx = 0; gx < g->gw; gx++) {
				int y0 = gy * g->s - g->p, x0 = gx * g->s - g->p, lo, hi;
				float *r = col;

				kx_range(x0, k, g->w, &lo, &hi);
				for (int ky = 0; ky < k; ky++, r += kc) {
					int y = y0 + ky;
					if (y < 0 || y >= g->h || hi == lo) {
						memset(r, 0, (size_t)kc * sizeof(float));
						continue;
					}
					if (lo > 0)
						memset(r, 0, (size_t)lo * c * sizeof(float));
					memcpy(r + (size_t)lo * c,
					       xi + ((size_t)y * g->w + x0 + lo) * c,
					       (size_t)(hi - lo) * c * sizeof(float));
					if (hi < k)
						memset(r + (size_t)hi * c, 0,
						       (size_t)(k - hi) * c * sizeof(float));
				}
				col += rowlen;
			}
		}
	}
}

void fd_col2im(const float *restrict col, int n, const struct fd_patch_geom *g,
	       float *restrict x)
{
	const int k = g->k, c = g->c, kc = k * c;
	const size_t img = (size_t)g->h * g->w * c, rowlen = (size_t)k * kc;

	for (int b = 0; b < n; b++) {
		float *xi = x + (size_t)b * img;
		for (int gy = 0; gy < g->gh; gy++) {
			for (int gx = 0; gx < g->gw; gx++) {
				int y0 = gy * g->s - g->p, x0 = gx * g->s - g->p, lo, hi;
				const float *r = col;

				kx_range(x0, k, g->w, &lo, &hi);
				for (int ky = 0; ky < k; ky++, r += kc) {
					int y = y0 + ky, len = (hi - lo) * c;
					const float *src;
					float *dst;

					if (y < 0 || y >= g->h)
						continue;
					src = r + (size_t)lo * c;
					dst = xi + ((size_t)y * g->w + x0 + lo) * c;
					for (int j = 0; j < len; j++)
						dst[j] += src[j]; /* x += col */
				}
				col += rowlen;
			}
		}
	}
}
