/* Few-shot evaluation on unseen classes and the disentanglement measures.
 *
 * The raw-z nearest-class-mean rows of each task go through the library's
 * fden_fewshot_eval with one seed (SimpleShot is its transform); every other
 * row (f_ide, f_sty, standardised z, matching, the alignment head, swap
 * retention) runs on the episodes it reports. Nothing is computed for the
 * whole test set but streamed moments (evrows.c): each episode's and each
 * measure's rows are disentangled when it needs them, so memory follows the
 * episode and subset sizes, not the test set. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cca.h"
#include "eval.h"
#include "evrows.h"
#include "json.h"

const char *const ev_row_names[EV_N_ROWS] = {
	"f_ide",
	"f_ide_simpleshot",
	"f_sty",
	"z_proto",
	"z_match",
	"z_std_proto",
	"z_simpleshot",
	"fden_head",
};
const char *const ev_row_titles[EV_N_ROWS] = {
	"f_ide, prototypical",
	"f_ide, SimpleShot",
	"f_sty, prototypical",
	"raw z, prototypical",
	"raw z, matching (cosine)",
	"standardised z, prototypical",
	"raw z, SimpleShot",
	"f_ide, FDEN alignment head",
};

static _Thread_local char ev_err[512];

const char *ev_last_error(void)
{
	return ev_err;
}

/* Record "what: detail" and pass the status through. */
static int fail(int status, const char *fmt, ...) FDEN_PRINTF(2, 3);
static int fail(int status, const char *fmt, ...)
{
	va_list ap;
	char what[256];
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *d = fden_last_error();
	snprintf(ev_err, sizeof ev_err, "%s: %s", what,
		 status == FDEN_E_NOMEM ? "out of memory" : d && *d ? d
								    : fden_strerror(status));
	return status;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64: the evaluation's own small generator (pair partners). */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ev_options_default(struct ev_options *o)
{
	memset(o, 0, sizeof *o);
	o->episodes = 1000;
	o->queries = 15;
	o->seed = 1;
	o->n_tasks = 3;
	o->tasks[0] = (struct ev_task){ 5, 1 };
	o->tasks[1] = (struct ev_task){ 5, 5 };
	o->tasks[2] = (struct ev_task){ 20, 1 };
	o->psnr_rows = 2000;
	o->psnr_peak = 1.0;
	o->nn_rows = 2000;
	o->cca_rows = 20000;
	o->cca_ridge = 1e-4;
	o->check_episodes = 5;
	o->probe_classes = 100;
	o->probe_iters = 300;
	o->probe_l2 = 1e-3;
	o->hsic_rows = 2000;
	o->hsic_perms = 200;
	o->judge_pairs = 2000;
}

/* ---- building blocks ---- */

void ev_proto_predict(const float *support, const int32_t *labels, size_t n_support,
		      size_t ways, const float *query, size_t n_query, size_t dim, double *work,
		      int32_t *pred)
{
	double *mean = work, *cnt = work + ways * dim;
	memset(work, 0, (ways * dim + ways) * sizeof *work);
	for (size_t i = 0; i < n_support; i++) {
		size_t c = (size_t)labels[i];
		cnt[c] += 1;
		for (size_t j = 0; j < dim; j++)
			mean[c * dim + j] += support[i * dim + j];
	}
	for (size_t c = 0; c < ways; c++)
		for (size_t j = 0; j < dim; j++)
			mean[c * dim + j] /= cnt[c] > 0 ? cnt[c] : 1; /* mu_c = mean of class c */
	for (size_t q = 0; q < n_query; q++) {
		double best = INFINITY;
		int32_t arg = 0;
		for (size_t c = 0; c < ways; c++) {
			double d = 0;
			for (size_t j = 0; j < dim; j++) {
				double t = query[q * dim + j] - mean[c * dim + j];
				d += t * t; /* ||q - mu_c||^2 */
			}
			if (cnt[c] > 0 && d < best) {
				best = d;
				arg = (int32_t)c;
			}
		}
		pred[q] = arg;
	}
}

static double norm(const float *x, size_t dim)
{
	double s = 0;
	for (size_t j = 0; j < dim; j++)
		s += (double)x[j] * x[j];
	return sqrt(s);
}

void ev_match_predict(const float *support, const int32_t *labels, size_t n_support,
		      size_t ways, const float *query, size_t n_query, size_t dim, double *work,
		      int32_t *pred)
{
	double *cosv = work, *score = work + n_support;
	for (size_t q = 0; q < n_query; q++) {
		const float *qq = query + q * dim;
		double nq = norm(qq, dim), mx = -INFINITY, z = 0;
		for (size_t i = 0; i < n_support; i++) {
			const float *s = support + i * dim;
			double dot = 0, ns = norm(s, dim);
			for (size_t j = 0; j < dim; j++)
				dot += (double)qq[j] * s[j];
			cosv[i] = dot / (nq * ns + 1e-12); /* cos(q, s_i) */
			if (cosv[i] > mx)
				mx = cosv[i];
		}
		memset(score, 0, ways * sizeof *score);
		for (size_t i = 0; i < n_support; i++) {
			double a = exp(cosv[i] - mx); /* softmax over the support set */
			z += a;
			score[labels[i]] += a;
		}
		int32_t arg = 0;
		for (size_t c = 1; c < ways; c++)
			if (score[c] > score[arg])
				arg = (int32_t)c;
		pred[q] = arg;
		(void)z;
	}
}

void ev_mean_ci95(const double *v, size_t n, double *mean, double *ci95)
{
	double m = 0, s = 0;
	for (size_t i = 0; i < n; i++)
		m += v[i];
	m = n ? m / (double)n : NAN;
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	*mean = m;
	*ci95 = n > 1 ? 1.96 * sqrt(s / (double)(n - 1)) / sqrt((double)n) : NAN;
}

double ev_psnr(const float *a, const float *b, size_t n, double peak)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double t = (double)a[i] - b[i];
		s += t * t;
	}
	s /= n ? (double)n : 1;
	if (s <= 0)
		return INFINITY;
	return 10 * log10(peak * peak / s); /* 10 log10(peak^2 / mse) */
}

double ev_loo_1nn(const float *x, const int32_t *y, size_t n, size_t dim)
{
	size_t right = 0;
	for (size_t i = 0; i < n; i++) {
		double best = INFINITY;
		size_t arg = i;
		for (size_t k = 0; k < n; k++) {
			if (k == i)
				continue;
			double d = 0;
			for (size_t j = 0; j < dim && d < best; j++) {
				double t = (double)x[i * dim + j] - x[k * dim + j];
				d += t * t;
			}
			if (d < best) {
				best = d;
				arg = k;
			}
		}
		right += arg != i && y[arg] == y[i];
	}
	return n ? (double)right / (double)n : NAN;
}

static size_t argmax(const float *p, size_t n)
{
	size_t a = 0;
	for (size_t i = 1; i < n; i++)
		if (p[i] > p[a])
			a = i;
	return a;
}

int ev_best_raw(const struct ev_fewshot *t, double *acc)
{
	int best = EV_Z_PROTO;
	for (int k = 0; k < EV_N_ROWS; k++)
		if (EV_IS_RAW_Z(k) && t->mean[k] > t->mean[best])
			best = k;
	if (acc)
		*acc = t->mean[best];
	return best;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Labels as 0..C-1 (sorted order) in out; C in *nc. 0, or -1 (memory). */
static int remap(const int32_t *y, size_t n, int32_t *out, size_t *nc)
{
	int32_t *u = malloc((n ? n : 1) * sizeof *u);
	if (!u)
		return -1;
	memcpy(u, y, n * sizeof *u);
	qsort(u, n, sizeof *u, cmp_i32);
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (!c || u[c - 1] != u[i])
			u[c++] = u[i];
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = c; /* binary search: u[lo] == y[i] */
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (u[mid] <= y[i])
				lo = mid;
			else
				hi = mid;
		}
		out[i] = (int32_t)lo;
	}
	*nc = c;
	free(u);
	return 0;
}

/* out (n x C) = X (n x D) W (D x C). */
static void matmul(const float *X, const float *W, size_t n, size_t D, size_t C, float *out)
{
	for (size_t i = 0; i < n; i++) {
		float *o = out + i * C;
		memset(o, 0, C * sizeof *o);
		for (size_t k = 0; k < D; k++) {
			float xv = X[i * D + k];
			const float *w = W + k * C;
			for (size_t c = 0; c < C; c++)
				o[c] += xv * w[c];
		}
	}
}

