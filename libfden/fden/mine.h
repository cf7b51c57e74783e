/* MINE: the Donsker-Varadhan bound on I(f_ide; f_sty) from the
 * statistician's outputs on joint rows t_j and shuffled (marginal) rows t_m,
 * and its gradient, optionally with the moving-average bias correction of
 * Belghazi et al. (the denominator's gradient uses a running average). */
#ifndef FD_FDEN_MINE_H
#define FD_FDEN_MINE_H

/* L_M = mean_i t_j[i] - log mean_i exp t_m[i]; *lme = log mean exp t_m. */
double fd_mine_dv(const float *tj, const float *tm, int n, double *lme);

/* Log of the moving average of mean exp t_m after one more batch:
 * log((1 - rate) exp(log_ma) + rate exp(lme)); lme itself when !have. */
double fd_mine_ma_update(double log_ma, int have, double rate, double lme);

/* Gradient of scale * L_M with the denominator D = exp(log_denom) held
 * constant: dtj[i] = scale / n, dtm[i] = -scale exp(t_m[i] - log_denom) / n.
 * With log_denom = lme this is the exact gradient of scale * L_M. */
void fd_mine_grad(const float *tm, int n, double log_denom, float scale, float *dtj, float *dtm);

#endif
