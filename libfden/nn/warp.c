/* Random affine warps with bilinear sampling; see warp.h. */
#include <math.h>
#include <string.h>

#include "nn/warp.h"

#define WARP_PI 3.14159265358979323846

void fd_warp_one(const float *X, int h, int w, int c, float deg, float s, float tx,
		 float ty, float *Y)
{
	double a = deg * WARP_PI / 180.0, ca = cos(a) / s, sa = sin(a) / s;
	double cx = 0.5 * w, cy = 0.5 * h;

	for (int y = 0; y < h; y++) {
		double yp = y + 0.5 - cy;

		for (int x = 0; x < w; x++) {
			double xp = x + 0.5 - cx;
			/* source point, pixel centres at integer + 1/2 */
			double u = ca * xp - sa * yp + tx + cx - 0.5;
			double v = sa * xp + ca * yp + ty + cy - 0.5;
			double fu = floor(u), fv = floor(v);
			int u0 = (int)fu, v0 = (int)fv;
			float au = (float)(u - fu), av = (float)(v - fv);
			float *yo = Y + ((size_t)y * w + x) * c;

			memset(yo, 0, (size_t)c * sizeof(float));
			for (int dv = 0; dv < 2; dv++) {
				int vv = v0 + dv;
				float wv = dv ? av : 1.0f - av;

				if (vv < 0 || vv >= h || wv == 0.0f)
					continue;
				for (int du = 0; du < 2; du++) {
					int uu = u0 + du;
					float wt = wv * (du ? au : 1.0f - au);
					const float *xi;

					if (uu < 0 || uu >= w || wt == 0.0f)
						continue;
					xi = X + ((size_t)vv * w + uu) * c;
					for (int k = 0; k < c; k++)
						yo[k] += wt * xi[k];
				}
			}
		}
	}
}

void fd_warp_batch(const float *X, int n, int h, int w, int c, const struct fd_warp *cfg,
		   struct fd_rng *rng, float *Y)
{
	size_t in = (size_t)h * w * c;

	for (int i = 0; i < n; i++) {
		float deg = (2.0f * fd_rng_uniform(rng) - 1.0f) * cfg->rot_deg;
		float s = 1.0f + (2.0f * fd_rng_uniform(rng) - 1.0f) * cfg->scale;
		float tx = (2.0f * fd_rng_uniform(rng) - 1.0f) * cfg->shift;
		float ty = (2.0f * fd_rng_uniform(rng) - 1.0f) * cfg->shift;

		fd_warp_one(X + i * in, h, w, c, deg, s, tx, ty, Y + i * in);
	}
}