double ev_probe(const float *x, const int32_t *y, size_t n, size_t dim, size_t iters, double l2,
		size_t *n_train, size_t *n_test)
{
	size_t C = 0, D = dim + 1, ntr = 0, nte = 0;
	double accv = NAN;
	int32_t *cls = malloc((n ? n : 1) * sizeof *cls);
	size_t *seen = NULL;
	float *Xtr = NULL, *Xte = NULL, *W = NULL, *G = NULL, *Pm = NULL, *Pv = NULL, *L = NULL;
	int32_t *ytr = NULL, *yte = NULL;
	double *mu = NULL;
	if (!cls || remap(y, n, cls, &C))
		goto out;
	seen = calloc(C, sizeof *seen);
	mu = calloc(2 * D, sizeof *mu);
	if (!seen || !mu)
		goto out;
	for (size_t i = 0; i < n; i++)
		seen[cls[i]]++;
	for (size_t c = 0; c < C; c++)
		if (seen[c] < 2)
			goto out; /* a class without a test (or training) row */
	memset(seen, 0, C * sizeof *seen);
	for (size_t i = 0; i < n; i++)
		ntr += seen[cls[i]]++ % 2 == 0; /* the 1st, 3rd, ... row of a class trains */
	nte = n - ntr;
	Xtr = malloc(ntr * D * sizeof *Xtr);
	Xte = malloc(nte * D * sizeof *Xte);
	ytr = malloc(ntr * sizeof *ytr);
	yte = malloc(nte * sizeof *yte);
	W = calloc(D * C, sizeof *W);
	G = malloc(D * C * sizeof *G);
	Pm = calloc(D * C, sizeof *Pm);
	Pv = calloc(D * C, sizeof *Pv);
	L = malloc((ntr > nte ? ntr : nte) * C * sizeof *L);
	if (!Xtr || !Xte || !ytr || !yte || !W || !G || !Pm || !Pv || !L)
		goto out;
	memset(seen, 0, C * sizeof *seen);
	for (size_t i = 0, a = 0, b = 0; i < n; i++) {
		int tr = seen[cls[i]]++ % 2 == 0;
		float *row = tr ? Xtr + a * D : Xte + b * D;
		memcpy(row, x + i * dim, dim * sizeof *row);
		row[dim] = 1; /* bias */
		if (tr)
			ytr[a++] = cls[i];
		else
			yte[b++] = cls[i];
	}
	/* standardise by the training half's moments */
	double *sd = mu + D;
	for (size_t i = 0; i < ntr; i++)
		for (size_t k = 0; k < dim; k++)
			mu[k] += Xtr[i * D + k];
	for (size_t k = 0; k < dim; k++)
		mu[k] /= (double)ntr;
	for (size_t i = 0; i < ntr; i++)
		for (size_t k = 0; k < dim; k++)
			sd[k] += (Xtr[i * D + k] - mu[k]) * (Xtr[i * D + k] - mu[k]);
	for (size_t k = 0; k < dim; k++)
		sd[k] = fmax(sqrt(sd[k] / (double)ntr), 1e-6);
	for (size_t i = 0; i < ntr + nte; i++) {
		float *row = i < ntr ? Xtr + i * D : Xte + (i - ntr) * D;
		for (size_t k = 0; k < dim; k++)
			row[k] = (float)((row[k] - mu[k]) / sd[k]);
	}
	/* full-batch Adam on mean cross-entropy + l2/2 ||W||^2 (bias row unpenalised) */
	const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
	double c1 = 1, c2 = 1;
	for (size_t it = 0; it < iters; it++) {
		matmul(Xtr, W, ntr, D, C, L);
		for (size_t i = 0; i < ntr; i++) { /* L <- (softmax(L) - onehot(y)) / ntr */
			float *r = L + i * C, mx = r[0];
			for (size_t c = 1; c < C; c++)
				mx = r[c] > mx ? r[c] : mx;
			double z = 0;
			for (size_t c = 0; c < C; c++) {
				r[c] = expf(r[c] - mx);
				z += r[c];
			}
			float inv = (float)(1 / z);
			for (size_t c = 0; c < C; c++)
				r[c] *= inv;
			r[ytr[i]] -= 1;
			for (size_t c = 0; c < C; c++)
				r[c] /= (float)ntr;
		}
		for (size_t k = 0; k < D * C; k++) /* G = l2 W (weights), 0 (bias) */
			G[k] = k < dim * C ? (float)(l2 * W[k]) : 0;
		for (size_t i = 0; i < ntr; i++) /* G += X^T L */
			for (size_t k = 0; k < D; k++) {
				float xv = Xtr[i * D + k];
				float *g = G + k * C;
				const float *r = L + i * C;
				for (size_t c = 0; c < C; c++)
					g[c] += xv * r[c];
			}
		c1 *= b1;
		c2 *= b2;
		for (size_t k = 0; k < D * C; k++) {
			Pm[k] = (float)(b1 * Pm[k] + (1 - b1) * G[k]);
			Pv[k] = (float)(b2 * Pv[k] + (1 - b2) * G[k] * G[k]);
			W[k] -= (float)(lr * (Pm[k] / (1 - c1)) / (sqrt(Pv[k] / (1 - c2)) + eps));
		}
	}
	matmul(Xte, W, nte, D, C, L);
	size_t right = 0;
	for (size_t i = 0; i < nte; i++)
		right += (int32_t)argmax(L + i * C, C) == yte[i];
	accv = nte ? (double)right / (double)nte : NAN;
out:
	if (n_train)
		*n_train = ntr;
	if (n_test)
		*n_test = nte;
	free(cls);
	free(seen);
	free(mu);
	free(Xtr);
	free(Xte);
	free(ytr);
	free(yte);
	free(W);
	free(G);
	free(Pm);
	free(Pv);
	free(L);
	return accv;
}

/* k-th smallest of v[0..n) (v reordered). */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		double piv = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < piv)
				i++;
			while (v[j] > piv)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Gaussian kernel matrix of x (n x d) into K (n x n), bandwidth sigma^2 =
 * median pairwise squared distance; buf: n (n - 1) / 2 doubles. */
static void gauss_kernel(const float *x, size_t n, size_t d, float *K, double *buf)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		K[i * n + i] = 0;
		for (size_t j = i + 1; j < n; j++) {
			double s = 0;
			for (size_t k = 0; k < d; k++) {
				double t = (double)x[i * d + k] - x[j * d + k];
				s += t * t;
			}
			K[i * n + j] = K[j * n + i] = (float)s;
			buf[m++] = s;
		}
	}
	double med = m ? select_kth(buf, m, m / 2) : 1;
	double g = med > 0 ? 1 / (2 * med) : 1; /* exp(-||xi - xj||^2 / (2 sigma^2)) */
	for (size_t i = 0; i < n * n; i++)
		K[i] = (float)exp(-g * K[i]);
}

/* K <- H K H (H = I - 11^T / n). */
static void centre(float *K, size_t n, double *rowm)
{
	double all = 0;
	for (size_t i = 0; i < n; i++) {
		double s = 0;
		for (size_t j = 0; j < n; j++)
			s += K[i * n + j];
		rowm[i] = s / (double)n;
		all += s;
	}
	all /= (double)n * (double)n;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) /* symmetric: column means = row means */
			K[i * n + j] = (float)(K[i * n + j] - rowm[i] - rowm[j] + all);
}

static double frob(const float *A, const float *B, size_t nn)
{
	double s = 0;
	for (size_t i = 0; i < nn; i++)
		s += (double)A[i] * B[i];
	return s;
}

int ev_hsic(const float *x, size_t dx, const float *y, size_t dy, size_t n, size_t perms,
	    uint64_t seed, double *stat, double *norm, double *p)
{
	*stat = *norm = *p = NAN;
	if (n < 4)
		return -1;
	size_t nn = n * n;
	float *K = malloc(nn * sizeof *K), *L = malloc(nn * sizeof *L);
	double *buf = malloc((nn / 2 + n) * sizeof *buf);
	size_t *pi = malloc(n * sizeof *pi);
	int rc = -1;
	if (!K || !L || !buf || !pi)
		goto out;
	gauss_kernel(x, n, dx, K, buf);
	gauss_kernel(y, n, dy, L, buf);
	centre(K, n, buf);
	centre(L, n, buf);
	/* with both centred, sum Kc .* Lc = tr(K H L H) */
	double kl = frob(K, L, nn), kk = frob(K, K, nn), ll = frob(L, L, nn);
	*stat = kl / (double)nn;
	*norm = kk > 0 && ll > 0 ? kl / sqrt(kk * ll) : NAN;
	if (perms) {
		uint64_t s = seed ^ 0x4851c0deULL;
		size_t ge = 0;
		for (size_t i = 0; i < n; i++)
			pi[i] = i;
		for (size_t r = 0; r < perms; r++) {
			for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
				size_t j = (size_t)(mix(&s) % (i + 1)), t = pi[i];
				pi[i] = pi[j];
				pi[j] = t;
			}
			double v = 0; /* sum_ij Kc_ij Lc_{pi(i) pi(j)} */
			for (size_t i = 0; i < n; i++) {
				const float *kr = K + i * n, *lr = L + pi[i] * n;
				double row = 0;
				for (size_t j = 0; j < n; j++)
					row += kr[j] * lr[pi[j]];
				v += row;
			}
			ge += v >= kl;
		}
		*p = (1.0 + (double)ge) / (1.0 + (double)perms);
	}
	rc = 0;
out:
	free(K);
	free(L);
	free(buf);
	free(pi);
	return rc;
}

/* Squared distance of s to class mean mu (d values); when `drop` is not
 * NULL, to the mean with that row left out: (cnt mu - drop) / (cnt - 1). */
static double dist_mean(const float *s, const double *mu, size_t d, const float *drop,
			double cnt)
{
	double t = 0;
	if (!drop) {
		for (size_t k = 0; k < d; k++)
			t += (s[k] - mu[k]) * (s[k] - mu[k]);
		return t;
	}
	if (cnt < 2)
		return INFINITY; /* nothing left of the class */
	for (size_t k = 0; k < d; k++) {
		double m = (cnt * mu[k] - drop[k]) / (cnt - 1);
		t += (s[k] - m) * (s[k] - m);
	}
	return t;
}

