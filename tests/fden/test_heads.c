/* Alignment heads, MINE and clipping against finite differences and their
 * formulas, on plain arrays. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fden/align.h"
#include "fden/clip.h"
#include "fden/mine.h"
#include "../testutil.h"

static unsigned long long lcg = 12345;

static float urand(void)
{
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((lcg >> 11) * (1.0 / 9007199254740992.0));
}

static float nrand(void)
{
	float u = urand() + 1e-7f, v = urand();
	return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

enum { C = 4,
       SH = 2,
       QN = 2,
       DIM = 6,
       NS = C * SH,
       NQ = C * QN };

struct ep {
	float S[NS * DIM], Q[NQ * DIM];
	int32_t ys[NS], yq[NQ];
};

static void make_ep(struct ep *e)
{
	for (int i = 0; i < NS * DIM; i++)
		e->S[i] = nrand();
	for (int i = 0; i < NQ * DIM; i++)
		e->Q[i] = nrand();
	for (int i = 0; i < NS; i++)
		e->ys[i] = i % C;
	for (int i = 0; i < NQ; i++)
		e->yq[i] = (i * 3 + 1) % C;
}

typedef double (*head_fn)(const float *, const int32_t *, int, const float *, const int32_t *,
			  int, int, int, float *, float, float *, float *, float *);

/* d(CE sum)/dx by central differences vs the analytic gradient. */
static void check_head(head_fn f)
{
	struct ep e;
	float logp[NQ * C], dS[NS * DIM], dQ[NQ * DIM];
	float *ws = malloc(fd_align_ws(NS, NQ, C, DIM) * sizeof *ws);
	const float scale = 0.7f, h = 1e-2f;
	double maxerr = 0;

	make_ep(&e);
	memset(dS, 0, sizeof dS);
	memset(dQ, 0, sizeof dQ);
	double ce = f(e.S, e.ys, NS, e.Q, e.yq, NQ, C, DIM, logp, scale, dS, dQ, ws);
	ck_assert(isfinite(ce) && ce > 0);
	for (int q = 0; q < NQ; q++) { /* probabilities sum to 1 */
		double s = 0;
		for (int k = 0; k < C; k++)
			s += exp(logp[q * C + k]);
		ck_assert_double_eq_tol(s, 1.0, 1e-5);
	}
	for (int which = 0; which < 2; which++) {
		float *x = which ? e.Q : e.S, *g = which ? dQ : dS;
		int n = which ? NQ * DIM : NS * DIM;
		for (int i = 0; i < n; i++) {
			float keep = x[i];
			x[i] = keep + h;
			double lp = f(e.S, e.ys, NS, e.Q, e.yq, NQ, C, DIM, logp, 0, NULL, NULL, ws);
			x[i] = keep - h;
			double lm = f(e.S, e.ys, NS, e.Q, e.yq, NQ, C, DIM, logp, 0, NULL, NULL, ws);
			x[i] = keep;
			double num = scale * (lp - lm) / (2 * h);
			double err = fabs(num - g[i]) / fmax(1.0, fabs(num));
			if (err > maxerr)
				maxerr = err;
			ck_assert_msg(err < 2e-3, "%s[%d]: analytic %g numeric %g", which ? "Q" : "S", i,
				      g[i], num);
		}
	}
	free(ws);
}

START_TEST(proto_fd)
{
	check_head(fd_align_proto);
}
END_TEST

START_TEST(matching_fd)
{
	check_head(fd_align_matching);
}
END_TEST

START_TEST(proto_values)
{
	/* 1-D, two classes at 0 and 2, query at 0.5: logits -0.25 and -2.25 */
	float S[2] = { 0, 2 }, Q[1] = { 0.5f }, logp[2], ws[64];
	int32_t ys[2] = { 0, 1 }, yq[1] = { 0 };
	double ce = fd_align_proto(S, ys, 2, Q, yq, 1, 2, 1, logp, 1, NULL, NULL, ws);
	double want = -(-0.25 - log(exp(-0.25) + exp(-2.25)));
	ck_assert_double_eq_tol(ce, want, 1e-6);
	ck_assert_int_eq(fd_argmax(logp, 2), 0);
}
END_TEST

/* A linear relation score r = w . (q ++ s) checks pairs + loss + scatter. */
static double rel_ce(const struct ep *e, const float *w, float *dS, float *dQ, float scale)
{
	static float P[NQ * NS * 2 * DIM], r[NQ * NS], dr[NQ * NS], dP[NQ * NS * 2 * DIM];
	float logp[NQ * C], ws[256];
	double ce;

	fd_align_relation_pairs(e->S, NS, e->Q, NQ, DIM, P);
	for (int i = 0; i < NQ * NS; i++) {
		double a = 0;
		for (int d = 0; d < 2 * DIM; d++)
			a += (double)w[d] * P[i * 2 * DIM + d];
		r[i] = (float)tanh(a); /* a non-linear score */
	}
	ce = fd_align_relation_loss(r, e->ys, NS, e->yq, NQ, C, logp, scale, dS ? dr : NULL, ws);
	if (dS) {
		for (int i = 0; i < NQ * NS; i++)
			for (int d = 0; d < 2 * DIM; d++)
				dP[i * 2 * DIM + d] = dr[i] * (1 - r[i] * r[i]) * w[d];
		fd_align_relation_scatter(dP, NS, NQ, DIM, dS, dQ);
	}
	return ce;
}

