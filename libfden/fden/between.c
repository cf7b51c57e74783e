/* The style factor's between-class share (between.h). */
#include <string.h>

#include "fden/between.h"

size_t fd_sty_between_ws(int ways, int dim)
{
	/* doubles: class sums (ways x dim), column means and T, the ratios;
	 * ints: class counts */
	size_t d = (size_t)(ways + 3) * (size_t)dim, c = (size_t)ways;
	return 2 * d + c;
}

double fd_sty_between(const float *F, int dim, const int32_t *y, int E, int R, int ways,
		      float scale, float *dF, float *ws)
{
	double *sum = (double *)ws, *mean = sum + (size_t)ways * dim, *tot = mean + dim,
	       *ratio = tot + dim;
	int *cnt = (int *)(ratio + dim);
	double L = 0;

	if (E < 1 || R < 2 || dim < 1 || ways < 1)
		return 0;
	for (int e = 0; e < E; e++) {
		const float *Fe = F + (size_t)e * R * dim;
		const int32_t *ye = y + (size_t)e * R;

		memset(sum, 0, (size_t)ways * dim * sizeof *sum);
		memset(mean, 0, (size_t)dim * sizeof *mean);
		memset(tot, 0, (size_t)dim * sizeof *tot);
		memset(cnt, 0, (size_t)ways * sizeof *cnt);
		for (int i = 0; i < R; i++) {
			const float *r = Fe + (size_t)i * dim;
			for (int k = 0; k < dim; k++)
				mean[k] += r[k];
		}
		for (int k = 0; k < dim; k++)
			mean[k] /= R;
		for (int i = 0; i < R; i++) {
			const float *r = Fe + (size_t)i * dim;
			double *s = sum + (size_t)ye[i] * dim;
			cnt[ye[i]]++;
			for (int k = 0; k < dim; k++) {
				double v = r[k] - mean[k];
				s[k] += v;
				tot[k] += v * v;
			}
		}
		for (int k = 0; k < dim; k++) {
			double b = 0;
			for (int c = 0; c < ways; c++)
				if (cnt[c])
					b += sum[(size_t)c * dim + k] * sum[(size_t)c * dim + k] / cnt[c];
			ratio[k] = tot[k] > 1e-12 ? b / tot[k] : 0;
			L += ratio[k];
		}
		if (!dF)
			continue;
		double g = 2.0 * scale / ((double)E * dim);
		for (int c = 0; c < ways; c++) /* the class sums become class means */
			for (int k = 0; k < dim; k++)
				if (cnt[c])
					sum[(size_t)c * dim + k] /= cnt[c];
		for (int i = 0; i < R; i++) {
			const float *r = Fe + (size_t)i * dim;
			const double *yb = sum + (size_t)ye[i] * dim;
			float *d = dF + ((size_t)e * R + i) * dim;
			for (int k = 0; k < dim; k++)
				if (tot[k] > 1e-12)
					d[k] += (float)(g * (yb[k] - ratio[k] * (r[k] - mean[k])) / tot[k]);
		}
	}
	return L / ((double)E * dim);
}