int ev_pixel_judge(const float *x, const int32_t *y, size_t n, size_t d, const float *s,
		   const size_t *a, const size_t *b, size_t m, double *ab, double *all)
{
	size_t C = 0, win_ab = 0, win_all = 0;
	int32_t *cls = malloc((n ? n : 1) * sizeof *cls);
	double *mu = NULL, *cnt = NULL;
	int rc = -1;
	*ab = *all = NAN;
	if (!cls || remap(y, n, cls, &C))
		goto out;
	mu = calloc(C * d, sizeof *mu);
	cnt = calloc(C, sizeof *cnt);
	if (!mu || !cnt)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cnt[cls[i]] += 1;
		for (size_t k = 0; k < d; k++)
			mu[cls[i] * d + k] += x[i * d + k];
	}
	for (size_t c = 0; c < C; c++)
		for (size_t k = 0; k < d; k++)
			mu[c * d + k] /= cnt[c];
	for (size_t i = 0; i < m; i++) {
		size_t ca = (size_t)cls[a[i]], cb = (size_t)cls[b[i]];
		const float *si = s + i * d;
		double da = dist_mean(si, mu + ca * d, d, x + a[i] * d, cnt[ca]);
		double db = dist_mean(si, mu + cb * d, d, x + b[i] * d, cnt[cb]);
		win_ab += da < db;
		int best = da < db || (da == db && ca < cb);
		for (size_t c = 0; c < C && best; c++)
			if (c != ca && c != cb && dist_mean(si, mu + c * d, d, NULL, cnt[c]) < da)
				best = 0;
		win_all += best;
	}
	*ab = m ? (double)win_ab / (double)m : NAN;
	*all = m ? (double)win_all / (double)m : NAN;
	rc = 0;
out:
	free(cls);
	free(mu);
	free(cnt);
	return rc;
}

/* Class means of x (C x d) and of each row's total intensity (C); rows of
 * class c are cnt[c]. */
static int class_means(const float *x, const int32_t *cls, size_t n, size_t d, size_t C,
		       double **mu, double **mass, double **cnt)
{
	*mu = calloc(C * d, sizeof **mu);
	*mass = calloc(C, sizeof **mass);
	*cnt = calloc(C, sizeof **cnt);
	if (!*mu || !*mass || !*cnt)
		return -1;
	for (size_t i = 0; i < n; i++) {
		double t = 0;
		(*cnt)[cls[i]] += 1;
		for (size_t k = 0; k < d; k++) {
			(*mu)[cls[i] * d + k] += x[i * d + k];
			t += x[i * d + k];
		}
		(*mass)[cls[i]] += t;
	}
	for (size_t c = 0; c < C; c++) {
		for (size_t k = 0; k < d; k++)
			(*mu)[c * d + k] /= (*cnt)[c];
		(*mass)[c] /= (*cnt)[c];
	}
	return 0;
}

/* Residual of s from the mean of its class (mu, cnt rows) without row
 * `drop`: out[k] = s[k] - (cnt mu[k] - drop[k]) / (cnt - 1), or from mu when
 * the class has one row. */
static void residual(const float *s, const double *mu, const float *drop, double cnt, size_t d,
		     double *out)
{
	for (size_t k = 0; k < d; k++)
		out[k] = s[k] - (cnt >= 2 ? (cnt * mu[k] - drop[k]) / (cnt - 1) : mu[k]);
}

static double cosine(const double *u, const double *v, size_t d)
{
	double uv = 0, uu = 0, vv = 0;
	for (size_t k = 0; k < d; k++) {
		uv += u[k] * v[k];
		uu += u[k] * u[k];
		vv += v[k] * v[k];
	}
	return uu > 0 && vv > 0 ? uv / sqrt(uu * vv) : 0;
}

static double pearson(const double *u, const double *v, size_t m)
{
	double mu = 0, mv = 0, uv = 0, uu = 0, vv = 0;
	for (size_t i = 0; i < m; i++) {
		mu += u[i];
		mv += v[i];
	}
	mu /= (double)m;
	mv /= (double)m;
	for (size_t i = 0; i < m; i++) {
		uv += (u[i] - mu) * (v[i] - mv);
		uu += (u[i] - mu) * (u[i] - mu);
		vv += (v[i] - mv) * (v[i] - mv);
	}
	return uu > 0 && vv > 0 ? uv / sqrt(uu * vv) : NAN;
}

static double sum_of(const float *s, size_t d)
{
	double t = 0;
	for (size_t k = 0; k < d; k++)
		t += s[k];
	return t;
}

int ev_style_judge(const float *x, const int32_t *y, size_t n, size_t d, const float *s,
		   const float *ra, const float *rb, const size_t *a, const size_t *b, size_t m,
		   double *style_b, double *mass_b, double *mass_a)
{
	size_t C = 0, win = 0;
	int32_t *cls = malloc((n ? n : 1) * sizeof *cls);
	double *mu = NULL, *mass = NULL, *cnt = NULL, *rs = NULL, *res_a = NULL, *res_b = NULL;
	double *ms = NULL, *ma = NULL, *mb = NULL;
	int rc = -1;
	*style_b = *mass_b = *mass_a = NAN;
	if (!cls || remap(y, n, cls, &C) || class_means(x, cls, n, d, C, &mu, &mass, &cnt))
		goto out;
	rs = malloc((d ? d : 1) * sizeof *rs);
	res_a = malloc((d ? d : 1) * sizeof *res_a);
	res_b = malloc((d ? d : 1) * sizeof *res_b);
	ms = malloc((m ? m : 1) * sizeof *ms);
	ma = malloc((m ? m : 1) * sizeof *ma);
	mb = malloc((m ? m : 1) * sizeof *mb);
	if (!rs || !res_a || !res_b || !ms || !ma || !mb)
		goto out;
	for (size_t i = 0; i < m; i++) {
		size_t ca = (size_t)cls[a[i]], cb = (size_t)cls[b[i]];
		const float *xa = x + a[i] * d, *xb = x + b[i] * d;
		/* the class means without A's and B's own images, as ev_pixel_judge */
		double ka = cnt[ca] >= 2 ? (cnt[ca] * mass[ca] - sum_of(xa, d)) / (cnt[ca] - 1)
					 : mass[ca];
		double kb = cnt[cb] >= 2 ? (cnt[cb] * mass[cb] - sum_of(xb, d)) / (cnt[cb] - 1)
					 : mass[cb];
		residual(s + i * d, mu + ca * d, xa, cnt[ca], d, rs);
		residual(ra + i * d, mu + ca * d, xa, cnt[ca], d, res_a);
		residual(rb + i * d, mu + cb * d, xb, cnt[cb], d, res_b);
		win += cosine(rs, res_b, d) > cosine(rs, res_a, d);
		ms[i] = sum_of(s + i * d, d) - ka;
		ma[i] = sum_of(ra + i * d, d) - ka;
		mb[i] = sum_of(rb + i * d, d) - kb;
	}
	if (m) {
		*style_b = (double)win / (double)m;
		*mass_b = pearson(ms, mb, m);
		*mass_a = pearson(ms, ma, m);
	}
	rc = 0;
out:
	free(cls);
	free(mu);
	free(mass);
	free(cnt);
	free(rs);
	free(res_a);
	free(res_b);
	free(ms);
	free(ma);
	free(mb);
	return rc;
}

/* The class-mean analogy in z for m pairs, a reference that knows both
 * classes: out[i] = mean z of A's class + z_B - mean z of B's class (z:
 * n x dim rows, labels y). -1 when memory runs out. */
static int analogy_latents(const float *z, const int32_t *y, size_t n, size_t dim,
			   const size_t *a, const size_t *b, size_t m, float *out)
{
	size_t C = 0;
	int32_t *cls = malloc((n ? n : 1) * sizeof *cls);
	double *mu = NULL, *cnt = NULL;
	int rc = -1;
	if (!cls || remap(y, n, cls, &C))
		goto out;
	mu = calloc(C * dim, sizeof *mu);
	cnt = calloc(C, sizeof *cnt);
	if (!mu || !cnt)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cnt[cls[i]] += 1;
		for (size_t k = 0; k < dim; k++)
			mu[cls[i] * dim + k] += z[i * dim + k];
	}
	for (size_t c = 0; c < C; c++)
		for (size_t k = 0; k < dim; k++)
			mu[c * dim + k] /= cnt[c];
	for (size_t i = 0; i < m; i++) {
		const double *ma = mu + (size_t)cls[a[i]] * dim, *mb = mu + (size_t)cls[b[i]] * dim;
		for (size_t k = 0; k < dim; k++)
			out[i * dim + k] = (float)(ma[k] + z[b[i] * dim + k] - mb[k]);
	}
	rc = 0;
out:
	free(cls);
	free(mu);
	free(cnt);
	return rc;
}

/* ---- the run ---- */

/* Rows idx[0..m) of feature matrix f into out. */
static void gather(const float *f, size_t dim, const size_t *idx, size_t m, float *out)
{
	for (size_t i = 0; i < m; i++)
		memcpy(out + i * dim, f + idx[i] * dim, dim * sizeof *out);
}

