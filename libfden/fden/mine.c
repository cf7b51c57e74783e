/* The Donsker-Varadhan bound and its (optionally bias-corrected) gradient. */
#include <math.h>

#include "fden/mine.h"

double fd_mine_dv(const float *tj, const float *tm, int n, double *lme)
{
	double sj = 0, mx = -INFINITY, se = 0, l;

	for (int i = 0; i < n; i++) {
		sj += tj[i];
		if (tm[i] > mx)
			mx = tm[i];
	}
	for (int i = 0; i < n; i++)
		se += exp((double)tm[i] - mx);
	l = mx + log(se / n); /* log mean exp t_m, stabilised */
	if (lme)
		*lme = l;
	return sj / n - l;
}

double fd_mine_ma_update(double log_ma, int have, double rate, double lme)
{
	double a, b, mx;

	if (!have || rate >= 1.0)
		return lme;
	/* log((1-r) e^log_ma + r e^lme) = logaddexp */
	a = log1p(-rate) + log_ma;
	b = log(rate) + lme;
	mx = a > b ? a : b;
	return mx + log(exp(a - mx) + exp(b - mx));
}

void fd_mine_grad(const float *tm, int n, double log_denom, float scale, float *dtj, float *dtm)
{
	for (int i = 0; i < n; i++) {
		dtj[i] = scale / n;                                            /* d mean t_j */
		dtm[i] = (float)(-scale * exp((double)tm[i] - log_denom) / n); /* d -log mean e^t_m */
	}
}
