/* Alignment heads (prototypical, matching, relation): episodic class
 * log-probabilities and the gradient of the summed cross entropy. */
#include <math.h>
#include <string.h>

#include "fden/align.h"

size_t fd_align_ws(int ns, int nq, int C, int dim)
{
	/* proto: centroids + their grads + counts; matching: norms + one row;
	 * relation: class sums + counts; normalised proto: its rows, their
	 * gradients, norms and the centre (2 (ns + nq) dim + ns + nq + dim)
	 * before the proto's own */
	size_t a = 2 * (size_t)C * dim + 2 * (size_t)C;
	size_t b = 3 * (size_t)ns;
	size_t r = (size_t)ns + (size_t)nq;
	return (a > b ? a : b) + 2 * r * dim + r + (size_t)dim + 48;
}

int fd_argmax(const float *x, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

/* logp = logits - logsumexp(logits) in place; returns -logp[y] (y < 0: 0);
 * when g is not NULL, g = p - onehot(y) (dCE/dlogit). */
static double log_softmax(float *l, int C, int y, float *g)
{
	double mx = l[0], s = 0, ce;

	for (int k = 1; k < C; k++)
		if (l[k] > mx)
			mx = l[k];
	for (int k = 0; k < C; k++)
		s += exp((double)l[k] - mx);
	s = mx + log(s); /* logsumexp */
	for (int k = 0; k < C; k++)
		l[k] = (float)((double)l[k] - s);
	ce = y >= 0 ? -(double)l[y] : 0;
	if (g)
		for (int k = 0; k < C; k++)
			g[k] = (float)exp((double)l[k]) - (k == y ? 1.0f : 0.0f);
	return ce;
}

double fd_align_proto(const float *S, const int32_t *ys, int ns, const float *Q,
		      const int32_t *yq, int nq, int C, int dim, float *logp,
		      float scale, float *dS, float *dQ, float *ws)
{
	float *c = ws, *dc = ws + (size_t)C * dim, *cnt = dc + (size_t)C * dim, *g = cnt + C;
	int grad = yq && (dS || dQ);
	double ce = 0;

	memset(ws, 0, (2 * (size_t)C * dim + C) * sizeof *ws);
	for (int s = 0; s < ns; s++) { /* c_k = sum_{ys = k} S_s / n_k */
		float *ck = c + (size_t)ys[s] * dim;
		for (int d = 0; d < dim; d++)
			ck[d] += S[(size_t)s * dim + d];
		cnt[ys[s]] += 1;
	}
	for (int k = 0; k < C; k++)
		for (int d = 0; d < dim; d++)
			c[(size_t)k * dim + d] /= cnt[k];
	for (int q = 0; q < nq; q++) {
		const float *x = Q + (size_t)q * dim;
		float *l = logp + (size_t)q * C;
		for (int k = 0; k < C; k++) { /* logit = -||q - c_k||^2 */
			const float *ck = c + (size_t)k * dim;
			double acc = 0;
			for (int d = 0; d < dim; d++) {
				double t = (double)x[d] - ck[d];
				acc += t * t;
			}
			l[k] = (float)-acc;
		}
		ce += log_softmax(l, C, yq ? yq[q] : -1, grad ? g : NULL);
		if (!grad)
			continue;
		for (int k = 0; k < C; k++) {
			/* dlogit/dq = -2 (q - c_k), dlogit/dc_k = 2 (q - c_k) */
			const float *ck = c + (size_t)k * dim;
			float *dck = dc + (size_t)k * dim;
			float gk = scale * g[k];
			for (int d = 0; d < dim; d++) {
				float t = 2.0f * gk * (x[d] - ck[d]);
				if (dQ)
					dQ[(size_t)q * dim + d] -= t;
				dck[d] += t;
			}
		}
	}
	if (grad && dS)
		for (int s = 0; s < ns; s++) { /* dS_s += dc_{ys} / n_{ys} */
			const float *dck = dc + (size_t)ys[s] * dim;
			float inv = 1.0f / cnt[ys[s]];
			for (int d = 0; d < dim; d++)
				dS[(size_t)s * dim + d] += dck[d] * inv;
		}
	return ce;
}

static double dot(const float *a, const float *b, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

double fd_align_matching(const float *S, const int32_t *ys, int ns, const float *Q,
			 const int32_t *yq, int nq, int C, int dim, float *logp,
			 float scale, float *dS, float *dQ, float *ws)
{
	float *sn = ws, *cs = ws + ns, *a = cs + ns;
	int grad = yq && (dS || dQ);
	double ce = 0;

	for (int s = 0; s < ns; s++) /* |s|, floored to avoid 0/0 */
		sn[s] = (float)fmax(sqrt(dot(S + (size_t)s * dim, S + (size_t)s * dim, dim)), 1e-8);
	for (int q = 0; q < nq; q++) {
		const float *x = Q + (size_t)q * dim;
		float *l = logp + (size_t)q * C;
		double qn = fmax(sqrt(dot(x, x, dim)), 1e-8), mx = -2, sum = 0;
		int y = yq ? yq[q] : -1;

		for (int s = 0; s < ns; s++) { /* cos(q, s) = q.s / (|q||s|) */
			cs[s] = (float)(dot(x, S + (size_t)s * dim, dim) / (qn * sn[s]));
			if (cs[s] > mx)
				mx = cs[s];
		}
		for (int s = 0; s < ns; s++) {
			a[s] = (float)exp(cs[s] - mx);
			sum += a[s];
		}
		for (int k = 0; k < C; k++)
			l[k] = 0;
		for (int s = 0; s < ns; s++) { /* P_qk = sum_{ys = k} softmax_s(cos) */
			a[s] = (float)(a[s] / sum);
			l[ys[s]] += a[s];
		}
		if (y >= 0)
			ce += -log(fmax(l[y], 1e-30));
		if (grad) {
			/* dCE/dcos_qs = a_qs (1 - [ys = y] / P_qy) */
			double py = fmax(l[y], 1e-30);
			for (int s = 0; s < ns; s++) {
				const float *sv = S + (size_t)s * dim;
				double gc = scale * a[s] * (1.0 - (ys[s] == y ? 1.0 / py : 0.0));
				double inv = 1.0 / (qn * sn[s]);
				/* dcos/dq = s/(|q||s|) - cos q/|q|^2, dcos/ds = q/(|q||s|) - cos s/|s|^2 */
				for (int d = 0; d < dim; d++) {
					if (dQ)
						dQ[(size_t)q * dim + d] += (float)(gc * (sv[d] * inv - cs[s] * x[d] / (qn * qn)));
					if (dS)
						dS[(size_t)s * dim + d] += (float)(gc * (x[d] * inv - cs[s] * sv[d] / ((double)sn[s] * sn[s])));
				}
			}
		}
		for (int k = 0; k < C; k++)
			l[k] = (float)log(fmax(l[k], 1e-30));
	}
	return ce;
}

void fd_align_relation_pairs(const float *S, int ns, const float *Q, int nq, int dim, float *P)
{
	for (int q = 0; q < nq; q++)
		for (int s = 0; s < ns; s++) {
			float *row = P + ((size_t)q * ns + s) * 2 * dim;
			memcpy(row, Q + (size_t)q * dim, dim * sizeof *row);
			memcpy(row + dim, S + (size_t)s * dim, dim * sizeof *row);
		}
}

double fd_align_relation_loss(const float *r, const int32_t *ys, int ns, const int32_t *yq,
			      int nq, int C, float *logp, float scale, float *dr, float *ws)
{
	float *cnt = ws, *g = ws + C;
	double ce = 0;

	memset(cnt, 0, C * sizeof *cnt);
	for (int s = 0; s < ns; s++)
		cnt[ys[s]] += 1;
	for (int q = 0; q < nq; q++) {
		float *l = logp + (size_t)q * C;
		const float *rq = r + (size_t)q * ns;
		int y = yq ? yq[q] : -1;

		for (int k = 0; k < C; k++)
			l[k] = 0;
		for (int s = 0; s < ns; s++) /* logit_qk = mean_{ys = k} r_qs */
			l[ys[s]] += rq[s];
		for (int k = 0; k < C; k++)
			l[k] /= cnt[k];
		ce += log_softmax(l, C, y, (yq && dr) ? g : NULL);
		if (yq && dr)
			for (int s = 0; s < ns; s++) /* dr_qs = g_{ys} / n_{ys} */
				dr[(size_t)q * ns + s] = scale * g[ys[s]] / cnt[ys[s]];
	}
	return ce;
}

void fd_align_relation_scatter(const float *dP, int ns, int nq, int dim, float *dS, float *dQ)
{
	for (int q = 0; q < nq; q++)
		for (int s = 0; s < ns; s++) {
			const float *row = dP + ((size_t)q * ns + s) * 2 * dim;
			if (dQ)
				for (int d = 0; d < dim; d++)
					dQ[(size_t)q * dim + d] += row[d];
			if (dS)
				for (int d = 0; d < dim; d++)
					dS[(size_t)s * dim + d] += row[dim + d];
		}
}

/* ||u||, floored: a row at the centre gets a zero direction, not NaN */
static double row_norm(const float *u, int dim)
{
	return fmax(sqrt(dot(u, u, dim)), 1e-6);
}

double fd_align_proto_norm(const float *S, const int32_t *ys, int ns, const float *Q,
			   const int32_t *yq, int nq, int C, int dim, int mode, float log_t,
			   float *logp, float scale, float *dS, float *dQ, float *dlog_t, float *ws)
{
	const size_t r = (size_t)ns + (size_t)nq, rd = r * (size_t)dim;
	float *X = ws, *dX = X + rd, *nrm = dX + rd, *mu = nrm + r;
	float *pws = mu + ((size_t)dim + 15) / 16 * 16;
	int grad = yq && (dS || dQ || dlog_t);
	float st = expf(0.5f * log_t); /* rows scaled by sqrt(t): -||.||^2 is then -t ||.||^2 */
	double ce;

	memset(mu, 0, (size_t)dim * sizeof *mu);
	if (mode == FD_ALIGN_NORM_CENTRE) { /* mu = mean of the support rows */
		for (int s = 0; s < ns; s++)
			for (int d = 0; d < dim; d++)
				mu[d] += S[(size_t)s * dim + d];
		for (int d = 0; d < dim; d++)
			mu[d] /= (float)ns;
	}
	for (size_t i = 0; i < r; i++) { /* X_i = sqrt(t) (x_i - mu) / ||x_i - mu|| */
		const float *x = i < (size_t)ns ? S + i * dim : Q + (i - ns) * dim;
		float *u = X + i * dim;
		for (int d = 0; d < dim; d++)
			u[d] = x[d] - mu[d];
		nrm[i] = (float)row_norm(u, dim);
		for (int d = 0; d < dim; d++)
			u[d] *= st / nrm[i];
	}
	if (grad)
		memset(dX, 0, rd * sizeof *dX);
	ce = fd_align_proto(X, ys, ns, X + (size_t)ns * dim, yq, nq, C, dim, logp, scale,
			    grad ? dX : NULL, grad ? dX + (size_t)ns * dim : NULL, pws);
	if (!grad)
		return ce;
	{
		/* dX/dlog_t = X / 2; with v = X / sqrt(t) the unit row, dL/dv =
		 * sqrt(t) dX, and dL/du = (dL/dv - v (v . dL/dv)) / ||u|| */
		double dl = 0;
		for (size_t i = 0; i < r; i++) {
			float *u = X + i * dim, *g = dX + i * dim;
			double vg = 0;
			dl += 0.5 * dot(u, g, dim);
			for (int d = 0; d < dim; d++)
				vg += (double)(u[d] / st) * (st * g[d]);
			for (int d = 0; d < dim; d++) /* g becomes dL/du */
				g[d] = (float)((st * g[d] - (u[d] / st) * vg) / nrm[i]);
		}
		if (dlog_t)
			*dlog_t += (float)dl;
	}
	/* mu = mean of the supports: each support also gets -sum_i dL/du_i / ns */
	memset(mu, 0, (size_t)dim * sizeof *mu);
	if (mode == FD_ALIGN_NORM_CENTRE)
		for (size_t i = 0; i < r; i++)
			for (int d = 0; d < dim; d++)
				mu[d] -= dX[i * dim + d] / (float)ns;
	for (int s = 0; s < ns && dS; s++)
		for (int d = 0; d < dim; d++)
			dS[(size_t)s * dim + d] += dX[(size_t)s * dim + d] + mu[d];
	for (int q = 0; q < nq && dQ; q++)
		for (int d = 0; d < dim; d++)
			dQ[(size_t)q * dim + d] += dX[((size_t)ns + q) * dim + d];
	return ce;
}