/* Number of classes with at least `need` rows: counted over the sorted
 * labels (no array indexed by label value: labels may be near INT32_MAX). */
static size_t classes_with(const int32_t *y, size_t n, size_t need)
{
	int32_t *u = malloc((n ? n : 1) * sizeof *u);
	size_t k = 0, run = 0;
	if (!u)
		return 0;
	memcpy(u, y, n * sizeof *u);
	qsort(u, n, sizeof *u, cmp_i32);
	for (size_t i = 0; i < n; i++) {
		run = i && u[i] == u[i - 1] ? run + 1 : 1;
		k += u[i] >= 0 && run == need;
	}
	free(u);
	return k;
}

/* Host round trip of n latents: zo = encode(decode(z)), f = f_ide(zo);
 * img: n x input_dim scratch. */
static int host_round_trip(struct fden_model *model, struct fden_invnet *net, const float *z,
			   size_t n, float *img, float *zo, float *f)
{
	int rc = fden_invnet_decode(net, z, n, img);
	if (!rc)
		rc = fden_invnet_encode(net, img, n, zo);
	if (!rc)
		rc = fden_disentangle(model, zo, n, f, NULL);
	return rc;
}

/* SimpleShot's transform of m rows (as fden_fewshot_eval's): x - c, then
 * L2-normalised. */
static void simpleshot(const float *x, size_t m, size_t w, const float *c, float *out)
{
	for (size_t i = 0; i < m; i++) {
		double ss = 0;
		float *o = out + i * w;
		for (size_t j = 0; j < w; j++) {
			double v = (double)x[i * w + j] - c[j];
			o[j] = (float)v;
			ss += v * v;
		}
		double inv = ss > 0 ? 1.0 / sqrt(ss) : 1.0; /* x / ||x|| */
		for (size_t j = 0; ss > 0 && j < w; j++)
			o[j] = (float)(o[j] * inv);
	}
}

/* The fraction of an episode's queries (the rows after its ns support
 * rows, w wide) that the nearest support-class mean gets right. */
static double proto_acc(const float *x, size_t w, const int32_t *lab, size_t ns, size_t nq,
			size_t ways, double *work, int32_t *pred)
{
	size_t right = 0;
	ev_proto_predict(x, lab, ns, ways, x + ns * w, nq, w, work, pred);
	for (size_t q = 0; q < nq; q++)
		right += pred[q] == lab[ns + q];
	return (double)right / (double)nq;
}

/* The nearest-class-mean rows that need the model, on one episode's rows
 * idx (ns support, nq queries): accuracies at acc[k * E] for f_ide, its
 * SimpleShot, f_sty and standardised z. Leaves the rows' f_ide in ei, f_sty
 * in es; ex: scratch as wide as the widest. */
static int proto_on_demand(const struct evrows *F, const size_t *idx, const int32_t *lab,
			   size_t ways, size_t ns, size_t nq, float *ei, float *es, float *ex,
			   double *work, int32_t *pred, double *acc, size_t E)
{
	size_t R = ns + nq;
	int rc = evr_factors(F, idx, R, ei, es);
	if (rc)
		return rc;
	acc[EV_IDE * E] = proto_acc(ei, F->di, lab, ns, nq, ways, work, pred);
	simpleshot(ei, R, F->di, F->mean_ide, ex);
	acc[EV_IDE_SS * E] = proto_acc(ex, F->di, lab, ns, nq, ways, work, pred);
	acc[EV_STY * E] = proto_acc(es, F->ds, lab, ns, nq, ways, work, pred);
	evr_zstd(F, idx, R, ex);
	acc[EV_ZSTD_PROTO * E] = proto_acc(ex, F->dim, lab, ns, nq, ways, work, pred);
	return FDEN_OK;
}

/* The raw-z nearest-class-mean rows of the table go through the library's
 * fden_fewshot_eval (same seed, same episodes); the first reports the
 * episodes, on which every other row is run. */
static const int library_rows[] = { EV_Z_PROTO, EV_Z_SS };
#define N_LIBRARY_ROWS (sizeof library_rows / sizeof library_rows[0])

static int run_task(struct fden_model *model, struct fden_invnet *net, const struct evrows *F,
		    const struct ev_options *o, size_t t, struct ev_report *r)
{
	struct ev_fewshot *res = &r->task[t];
	size_t W = o->tasks[t].ways, K = o->tasks[t].shots, Q = o->queries, E = o->episodes;
	size_t ns = W * K, nq = W * Q, R = ns + nq, dim = F->dim, di = F->di, ds = F->ds;
	size_t wmax = dim > di ? dim : di;
	wmax = wmax > ds ? wmax : ds;
	const size_t chunk = 50;
	struct fden_factorizer *fac = fden_model_factorizer(model);
	int rc = FDEN_E_NOMEM;

	memset(res, 0, sizeof *res);
	res->ways = W;
	res->shots = K;
	res->queries = Q;
	res->episodes = E;
	for (int k = 0; k < EV_N_ROWS; k++)
		res->mean[k] = res->ci95[k] = NAN;
	res->retention = res->retention_ci95 = NAN;
	res->retention_host = res->retention_host_ci95 = NAN;
	res->retention_host_ref = res->retention_host_ref_ci95 = NAN;
	if (classes_with(F->y, F->n, K + Q) < W)
		return FDEN_OK; /* skipped */

	size_t *rows = malloc(E * R * sizeof *rows); /* every episode's rows */
	int32_t *lab = malloc(R * sizeof *lab);
	/* one episode's z, f_ide, f_sty and a transformed copy */
	float *ez = malloc(R * dim * sizeof *ez), *ei = malloc(R * di * sizeof *ei);
	float *es = malloc(R * ds * sizeof *es), *ex = malloc(R * wmax * sizeof *ex);
	float *prob = malloc(nq * W * sizeof *prob);
	int32_t *pred = malloc(nq * sizeof *pred), *pred2 = malloc(nq * sizeof *pred2);
	double *work = malloc((W * wmax + W + ns + W) * sizeof *work);
	double *acc = malloc(EV_N_ROWS * E * sizeof *acc), *ret = malloc((net ? 3 : 1) * E * sizeof *ret);
	/* retention: per episode W swapped latents, and the episode's support f_ide */
	float *ri = malloc(chunk * W * di * sizeof *ri), *rs = malloc(chunk * W * ds * sizeof *rs);
	float *rz = malloc(chunk * W * dim * sizeof *rz), *rf = malloc(chunk * W * di * sizeof *rf);
	float *rsup = malloc(chunk * ns * di * sizeof *rsup);
	int32_t *rcls = malloc(chunk * W * sizeof *rcls);
	/* through the host: decoded images, re-encoded latents, A's own latents */
	size_t din = net ? fden_invnet_input_dim(net) : 0;
	float *himg = net ? malloc(chunk * W * din * sizeof *himg) : NULL;
	float *hz = net ? malloc(chunk * W * dim * sizeof *hz) : NULL;
	float *hza = net ? malloc(chunk * W * dim * sizeof *hza) : NULL;
	float *hf = net ? malloc(chunk * W * di * sizeof *hf) : NULL;
	float *hfa = net ? malloc(chunk * W * di * sizeof *hfa) : NULL;
	if (!rows || !lab || !ez || !ei || !es || !ex || !prob || !pred || !pred2 || !work || !acc ||
	    !ret || !ri || !rs || !rz || !rf || !rsup || !rcls ||
	    (net && (!himg || !hz || !hza || !hf || !hfa))) {
		rc = fail(FDEN_E_NOMEM, "evaluation buffers");
		goto out;
	}
	/* the episode layout of fden_fewshot_eval: support class c at c K.., queries
	 * class c at W K + c Q.. */
	for (size_t i = 0; i < R; i++)
		lab[i] = (int32_t)(i < ns ? i / K : (i - ns) / Q);
	/* nearest class mean on raw z, and SimpleShot on it */
	for (size_t p = 0; p < N_LIBRARY_ROWS; p++) {
		int k = library_rows[p];
		struct fden_fewshot_options fo;
		struct fden_fewshot_result fr;
		fden_fewshot_options_default(&fo);
		fo.episodes = E;
		fo.ways = W;
		fo.shots = K;
		fo.queries = Q;
		fo.seed = o->seed * 1000003u + t;
		fo.episode_accuracy = acc + k * E;
		fo.episode_rows = p == 0 ? rows : NULL;
		if (k == EV_Z_SS) {
			fo.transform = FDEN_FEWSHOT_SIMPLESHOT;
			fo.center = F->mean_z;
		}
		rc = fden_fewshot_eval(F->z, F->y, F->n, dim, &fo, &fr);
		if (rc) {
			fail(rc, "%zu-way %zu-shot episodes (%s)", W, K, ev_row_names[k]);
			goto out;
		}
	}
	uint64_t pair_rng = o->seed ^ (0x5eedULL + t);
	for (size_t e0 = 0; e0 < E; e0 += chunk) {
		size_t m = E - e0 < chunk ? E - e0 : chunk;
		for (size_t e = 0; e < m; e++) {
			const int32_t *l = lab;
			size_t ep = e0 + e;
			const size_t *idx = rows + ep * R;
			/* the rows needing the model: f_ide, f_sty, standardised z */
			rc = proto_on_demand(F, idx, l, W, ns, nq, ei, es, ex, work, pred, acc + ep, E);
			if (rc) {
				fail(rc, "factors of an episode's rows");
				goto out;
			}
			/* matching on raw z and the alignment head on f_ide */
			evr_z(F, idx, R, ez);
			ev_match_predict(ez, l, ns, W, ez + ns * dim, nq, dim, work, pred);
			size_t right = 0;
			for (size_t q = 0; q < nq; q++)
				right += pred[q] == l[ns + q];
			acc[EV_Z_MATCH * E + ep] = (double)right / (double)nq;
			rc = fden_factorizer_align(fac, ei, l, ns, W, ei + ns * di, nq, prob);
			if (rc) {
				fail(rc, "alignment head");
				goto out;
			}
			right = 0;
			for (size_t q = 0; q < nq; q++)
				right += (int32_t)argmax(prob + q * W, W) == l[ns + q];
			acc[EV_HEAD * E + ep] = (double)right / (double)nq;
			/* the head once more through fden_predict on raw latents */
			if (ep < o->check_episodes) {
				for (size_t q = 0; q < nq; q++)
					pred[q] = (int32_t)argmax(prob + q * W, W);
				rc = fden_predict(model, ez, l, ns, W, ez + ns * dim, nq, pred2, NULL);
				if (rc) {
					fail(rc, "fden_predict");
					goto out;
				}
				for (size_t q = 0; q < nq; q++)
					r->predict_mismatch += pred2[q] != pred[q];
				r->predict_checked += nq;
			}
			/* swapped latents: A = the first support row of class c (so the
			 * episode knows A: retention measures what the swap keeps, not how
			 * well one shot generalises), B = a query of another class */
			memcpy(rsup + e * ns * di, ei, ns * di * sizeof *rsup);
			for (size_t c = 0; c < W; c++) {
				size_t cb = (c + 1 + (size_t)(mix(&pair_rng) % (W - 1))) % W;
				size_t a = c * K, b = ns + cb * Q;
				size_t row = e * W + c;
				memcpy(ri + row * di, ei + a * di, di * sizeof *ri);
				memcpy(rs + row * ds, es + b * ds, ds * sizeof *rs);
				if (net)
					memcpy(hza + row * dim, ez + a * dim, dim * sizeof *hza);
				rcls[row] = (int32_t)c;
			}
		}
		/* z~ = E(f_ide(A), f_sty(B)); f_ide(z~) classified against each episode's support */
		rc = fden_entangle(model, ri, rs, m * W, rz);
		if (!rc)
			rc = fden_disentangle(model, rz, m * W, rf, NULL);
		if (rc) {
			fail(rc, "swapped latents");
			goto out;
		}
		if (net) {
			rc = host_round_trip(model, net, rz, m * W, himg, hz, hf);
			if (!rc)
				rc = host_round_trip(model, net, hza, m * W, himg, hz, hfa);
			if (rc) {
				fail(rc, "swapped latents through the host");
				goto out;
			}
		}
		for (size_t e = 0; e < m; e++) {
			/* ret rows: factor space, through the host, A's own round trip */
			const float *got[3] = { rf, hf, hfa };
			for (int h = 0; h < (net ? 3 : 1); h++) {
				ev_proto_predict(rsup + e * ns * di, lab, ns, W, got[h] + e * W * di, W, di,
						 work, pred);
				size_t right = 0;
				for (size_t c = 0; c < W; c++)
					right += pred[c] == rcls[e * W + c];
				ret[h * E + e0 + e] = (double)right / (double)W;
			}
		}
	}
	if (net) {
		ev_mean_ci95(ret + E, E, &res->retention_host, &res->retention_host_ci95);
		ev_mean_ci95(ret + 2 * E, E, &res->retention_host_ref, &res->retention_host_ref_ci95);
	}
	for (int k = 0; k < EV_N_ROWS; k++)
		ev_mean_ci95(acc + k * E, E, &res->mean[k], &res->ci95[k]);
	ev_mean_ci95(ret, E, &res->retention, &res->retention_ci95);
	res->retention_pairs = E * W;
	res->done = 1;
	rc = FDEN_OK;
out:
	free(rows);
	free(lab);
	free(ez);
	free(ei);
	free(es);
	free(ex);
	free(prob);
	free(pred);
	free(pred2);
	free(work);
	free(acc);
	free(ret);
	free(ri);
	free(rs);
	free(rz);
	free(rf);
	free(rsup);
	free(rcls);
	free(himg);
	free(hz);
	free(hza);
	free(hf);
	free(hfa);
	return rc;
}
/* m rows spread evenly over n: i * n / m. */
static size_t *strided(size_t n, size_t m)
{
	size_t *v = malloc((m ? m : 1) * sizeof *v);
	if (v)
		for (size_t i = 0; i < m; i++)
			v[i] = (size_t)((double)i * (double)n / (double)m);
	return v;
}