START_TEST(relation_fd)
{
	struct ep e;
	float w[2 * DIM], dS[NS * DIM] = { 0 }, dQ[NQ * DIM] = { 0 };
	const float h = 1e-2f, scale = 1.3f;

	make_ep(&e);
	for (int d = 0; d < 2 * DIM; d++)
		w[d] = 0.5f * nrand();
	rel_ce(&e, w, dS, dQ, scale);
	for (int which = 0; which < 2; which++) {
		float *x = which ? e.Q : e.S, *g = which ? dQ : dS;
		int n = which ? NQ * DIM : NS * DIM;
		for (int i = 0; i < n; i++) {
			float keep = x[i];
			x[i] = keep + h;
			double lp = rel_ce(&e, w, NULL, NULL, 0);
			x[i] = keep - h;
			double lm = rel_ce(&e, w, NULL, NULL, 0);
			x[i] = keep;
			double num = scale * (lp - lm) / (2 * h);
			ck_assert_msg(fabs(num - g[i]) < 2e-3 * fmax(1, fabs(num)),
				      "relation %s[%d]: analytic %g numeric %g", which ? "Q" : "S", i, g[i], num);
		}
	}
}
END_TEST

START_TEST(mine_fd)
{
	enum { N = 16 };
	float tj[N], tm[N], dtj[N], dtm[N];
	double lme, lm;
	const float scale = -0.5f;
	const float h = 1e-2f;

	for (int i = 0; i < N; i++) {
		tj[i] = 2 * nrand();
		tm[i] = 2 * nrand() + 30; /* large values: the log-mean-exp must be stable */
	}
	lm = fd_mine_dv(tj, tm, N, &lme);
	ck_assert(isfinite(lm));
	/* direct formula, shifted */
	double sj = 0, se = 0;
	for (int i = 0; i < N; i++) {
		sj += tj[i];
		se += exp(tm[i] - 30.0);
	}
	ck_assert_double_eq_tol(lm, sj / N - (30.0 + log(se / N)), 1e-9);
	fd_mine_grad(tm, N, lme, scale, dtj, dtm);
	for (int i = 0; i < 2 * N; i++) {
		float *x = i < N ? &tj[i] : &tm[i - N], keep = *x;
		*x = keep + h;
		double lp = fd_mine_dv(tj, tm, N, NULL);
		*x = keep - h;
		double lmm = fd_mine_dv(tj, tm, N, NULL);
		*x = keep;
		double num = scale * (lp - lmm) / (2 * h), an = i < N ? dtj[i] : dtm[i - N];
		ck_assert_msg(fabs(num - an) < 1e-3, "mine t[%d]: analytic %g numeric %g", i, an, num);
	}
}
END_TEST

START_TEST(mine_ma)
{
	enum { N = 8 };
	float tm[N], dtj[N], dtm[N], dtm2[N];
	double lme, la;

	for (int i = 0; i < N; i++)
		tm[i] = nrand();
	fd_mine_dv(tm, tm, N, &lme);
	ck_assert_double_eq_tol(fd_mine_ma_update(0, 0, 0.01, lme), lme, 1e-12);
	la = fd_mine_ma_update(log(3.0), 1, 0.25, log(7.0));
	ck_assert_double_eq_tol(exp(la), 0.75 * 3 + 0.25 * 7, 1e-9);
	/* gradient with denominator MA = exact gradient * mean_exp / MA */
	fd_mine_grad(tm, N, lme, 1, dtj, dtm);
	fd_mine_grad(tm, N, la, 1, dtj, dtm2);
	for (int i = 0; i < N; i++) {
		ck_assert_double_eq_tol(dtj[i], 1.0 / N, 1e-7);
		ck_assert_double_eq_tol(dtm2[i], dtm[i] * exp(lme - la), 1e-6);
	}
}
END_TEST

START_TEST(clip_formula)
{
	float gu[3] = { 1, 0, 0 }, gm[3] = { 0, 6, 8 }; /* ||g_u|| 1, ||g_m|| 10 */
	double f = fd_clip_adaptive(gu, gm, 3, 1);
	ck_assert_double_eq_tol(f, 0.1, 1e-7);
	ck_assert_float_eq_tol(gu[0], 1, 1e-6);
	ck_assert_float_eq_tol(gu[1], 0.6f, 1e-6);
	ck_assert_float_eq_tol(gu[2], 0.8f, 1e-6);

	float gu2[2] = { 30, 40 }, gm2[2] = { 3, 4 }; /* ||g_m|| < ||g_u||: kept */
	f = fd_clip_adaptive(gu2, gm2, 2, 1);
	ck_assert_double_eq_tol(f, 1, 1e-12);
	ck_assert_float_eq_tol(gu2[0], 33, 1e-5);

	float gu3[2] = { 1, 0 }, gm3[2] = { 0, 100 }; /* off: plain sum */
	f = fd_clip_adaptive(gu3, gm3, 2, 0);
	ck_assert_float_eq_tol(gu3[1], 100, 1e-5);

	float gu4[2] = { 1, 2 }, gm4[2] = { 0, 0 }; /* zero g_m */
	f = fd_clip_adaptive(gu4, gm4, 2, 1);
	ck_assert_double_eq_tol(f, 1, 1e-12);
	ck_assert_float_eq_tol(gu4[1], 2, 1e-6);
	ck_assert_double_eq_tol(fd_norm(gm, 3), 10, 1e-9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heads");
	TCase *tc = tcase_create("heads");

	tcase_add_test(tc, proto_fd);
	tcase_add_test(tc, proto_values);
	tcase_add_test(tc, matching_fd);
	tcase_add_test(tc, relation_fd);
	tcase_add_test(tc, mine_fd);
	tcase_add_test(tc, mine_ma);
	tcase_add_test(tc, clip_formula);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