static int fidelity(struct fden_invnet *net, const struct evrows *F,
		    const struct fden_dataset *test_x, const struct ev_options *o,
		    struct ev_report *r)
{
	size_t n = F->n, dim = F->dim, m = o->psnr_rows && o->psnr_rows < n ? o->psnr_rows : n;
	size_t din = fden_invnet_input_dim(net), bs = 256;
	int rc = FDEN_E_NOMEM;
	size_t *idx = strided(n, m);
	float *zb = malloc(bs * dim * sizeof *zb), *xh = malloc(m * din * sizeof *xh);
	float *xf = malloc(m * din * sizeof *xf), *xs = NULL;
	if (!idx || !zb || !xh || !xf) {
		fail(rc, "PSNR buffers");
		goto out;
	}
	for (size_t i = 0; i < m; i += bs) {
		size_t k = m - i < bs ? m - i : bs;
		evr_z(F, idx + i, k, zb);
		rc = fden_invnet_decode(net, zb, k, xh + i * din);
		if (!rc)
			rc = evr_recon(F, idx + i, k, zb);
		if (!rc)
			rc = fden_invnet_decode(net, zb, k, xf + i * din);
		if (rc) {
			fail(rc, "decoding latents");
			goto out;
		}
	}
	r->psnr_fden = ev_psnr(xf, xh, m * din, o->psnr_peak);
	r->psnr_rows = m;
	if (test_x && fden_dataset_size(test_x) == n && fden_dataset_dim(test_x) == din) {
		xs = malloc(m * din * sizeof *xs);
		if (!xs) {
			rc = fail(FDEN_E_NOMEM, "PSNR buffers");
			goto out;
		}
		gather(fden_dataset_data(test_x), din, idx, m, xs);
		r->psnr_host = ev_psnr(xh, xs, m * din, o->psnr_peak);
		r->psnr_fden_input = ev_psnr(xf, xs, m * din, o->psnr_peak);
	}
	rc = FDEN_OK;
out:
	free(idx);
	free(zb);
	free(xh);
	free(xf);
	free(xs);
	return rc;
}

static int independence(struct fden_model *model, const struct evrows *F,
			const struct ev_options *o, struct ev_report *r)
{
	size_t n = F->n, dim = F->dim, di = F->di, ds = F->ds;
	size_t wmax = dim > di ? dim : di;
	wmax = wmax > ds ? wmax : ds;
	size_t mc = o->cca_rows && o->cca_rows < n ? o->cca_rows : n;
	size_t mn = o->nn_rows && o->nn_rows < n ? o->nn_rows : n;
	size_t m = mc > mn ? mc : mn;
	size_t *idx = NULL;
	float *a = malloc(m * wmax * sizeof *a), *b = malloc(m * wmax * sizeof *b);
	int32_t *y = calloc(m, sizeof *y);
	double *corr = malloc(wmax * sizeof *corr);
	int rc = FDEN_E_NOMEM;
	if (!a || !b || !y || !corr) {
		fail(rc, "CCA buffers");
		goto out;
	}
	/* canonical correlations of f_ide and f_sty */
	idx = strided(n, mc);
	if (!idx) {
		fail(rc, "CCA buffers");
		goto out;
	}
	if ((rc = evr_factors(F, idx, mc, a, b))) {
		fail(rc, "factors of the CCA rows");
		goto out;
	}
	if (cca(a, b, mc, di, ds, o->cca_ridge, corr) == 0) {
		size_t k = di < ds ? di : ds;
		double s = 0;
		for (size_t i = 0; i < k; i++)
			s += corr[i];
		r->cca_top = corr[0];
		r->cca_mean = s / (double)k;
	}
	/* the statistician's own estimate */
	rc = fden_factorizer_mine(fden_model_factorizer(model), a, b, mc, o->seed, &r->mine);
	if (rc)
		r->mine = NAN;
	free(idx);
	/* leave-one-out 1-NN class accuracy on each representation */
	idx = strided(n, mn);
	if (!idx) {
		rc = fail(FDEN_E_NOMEM, "1-NN buffers");
		goto out;
	}
	for (size_t i = 0; i < mn; i++)
		y[i] = F->y[idx[i]];
	if ((rc = evr_factors(F, idx, mn, b, a))) {
		fail(rc, "factors of the 1-NN rows");
		goto out;
	}
	r->nn_sty = ev_loo_1nn(a, y, mn, ds);
	r->nn_ide = ev_loo_1nn(b, y, mn, di);
	evr_z(F, idx, mn, a);
	r->nn_z = ev_loo_1nn(a, y, mn, dim);
	r->nn_rows = mn;
	/* chance of a label-blind 1-NN: sum_c p_c^2 */
	double ch = 0;
	for (size_t i = 0; i < mn; i++) {
		size_t same = 0;
		for (size_t k = 0; k < mn; k++)
			same += y[k] == y[i];
		ch += (double)same / (double)mn;
	}
	r->nn_chance = mn ? ch / (double)mn : NAN;
	rc = FDEN_OK;
out:
	free(idx);
	free(a);
	free(b);
	free(y);
	free(corr);
	return rc;
}

/* The judges FDEN does not control: leakage probe, HSIC, pixel-space swaps. */
static int outside_judges(struct fden_model *model, struct fden_invnet *net,
			  const struct evrows *F, const struct fden_dataset *test_x,
			  const struct ev_options *o, struct ev_report *r)
{
	size_t n = F->n, dim = F->dim, di = F->di, ds = F->ds, C = 0;
	size_t wmax = dim > di ? dim : di;
	wmax = wmax > ds ? wmax : ds;
	int32_t *cls = malloc(n * sizeof *cls), *py = NULL;
	size_t *rows = malloc(n * sizeof *rows), *pa = NULL, *pb = NULL;
	float *buf = NULL, *buf2 = NULL, *img = NULL, *ref = NULL, *refb = NULL, *zb = NULL;
	float *ana = NULL, *zana = NULL, *dec = NULL;
	int rc = FDEN_E_NOMEM;
	if (!cls || !rows || remap(F->y, n, cls, &C)) {
		fail(rc, "outside judges");
		goto out;
	}
	/* leakage probe on probe_classes classes spread over the sorted labels */
	size_t pc = o->probe_classes && o->probe_classes < C ? o->probe_classes : C, m = 0;
	for (size_t i = 0; i < n; i++) {
		size_t c = (size_t)cls[i];
		/* class c is kept when it is the first of its stride: floor(c pc / C) steps */
		if (c == 0 || (c * pc) / C != ((c - 1) * pc) / C)
			rows[m++] = i;
	}
	py = malloc((m ? m : 1) * sizeof *py);
	buf = malloc((m ? m : 1) * wmax * sizeof *buf);
	if (!py || !buf) {
		fail(rc, "leakage probe buffers");
		goto out;
	}
	for (size_t i = 0; i < m; i++)
		py[i] = F->y[rows[i]];
	r->probe_classes = pc;
	r->probe_chance = pc ? 1.0 / (double)pc : NAN;
	const size_t wid[3] = { ds, di, dim };
	double *dst[3] = { &r->probe_sty, &r->probe_ide, &r->probe_z };
	for (int k = 0; k < 3 && o->probe_iters; k++) {
		rc = k == 2 ? FDEN_OK : evr_factors(F, rows, m, k ? buf : NULL, k ? NULL : buf);
		if (rc) {
			fail(rc, "factors of the probe rows");
			goto out;
		}
		if (k == 2)
			evr_z(F, rows, m, buf);
		*dst[k] = ev_probe(buf, py, m, wid[k], o->probe_iters, o->probe_l2, &r->probe_train,
				   &r->probe_test);
	}
	free(buf);
	buf = NULL;
	/* HSIC f_ide vs f_sty on rows spread over the test set */
	size_t mh = o->hsic_rows && o->hsic_rows < n ? o->hsic_rows : n;
	if (mh >= 4 && o->hsic_rows) {
		size_t *idx = strided(n, mh);
		buf = malloc(mh * di * sizeof *buf);
		buf2 = malloc(mh * ds * sizeof *buf2);
		if (!idx || !buf || !buf2) {
			free(idx);
			fail(rc, "HSIC buffers");
			goto out;
		}
		rc = evr_factors(F, idx, mh, buf, buf2);
		free(idx);
		if (rc) {
			fail(rc, "factors of the HSIC rows");
			goto out;
		}
		if (ev_hsic(buf, di, buf2, ds, mh, o->hsic_perms, o->seed, &r->hsic, &r->hsic_norm,
			    &r->hsic_p)) {
			fail(rc, "HSIC buffers (%zu rows)", mh);
			goto out;
		}
		r->hsic_rows = mh;
		r->hsic_perms = o->hsic_perms;
		free(buf);
		free(buf2);
		buf = buf2 = NULL;
	}
	/* pixel-space judge of decode(E(f_ide A, f_sty B)), with the host's decode(z_A) */
	size_t din = net ? fden_invnet_input_dim(net) : 0, P = o->judge_pairs, bs = 256;
	if (!net || !test_x || !P || fden_dataset_size(test_x) != n ||
	    fden_dataset_dim(test_x) != din || C < 2) {
		rc = FDEN_OK;
		goto out;
	}
	pa = malloc(P * sizeof *pa);
	pb = malloc(P * sizeof *pb);
	img = malloc(P * din * sizeof *img);
	ref = malloc(P * din * sizeof *ref);
	refb = malloc(P * din * sizeof *refb);
	ana = malloc(P * din * sizeof *ana);
	zana = malloc(P * dim * sizeof *zana);
	dec = malloc(n * din * sizeof *dec);
	zb = malloc(bs * dim * sizeof *zb);
	buf = malloc(bs * di * sizeof *buf);
	buf2 = malloc(bs * ds * sizeof *buf2);
	if (!pa || !pb || !img || !ref || !refb || !ana || !zana || !dec || !zb || !buf || !buf2) {
		fail(rc, "swap judge buffers");
		goto out;
	}
	uint64_t s = o->seed ^ 0x1d6e5ULL;
	for (size_t i = 0; i < P; i++) {
		pa[i] = (size_t)(mix(&s) % n);
		do
			pb[i] = (size_t)(mix(&s) % n);
		while (F->y[pb[i]] == F->y[pa[i]]);
	}
	if (analogy_latents(F->z, F->y, n, dim, pa, pb, P, zana)) {
		rc = fail(FDEN_E_NOMEM, "analogy class means");
		goto out;
	}
	/* the style judge's class means are of the host's decodes: residuals
	 * then measure style within what the host can draw, not its error */
	for (size_t i = 0; i < n; i += bs) {
		size_t k = n - i < bs ? n - i : bs;
		rc = fden_invnet_decode(net, F->z + i * dim, k, dec + i * din);
		if (rc) {
			fail(rc, "decoding the test rows for the style judge");
			goto out;
		}
	}
	for (size_t i = 0; i < P; i += bs) {
		size_t k = P - i < bs ? P - i : bs;
		rc = evr_factors(F, pa + i, k, buf, NULL);
		if (!rc)
			rc = evr_factors(F, pb + i, k, NULL, buf2);
		if (!rc)
			rc = fden_entangle(model, buf, buf2, k, zb);
		if (!rc)
			rc = fden_invnet_decode(net, zb, k, img + i * din);
		if (!rc) {
			evr_z(F, pa + i, k, zb);
			rc = fden_invnet_decode(net, zb, k, ref + i * din);
		}
		if (!rc) {
			evr_z(F, pb + i, k, zb);
			rc = fden_invnet_decode(net, zb, k, refb + i * din);
		}
		if (!rc)
			rc = fden_invnet_decode(net, zana + i * dim, k, ana + i * din);
		if (rc) {
			fail(rc, "decoding swaps for the judge");
			goto out;
		}
	}
	const float *X = fden_dataset_data(test_x);
	if (ev_pixel_judge(X, F->y, n, din, img, pa, pb, P, &r->judge_ab, &r->judge_all) ||
	    ev_pixel_judge(X, F->y, n, din, ref, pa, pb, P, &r->judge_ref_ab, &r->judge_ref_all)) {
		rc = fail(FDEN_E_NOMEM, "swap judge class means");
		goto out;
	}
	if (ev_style_judge(dec, F->y, n, din, img, ref, refb, pa, pb, P, &r->style_b, &r->mass_b,
			   &r->mass_a) ||
	    ev_pixel_judge(X, F->y, n, din, ana, pa, pb, P, &r->judge_ana_ab, &r->judge_ana_all) ||
	    ev_style_judge(dec, F->y, n, din, ana, ref, refb, pa, pb, P, &r->style_ana_b,
			   &r->mass_ana_b, &r->mass_ana_a)) {
		rc = fail(FDEN_E_NOMEM, "style judge class means");
		goto out;
	}
	r->judge_pairs = P;
	rc = FDEN_OK;
out:
	free(cls);
	free(py);
	free(rows);
	free(pa);
	free(pb);
	free(buf);
	free(buf2);
	free(img);
	free(ref);
	free(refb);
	free(ana);
	free(zana);
	free(dec);
	free(zb);
	return rc;
}

int ev_run(struct fden_model *model, struct fden_invnet *net, const struct fden_dataset *test_z,
	   const struct fden_dataset *test_x, const struct ev_options *o, struct ev_report *r)
{
	double t0 = now_s();
	struct ev_options def;
	struct evrows F = { 0 };
	int rc;

	if (!o) {
		ev_options_default(&def);
		o = &def;
	}
	memset(r, 0, sizeof *r);
	r->psnr_fden = r->psnr_host = r->psnr_fden_input = NAN;
	r->cca_top = r->cca_mean = r->mine = NAN;
	r->nn_ide = r->nn_sty = r->nn_z = r->nn_chance = NAN;
	r->z_rel_err = NAN;
	r->probe_sty = r->probe_ide = r->probe_z = r->probe_chance = NAN;
	r->hsic = r->hsic_norm = r->hsic_p = NAN;
	r->judge_ab = r->judge_all = r->judge_ref_ab = r->judge_ref_all = NAN;
	r->style_b = r->mass_b = r->mass_a = NAN;
	r->judge_ana_ab = r->judge_ana_all = r->style_ana_b = r->mass_ana_b = r->mass_ana_a = NAN;
	if (!model || !test_z || o->n_tasks > EV_MAX_TASKS || !o->episodes || !o->queries) {
		snprintf(ev_err, sizeof ev_err, "evaluation arguments: missing model or data, "
						"or zero episodes or queries");
		return FDEN_E_INVALID;
	}
	for (size_t t = 0; t < o->n_tasks; t++)
		if (o->tasks[t].ways < 2 || !o->tasks[t].shots) {
			snprintf(ev_err, sizeof ev_err, "task %zu: need at least 2 ways and 1 shot", t);
			return FDEN_E_INVALID;
		}
	size_t n = fden_dataset_size(test_z), dim = fden_dataset_dim(test_z);
	if (dim != fden_model_dim(model)) {
		snprintf(ev_err, sizeof ev_err, "test latents are %zu wide but the model's Dim is %zu",
			 dim, fden_model_dim(model));
		return FDEN_E_SHAPE;
	}
	if (net && fden_invnet_latent_dim(net) != dim) {
		snprintf(ev_err, sizeof ev_err, "network latents are %zu wide, test latents %zu",
			 fden_invnet_latent_dim(net), dim);
		return FDEN_E_SHAPE;
	}
	if (o->train_z && fden_dataset_dim(o->train_z) != dim) {
		snprintf(ev_err, sizeof ev_err, "training latents are %zu wide, test latents %zu",
			 fden_dataset_dim(o->train_z), dim);
		return FDEN_E_SHAPE;
	}
	if (n < 2) {
		snprintf(ev_err, sizeof ev_err, "need at least 2 test rows, have %zu", n);
		return FDEN_E_INVALID;
	}
	r->n_test = n;
	r->dim = dim;
	r->ide_dim = fden_model_ide_dim(model);
	r->sty_dim = fden_model_sty_dim(model);
	r->steps = fden_model_step(model);
	r->n_classes = classes_with(fden_dataset_labels(test_z), n, 1);
	/* standardised z's moments, ||E(D(z)) - z|| / ||z - mean||, streamed */
	if ((rc = evr_open(&F, model, test_z))) {
		fail(rc, "moments of the %zu test rows", n);
		goto out;
	}
	r->z_rel_err = F.z_rel_err;
	/* SimpleShot: centre on the training mean, then L2-normalise */
	if (o->train_z && (rc = evr_centres(&F, o->train_z))) {
		fail(rc, "SimpleShot means of the training rows");
		goto out;
	}
	r->ss_train_mean = o->train_z != NULL;
	r->n_tasks = o->n_tasks;
	for (size_t t = 0; t < o->n_tasks; t++)
		if ((rc = run_task(model, net, &F, o, t, r)))
			goto out;
	if (net && (rc = fidelity(net, &F, test_x, o, r)))
		goto out;
	if ((rc = independence(model, &F, o, r)))
		goto out;
	rc = outside_judges(model, net, &F, test_x, o, r);
out:
	r->seconds = now_s() - t0;
	evr_close(&F);
	return rc;
}

/* ---- output ---- */

/* One table row: the double at offset `mean` of each task and its interval
 * at `ci` (both fractions, printed in percent). */
static void print_row(FILE *f, const struct ev_report *r, const char *title, size_t mean,
		      size_t ci)
{
	fprintf(f, "%-30s", title);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			const char *k = (const char *)&r->task[t];
			fprintf(f, "  %8.2f +- %5.2f", 100 * *(const double *)(k + mean),
				100 * *(const double *)(k + ci));
		}
	fputc('\n', f);
}

void ev_print(FILE *f, const struct ev_report *r)
{
	fprintf(f, "FDEN evaluation on unseen classes: %zu test rows, %zu classes, Dim %zu "
		   "(f_ide %zu, f_sty %zu), %llu training steps\n\n",
		r->n_test, r->n_classes, r->dim, r->ide_dim, r->sty_dim,
		(unsigned long long)r->steps);
	fprintf(f, "%-30s", "accuracy %, 95% CI");
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			char h[48];
			snprintf(h, sizeof h, "%zu-way %zu-shot", r->task[t].ways, r->task[t].shots);
			fprintf(f, "  %16s", h);
		}
	fputc('\n', f);
	for (int k = 0; k < EV_N_ROWS; k++)
		print_row(f, r, ev_row_titles[k], offsetof(struct ev_fewshot, mean) + k * sizeof(double),
			  offsetof(struct ev_fewshot, ci95) + k * sizeof(double));
	fprintf(f, "%-30s", "chance");
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done)
			fprintf(f, "  %8.2f         ", 100.0 / (double)r->task[t].ways);
	fputc('\n', f);
	print_row(f, r, "identity retention (swaps)", offsetof(struct ev_fewshot, retention),
		  offsetof(struct ev_fewshot, retention_ci95));
	if (r->n_tasks && r->task[0].done && !isnan(r->task[0].retention_host)) {
		print_row(f, r, "  through the host", offsetof(struct ev_fewshot, retention_host),
			  offsetof(struct ev_fewshot, retention_host_ci95));
		print_row(f, r, "  host round trip of A itself",
			  offsetof(struct ev_fewshot, retention_host_ref),
			  offsetof(struct ev_fewshot, retention_host_ref_ci95));
	}
	for (size_t t = 0; t < r->n_tasks; t++)
		if (!r->task[t].done)
			fprintf(f, "(%zu-way %zu-shot skipped: fewer than %zu classes with %zu rows)\n",
				r->task[t].ways, r->task[t].shots, r->task[t].ways,
				r->task[t].shots + r->task[t].queries);
	fprintf(f, "(SimpleShot: nearest class mean after centring on the mean of the %s and "
		   "L2-normalising)\n",
		r->ss_train_mean ? "training classes' rows" : "test rows (no training rows given)");
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			double best;
			int k = ev_best_raw(&r->task[t], &best);
			fprintf(f, "%zu-way %zu-shot: f_ide %.2f%% against the strongest raw-z baseline "
				   "(%s) %.2f%%: %+.2f points\n",
				r->task[t].ways, r->task[t].shots, 100 * r->task[t].mean[EV_IDE],
				ev_row_titles[k], 100 * best, 100 * (r->task[t].mean[EV_IDE] - best));
		}
	if (r->n_tasks && r->task[0].done)
		fprintf(f, "(%zu episodes per task, %zu queries per class; retention: f_ide of "
			   "E(f_ide(A), f_sty(B)) classified as A's class,\n A a support row of the "
			   "episode, B a query of another class;\n through the host: f_ide of "
			   "encode(decode(that latent)), the swap as the host sees it)\n",
			r->task[0].episodes, r->task[0].queries);
	fputc('\n', f);
	if (!isnan(r->psnr_fden))
		fprintf(f, "decode fidelity, PSNR decode(E(D(z))) vs decode(z): %.2f dB (%zu rows)\n",
			r->psnr_fden, r->psnr_rows);
	if (!isnan(r->psnr_host))
		fprintf(f, "host reconstruction, PSNR decode(z) vs x: %.2f dB; FDEN decode(E(D(z))) "
			   "vs x: %.2f dB\n",
			r->psnr_host, r->psnr_fden_input);
	fprintf(f, "latent reconstruction ||E(D(z)) - z|| / ||z - mean z||: %.4f\n", r->z_rel_err);
	fprintf(f, "canonical correlation f_ide vs f_sty: top %.3f, mean %.3f\n", r->cca_top,
		r->cca_mean);
	fprintf(f, "class by leave-one-out 1-NN (%zu rows): f_sty %.1f%%, f_ide %.1f%%, z %.1f%% "
		   "(chance %.1f%%)\n",
		r->nn_rows, 100 * r->nn_sty, 100 * r->nn_ide, 100 * r->nn_z, 100 * r->nn_chance);
	fprintf(f, "MINE estimate of I(f_ide; f_sty) by the model's statistician: %.4f nats\n",
		r->mine);
	if (!isnan(r->probe_sty))
		fprintf(f, "leakage probe (logistic regression on %zu unseen classes, %zu training / "
			   "%zu test rows): f_sty %.1f%% (%.1fx chance), f_ide %.1f%% (%.1fx), z %.1f%% "
			   "(%.1fx); chance %.2f%%\n",
			r->probe_classes, r->probe_train, r->probe_test, 100 * r->probe_sty,
			r->probe_sty / r->probe_chance, 100 * r->probe_ide,
			r->probe_ide / r->probe_chance, 100 * r->probe_z, r->probe_z / r->probe_chance,
			100 * r->probe_chance);
	if (!isnan(r->hsic))
		fprintf(f, "HSIC f_ide vs f_sty (%zu rows, Gaussian kernels, median heuristic): %.3g, "
			   "normalised %.4f; permutation p = %.3g (%zu permutations): independence "
			   "%s at p = 0.01\n",
			r->hsic_rows, r->hsic, r->hsic_norm, r->hsic_p, r->hsic_perms,
			isnan(r->hsic_p) ? "not tested" : r->hsic_p <= 0.01 ? "rejected"
									    : "not rejected");
	if (!isnan(r->judge_ab))
		fprintf(f, "outside judge of swaps (nearest class mean in pixel space, %zu pairs): "
			   "decode(E(f_ide A, f_sty B)) looks like A\n  %.1f%% against B's class, "
			   "%.1f%% among all %zu unseen classes; the host's decode(z_A): %.1f%%, %.1f%%\n",
			r->judge_pairs, 100 * r->judge_ab, 100 * r->judge_all, r->n_classes,
			100 * r->judge_ref_ab, 100 * r->judge_ref_all);
	if (!isnan(r->style_b))
		fprintf(f, "outside judge of style (residuals from the class means of the host's "
			   "decodes, the same pairs): "
			   "does the swap carry B's style?\n  residual nearer B's than A's in %.1f%% "
			   "(0%% when f_sty carries nothing); its intensity follows B's r = %.3f, "
			   "A's r = %.3f (0 and 1 when f_sty carries nothing)\n",
			100 * r->style_b, r->mass_b, r->mass_a);
	if (!isnan(r->judge_ana_ab))
		fprintf(f, "  reference, the class-mean analogy in z (knows both classes): "
			   "mean z of A's class + z_B - mean z of B's:\n  looks like A %.1f%% "
			   "against B's class, %.1f%% among all; residual nearer B's %.1f%%; "
			   "intensity r = %.3f with B's, %.3f with A's\n",
			100 * r->judge_ana_ab, 100 * r->judge_ana_all, 100 * r->style_ana_b,
			r->mass_ana_b, r->mass_ana_a);
	if (r->predict_checked)
		fprintf(f, "fden_predict agreed with the head on %zu of %zu queries\n",
			r->predict_checked - r->predict_mismatch, r->predict_checked);
	fprintf(f, "evaluation took %.1f s\n", r->seconds);
}

void ev_print_compact_header(FILE *f, const struct ev_report *r)
{
	fprintf(f, "%-24s %7s", "configuration", "steps");
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			char h[32];
			snprintf(h, sizeof h, "%zuw%zus", r->task[t].ways, r->task[t].shots);
			fprintf(f, " %5s:ide %5s:sty %5s:zbest %5s:ret %5s:hret", h, h, h, h, h);
		}
	fprintf(f, " %7s %6s %7s %7s %7s %7s %7s %7s\n", "PSNR", "CCA", "sty1NN", "prb:sty",
		"prb:ide", "hsic_p", "judge", "style");
}

void ev_print_compact(FILE *f, const char *label, const struct ev_report *r)
{
	fprintf(f, "%-24.24s %7llu", label ? label : "", (unsigned long long)r->steps);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			double best;
			ev_best_raw(&r->task[t], &best);
			fprintf(f, " %9.1f %9.1f %11.1f %9.1f %10.1f", 100 * r->task[t].mean[EV_IDE],
				100 * r->task[t].mean[EV_STY], 100 * best, 100 * r->task[t].retention,
				100 * r->task[t].retention_host);
		}
	fprintf(f, " %7.2f %6.3f %7.1f %7.1f %7.1f %7.3f %7.1f %7.1f\n", r->psnr_fden, r->cca_top,
		100 * r->nn_sty, 100 * r->probe_sty, 100 * r->probe_ide, r->hsic_p, 100 * r->judge_ab,
		100 * r->style_b);
}

void ev_write_json(FILE *f, const struct ev_report *r, const char *label)
{
	struct json j;
	json_init(&j, f);
	json_open(&j, NULL, '{');
	if (label)
		json_str(&j, "name", label);
	json_int(&j, "n_test", (long long)r->n_test);
	json_int(&j, "n_classes", (long long)r->n_classes);
	json_int(&j, "dim", (long long)r->dim);
	json_int(&j, "ide_dim", (long long)r->ide_dim);
	json_int(&j, "sty_dim", (long long)r->sty_dim);
	json_int(&j, "steps", (long long)r->steps);
	json_open(&j, "tasks", '[');
	for (size_t t = 0; t < r->n_tasks; t++) {
		const struct ev_fewshot *k = &r->task[t];
		json_open(&j, NULL, '{');
		json_int(&j, "ways", (long long)k->ways);
		json_int(&j, "shots", (long long)k->shots);
		json_int(&j, "queries", (long long)k->queries);
		json_int(&j, "episodes", (long long)k->episodes);
		json_bool(&j, "done", k->done);
		json_num(&j, "chance", 100.0 / (double)k->ways);
		json_open(&j, "accuracy", '{');
		for (int row = 0; row < EV_N_ROWS; row++) {
			json_open(&j, ev_row_names[row], '{');
			json_num(&j, "mean", 100 * k->mean[row]);
			json_num(&j, "ci95", 100 * k->ci95[row]);
			json_close(&j, '}');
		}
		json_close(&j, '}');
		{
			double best;
			int row = ev_best_raw(k, &best);
			json_open(&j, "best_raw_z", '{');
			json_str(&j, "row", ev_row_names[row]);
			json_num(&j, "mean", 100 * best);
			json_num(&j, "f_ide_minus_best", 100 * (k->mean[EV_IDE] - best));
			json_close(&j, '}');
		}
		json_open(&j, "retention", '{');
		json_num(&j, "mean", 100 * k->retention);
		json_num(&j, "ci95", 100 * k->retention_ci95);
		json_int(&j, "pairs", (long long)k->retention_pairs);
		json_num(&j, "host", 100 * k->retention_host);
		json_num(&j, "host_ci95", 100 * k->retention_host_ci95);
		json_num(&j, "host_reference", 100 * k->retention_host_ref);
		json_close(&j, '}');
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_num(&j, "psnr_fden_vs_host", r->psnr_fden);
	json_num(&j, "psnr_host_vs_input", r->psnr_host);
	json_num(&j, "psnr_fden_vs_input", r->psnr_fden_input);
	json_int(&j, "psnr_rows", (long long)r->psnr_rows);
	json_num(&j, "z_rel_err", r->z_rel_err);
	json_num(&j, "cca_top", r->cca_top);
	json_num(&j, "cca_mean", r->cca_mean);
	json_open(&j, "nn1_loo", '{');
	json_num(&j, "f_sty", 100 * r->nn_sty);
	json_num(&j, "f_ide", 100 * r->nn_ide);
	json_num(&j, "z", 100 * r->nn_z);
	json_num(&j, "chance", 100 * r->nn_chance);
	json_int(&j, "rows", (long long)r->nn_rows);
	json_close(&j, '}');
	json_num(&j, "mine", r->mine);
	json_str(&j, "simpleshot_centre", r->ss_train_mean ? "training rows" : "test rows");
	json_open(&j, "probe", '{');
	json_num(&j, "f_sty", 100 * r->probe_sty);
	json_num(&j, "f_ide", 100 * r->probe_ide);
	json_num(&j, "z", 100 * r->probe_z);
	json_num(&j, "chance", 100 * r->probe_chance);
	json_int(&j, "classes", (long long)r->probe_classes);
	json_int(&j, "train_rows", (long long)r->probe_train);
	json_int(&j, "test_rows", (long long)r->probe_test);
	json_close(&j, '}');
	json_open(&j, "hsic", '{');
	json_num(&j, "stat", r->hsic);
	json_num(&j, "normalised", r->hsic_norm);
	json_num(&j, "p", r->hsic_p);
	json_int(&j, "rows", (long long)r->hsic_rows);
	json_int(&j, "permutations", (long long)r->hsic_perms);
	json_close(&j, '}');
	json_open(&j, "swap_judge", '{');
	json_num(&j, "a_vs_b", 100 * r->judge_ab);
	json_num(&j, "a_among_all", 100 * r->judge_all);
	json_num(&j, "host_a_vs_b", 100 * r->judge_ref_ab);
	json_num(&j, "host_a_among_all", 100 * r->judge_ref_all);
	json_int(&j, "pairs", (long long)r->judge_pairs);
	json_close(&j, '}');
	json_open(&j, "style_judge", '{');
	json_num(&j, "residual_nearer_b", 100 * r->style_b);
	json_num(&j, "mass_corr_b", r->mass_b);
	json_num(&j, "mass_corr_a", r->mass_a);
	json_num(&j, "analogy_a_vs_b", 100 * r->judge_ana_ab);
	json_num(&j, "analogy_a_among_all", 100 * r->judge_ana_all);
	json_num(&j, "analogy_residual_nearer_b", 100 * r->style_ana_b);
	json_num(&j, "analogy_mass_corr_b", r->mass_ana_b);
	json_num(&j, "analogy_mass_corr_a", r->mass_ana_a);
	json_int(&j, "pairs", (long long)r->judge_pairs);
	json_close(&j, '}');
	json_int(&j, "predict_checked", (long long)r->predict_checked);
	json_int(&j, "predict_mismatch", (long long)r->predict_mismatch);
	json_num(&j, "seconds", r->seconds);
	json_close(&j, '}');
}
