/* The whole FDEN loss against finite differences, through every part:
 * D's trunk and heads (with the GRL sign: D descends a L_R + b L_C +
 * lambda g L_M), E, the statistician (which ascends L_M: its gradient is
 * d(-g L_M)/dxi), the relation head, and the input z. Dropout 0, clipping
 * off, so the gradients are exact; batch norm on (its parameters are
 * checked too). */
#include "../testutil.h"
#include "fden/model_int.h"

static const double A = 0.9, B = 1.1, G = 0.7, LAM = 1.3, X = 0.6, V = 0.8, NW = 0.7;
/* the HSIC weight, the style classifier's and the between-class share's
 * (issue 15), the classifier's classes */
static const double HW = 40.0, CW = 0.9, BW = 1.7;
enum { CLS_K = 5 };

/* the independence terms, the flow's density term and the disentangler
 * kind of the next make_model */
static int use_flow, use_indep, use_nll;
/* FDEN_P_ALIGN_NORM of the next make_model (its temperature is checked too) */
static int use_norm;
/* FDEN_P_HSIC, FDEN_P_STY_CLS (a one-hidden-layer classifier) and
 * FDEN_P_STY_BETWEEN */
static int use_adv;
/* episodes of the next check_model (2: 24 rows) */
static size_t n_episodes = 2;

static struct fden_model *make_model(int head, int dim, int bn, int ma)
{
	struct fden_config *c = tu_small_config(dim, head);
	struct fden_model *m = NULL;

	if (use_flow) {
		ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 3), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 8), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_IDE_DIM, 2), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_NLL, use_nll ? NW : 0.0), FDEN_OK);
	}
	if (use_norm) {
		ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_NORM, use_norm), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_TEMP, 3.0), FDEN_OK);
	}
	if (use_indep) {
		ck_assert_int_eq(fden_config_set(c, FDEN_P_XCORR, X), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_ADV, V), FDEN_OK);
	}
	if (use_adv) {
		ck_assert_int_eq(fden_config_set(c, FDEN_P_HSIC, HW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_CLS, CW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_BETWEEN, BW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_CLS_CLASSES, CLS_K), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_STY_CLS_WIDTH, 3), FDEN_OK);
	}

	/* Batch norm centres pre-activations at 0, where leaky ReLU has its kink:
	 * finite differences then cross kinks all the time. With batch norm on,
	 * the slope is 1 (the activation's own gradient is checked in tests/nn);
	 * without, the real slope 0.01. The flow and independence-term variants
	 * use slope 1 too: what they check is the composition, not the kink. */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LEAKY_SLOPE,
					 bn || use_flow || use_indep || use_adv ? 1.0 : 0.01),
			 FDEN_OK);

	ck_assert_int_eq(fden_config_set(c, FDEN_P_ALPHA, A), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_BETA, B), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_GAMMA, G), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_GRL, LAM), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_CLIP, 0), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_BATCHNORM, bn), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_MINE_MA, ma), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	if (use_flow) { /* move the flow off its identity start */
		struct fd_rng r;
		fd_rng_seed(&r, 5);
		for (int i = 0; i < fd_flow_nparams(m->flow); i++) {
			struct fd_param *p = fd_flow_param(m->flow, i);
			for (size_t j = 0; j < p->n; j++)
				p->w[j] += 0.05f * fd_rng_normal(&r);
		}
	}
	return m;
}

/* Every parameter tensor with the index of its part (the flow counts as D). */
static int all_params(struct fden_model *m, struct fd_param **ps, int *net)
{
	int n = 0;

	for (int k = 0; k < FD_NNETS; k++)
		if (m->net[k])
			for (int i = 0; i < fd_mlp_nparams(m->net[k]); i++, n++) {
				ps[n] = fd_mlp_param(m->net[k], i);
				net[n] = k;
			}
	for (int i = 0; m->flow && i < fd_flow_nparams(m->flow); i++, n++) {
		ps[n] = fd_flow_param(m->flow, i);
		net[n] = FD_NET_D_DEC;
	}
	if (fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM)) { /* the head's log-temperature */
		ps[n] = &m->tau;
		net[n++] = FD_NET_REL;
	}
	for (int i = 0; i < m->stycls.np; i++) { /* the style classifier: its own view */
		ps[n] = &m->stycls.p[i];
		net[n++] = FD_NNETS;
	}
	return n;
}

/* what each part descends: D (and z) the GRL view (minus the style
 * classifier's CE), the classifier its CE, everything else L */
static double view(const struct fden_step_stats *s, int net)
{
	if (net <= FD_NET_D_STY || net < 0)
		return A * s->l_r + B * s->l_c + LAM * G * s->l_m + X * s->l_xcorr + V * s->l_sty_adv +
		       NW * s->l_nll + HW * s->l_hsic - CW * s->l_sty_cls + BW * s->l_sty_between;
	if (net == FD_NNETS)
		return s->l_sty_cls;
	return s->loss;
}

/* Central difference of view(net) w.r.t. *x, Richardson-extrapolated:
 * (4 D(h) - D(2h)) / 3 cancels the h^2 term (batch norm makes the loss
 * quite curved on a batch of 24 rows). *kink: whether D(h) and D(2h)
 * disagree beyond what curvature explains, i.e. a kink lies within 2h. */
static double numeric(struct fden_model *m, const struct fden_episodes *ep, float *x, int net,
		      float h, int *kink)
{
	double d[2];
	float keep = *x;

	for (int r = 0; r < 2; r++) {
		struct fden_step_stats sp, sm;
		float hh = h * (float)(r + 1);
		*x = keep + hh;
		ck_assert_int_eq(fd_train_grad(m, ep, &sp, NULL), FDEN_OK);
		*x = keep - hh;
		ck_assert_int_eq(fd_train_grad(m, ep, &sm, NULL), FDEN_OK);
		*x = keep;
		d[r] = (view(&sp, net) - view(&sm, net)) / (2.0 * hh);
	}
	*kink = fabs(d[0] - d[1]) > 0.01 * (fabs(d[0]) + fabs(d[1])) + 2e-3;
	return (4.0 * d[0] - d[1]) / 3.0;
}

static void check_model(int head, int bn, int use_std)
{
	enum { DIM = 4 };
	struct fden_model *m = make_model(head, DIM, bn, 0);
	struct tu_episodes t;
	struct fden_step_stats st;
	float *dz, *g;
	struct fd_param *ps[256];
	int nets[256], np;
	size_t N, total = 0, off = 0;
	/* h = 1e-2: the loss is float32 (relative rounding ~1e-7 of a loss ~5,
	 * i.e. ~1e-4 / h in the slope) and Richardson removes the h^2 term, so
	 * larger steps are the more accurate ones here (measured worst errors:
	 * 0.03-0.15 at h = 2e-3, 0.001-0.027 at h = 1e-2). With HSIC on (no
	 * batch norm) h = 1e-3: the median-pair kinks below are then mostly
	 * out of reach (flow variant, worst error 0.57 at h = 1e-2, 0.18 at
	 * 2e-3, 0.04 at 1e-3, the same entries moving towards the analytic
	 * value: kinks, not a wrong gradient). */
	const float h = use_adv ? 1e-3f : 1e-2f;
	/* HSIC's bandwidth is the median pairwise distance: moving any
	 * parameter of D moves every row, and among 276 pairs the median pair
	 * often changes within 2h, a kink of the loss. With HSIC on, entries
	 * whose two difference quotients disagree are skipped (counted in
	 * kinks; the rest must still pass, and be most of them) */
	int checked = 0, bad = 0, bad_tau = 0, kinks = 0;
	double worst = 0;

	int32_t cls[64];

	tu_episodes_make(&t, n_episodes, 3, 2, 2, DIM);
	N = n_episodes * 3 * 4;
	for (size_t i = 0; i < n_episodes * 3 && i < 64; i++) /* global classes of the ways */
		cls[i] = (int32_t)((i * 2 + i / 3) % CLS_K);
	t.ep.classes = use_adv ? cls : NULL;
	if (use_std) {
		float mean[DIM] = { 0.3f, -0.2f, 0.1f, 0.5f }, sd[DIM] = { 1.5f, 0.7f, 1.2f, 2.0f };
		ck_assert_int_eq(fden_model_set_standardization(m, mean, sd), FDEN_OK);
	}
	dz = malloc(N * DIM * sizeof *dz);
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &st, dz), FDEN_OK);
	ck_assert(isfinite(st.loss));
	ck_assert(st.l_m == st.l_m);
	ck_assert_double_eq_tol(st.loss, A * st.l_r + B * st.l_c - G * st.l_m + (use_indep ? X * st.l_xcorr + V * st.l_sty_adv : 0) + (use_nll ? NW * st.l_nll : 0) + (use_adv ? HW * st.l_hsic - CW * st.l_sty_cls + BW * st.l_sty_between : 0), 1e-9);
	if (use_adv)
		ck_assert((st.l_hsic > 0) == (HW > 0) && (st.l_sty_cls > 0) == (CW > 0) &&
			  (st.l_sty_between > 0) == (BW > 0));
	ck_assert((st.l_nll != 0) == (use_flow && use_nll));
	if (use_indep)
		ck_assert(st.l_xcorr > 0 && st.l_sty_adv >= log(3.0) - 1e-6);
	if (use_flow)
		ck_assert(st.l_r == 0.0);
	np = all_params(m, ps, nets);
	for (int i = 0; i < np; i++)
		total += ps[i]->n;
	g = malloc(total * sizeof *g);
	for (int i = 0; i < np; i++) {
		memcpy(g + off, ps[i]->g, ps[i]->n * sizeof *g);
		off += ps[i]->n;
	}
	ck_assert_msg((head == FDEN_ALIGN_RELATION) == (m->net[FD_NET_REL] != NULL), "relation net");

	/* parameters: a few entries of every tensor of every part */
	off = 0;
	for (int i = 0; i < np; i++) {
		struct fd_param *p = ps[i];
		int k = nets[i];
		for (size_t j = 0; j < p->n; j += 1 + p->n / 3) {
			int kink;
			double num = numeric(m, &t.ep, &p->w[j], k, h, &kink), an = g[off + j];
			double err = fabs(num - an) / fmax(fabs(num) + fabs(an), 5e-2);
			if (use_adv && kink) { /* HSIC's median pair changes: see below */
				kinks++;
				continue;
			}
			if (err > worst)
				worst = err;
			if (err > 3e-2) {
				bad++;
				bad_tau += p == &m->tau; /* one entry, no kink: never excused */
				fprintf(stderr, "head %d net %d %s[%zu]: analytic %g numeric %g\n", head,
					k, p->name, j, an, num);
			}
			checked++;
		}
		off += p->n;
	}
	/* inputs */
	for (size_t j = 0; j < N * DIM; j += 5) {
		int kink;
		double num = numeric(m, &t.ep, &t.z[j], -1, h, &kink), an = dz[j];
		double err = fabs(num - an) / fmax(fabs(num) + fabs(an), 5e-2);
		if (use_adv && kink) {
			kinks++;
			continue;
		}
		if (err > worst)
			worst = err;
		if (err > 3e-2) {
			bad++;
			fprintf(stderr, "head %d z[%zu]: analytic %g numeric %g\n", head, j, an, num);
		}
		checked++;
	}
	fprintf(stderr, "grad check head %d bn %d std %d flow %d indep %d nll %d norm %d adv %d: %d entries (%d kinks skipped), worst rel. error %.3g\n",
		head, bn, use_std, use_flow, use_indep, use_nll, use_norm, use_adv, checked, kinks,
		worst);
	ck_assert_msg(kinks <= checked, "%d kinks skipped, %d entries checked", kinks, checked);
	/* a few kinks of leaky ReLU may make single entries miss; allow 2% of them */
	ck_assert_msg(bad <= checked / 50, "%d of %d gradient entries off", bad, checked);
	ck_assert_msg(!bad_tau, "the head's temperature gradient is off");
	free(g);
	free(dz);
	tu_episodes_free(&t);
	fden_model_free(m);
}

/* The variants checked: alignment head, batch norm, standardisation, the
 * flow disentangler, the independence terms, the flow's density term, and
 * the episodes (2: 24 rows; 22: 264 rows, over FD_TWO_ROWS = 256, where
 * D's g_u and g_m passes run one after the other instead of as one 2N-row
 * backward, fden/train.c). */
static const struct variant {
	int head, bn, std, flow, indep, nll;
	size_t episodes;
	int norm, adv;
} variants[] = {
	{ FDEN_ALIGN_PROTOTYPICAL, 1, 0, 0, 0, 0, 2, 0, 0 },
	{ FDEN_ALIGN_MATCHING, 1, 1, 0, 0, 0, 2, 0, 0 },
	{ FDEN_ALIGN_RELATION, 1, 0, 0, 0, 0, 2, 0, 0 },
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 0, 0, 0, 2, 0, 0 },  /* no batch norm */
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 1, 1, 0, 2, 0, 0 },  /* the flow (no E nets), indep. terms */
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 1, 1, 1, 2, 0, 0 },  /* its density term, log-det included */
	{ FDEN_ALIGN_MATCHING, 0, 0, 0, 1, 0, 2, 0, 0 },      /* the MLP D with the indep. terms */
	{ FDEN_ALIGN_PROTOTYPICAL, 1, 1, 0, 0, 0, 22, 0, 0 }, /* D's passes one after the other */
	/* the normalised head (FDEN_P_ALIGN_NORM), its temperature included */
	{ FDEN_ALIGN_PROTOTYPICAL, 1, 0, 0, 0, 0, 2, FDEN_ALIGN_NORM_COSINE, 0 },
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 1, 1, 1, 2, FDEN_ALIGN_NORM_SIMPLESHOT, 0 },
	/* HSIC and the style classifier (its weights checked on their own view) */
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 0, 0, 0, 2, 0, 1 }, /* the MLP D */
	{ FDEN_ALIGN_PROTOTYPICAL, 0, 1, 1, 0, 1, 2, 0, 1 }, /* the flow, density term on */
};

START_TEST(grad_variant)
{
	const struct variant *v = &variants[_i];

	use_flow = v->flow;
	use_indep = v->indep;
	use_nll = v->nll;
	use_norm = v->norm;
	use_adv = v->adv;
	n_episodes = v->episodes;
	check_model(v->head, v->bn, v->std);
	use_flow = use_indep = use_nll = use_norm = use_adv = 0;
	n_episodes = 2;
}
END_TEST

/* A model whose workspace was made for more rows gives, at fewer rows, the
 * bits a fresh model gives (D's second-pass rows are placed per step) */
START_TEST(grad_fewer_rows)
{
	struct fden_model *a = make_model(FDEN_ALIGN_PROTOTYPICAL, 4, 1, 0);
	struct fden_model *b = make_model(FDEN_ALIGN_PROTOTYPICAL, 4, 1, 0);
	struct tu_episodes big, small;
	struct fden_step_stats sa, sb;
	struct fd_param *pa[256], *pb[256];
	int nets[256], np = all_params(a, pa, nets);

	ck_assert_int_eq(all_params(b, pb, nets), np);
	tu_episodes_make(&big, 4, 3, 2, 2, 4);   /* 48 rows */
	tu_episodes_make(&small, 1, 3, 2, 2, 4); /* 12 rows */
	ck_assert_int_eq(fd_train_grad(a, &big.ep, &sa, NULL), FDEN_OK);
	ck_assert_int_eq(fd_train_grad(a, &small.ep, &sa, NULL), FDEN_OK);
	ck_assert_int_eq(fd_train_grad(b, &small.ep, &sb, NULL), FDEN_OK);
	ck_assert(sa.loss == sb.loss);
	for (int i = 0; i < np; i++)
		ck_assert_int_eq(memcmp(pa[i]->g, pb[i]->g, pa[i]->n * sizeof(float)), 0);
	tu_episodes_free(&big);
	tu_episodes_free(&small);
	fden_model_free(a);
	fden_model_free(b);
}
END_TEST

/* The GRL really reverses: with gamma's sign in the D view flipped, the
 * check must fail (the test can fail). */
START_TEST(grl_sign_matters)
{
	struct fden_model *m = make_model(FDEN_ALIGN_PROTOTYPICAL, 4, 1, 0);
	struct tu_episodes t;
	struct fden_step_stats s0, sp, sm;
	struct fd_param *p;
	const float h = 1e-2f;
	double an, with_grl, without;

	tu_episodes_make(&t, 2, 3, 2, 2, 4);
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &s0, NULL), FDEN_OK);
	p = fd_mlp_param(m->net[FD_NET_D_IDE], 0);
	an = p->g[1];
	float keep = p->w[1];
	p->w[1] = keep + h;
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &sp, NULL), FDEN_OK);
	p->w[1] = keep - h;
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &sm, NULL), FDEN_OK);
	p->w[1] = keep;
	with_grl = (view(&sp, 0) - view(&sm, 0)) / (2 * h);
	without = (sp.loss - sm.loss) / (2 * h);
	ck_assert_msg(fabs(an - with_grl) < 3e-2 * fmax(fabs(an), 5e-2), "D grad %g vs GRL view %g",
		      an, with_grl);
	/* the MINE term must matter for this entry, else the check says nothing */
	ck_assert_msg(fabs(with_grl - without) > 0.1 * fabs(with_grl) + 1e-4,
		      "MINE term negligible: %g vs %g", with_grl, without);
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

/* MINE moving average: first step equals the exact gradient; with a running
 * average the statistician's marginal gradient is rescaled, the joint part
 * not. */
START_TEST(mine_moving_average)
{
	struct fden_model *m0 = make_model(FDEN_ALIGN_PROTOTYPICAL, 4, 1, 0);
	struct fden_model *m1 = make_model(FDEN_ALIGN_PROTOTYPICAL, 4, 1, 1);
	struct tu_episodes t;
	struct fden_step_stats s0, s1;
	struct fd_param *p0, *p1;
	int differ = 0;

	tu_episodes_make(&t, 2, 3, 2, 2, 4);
	ck_assert_int_eq(fd_train_grad(m0, &t.ep, &s0, NULL), FDEN_OK);
	ck_assert_int_eq(fd_train_grad(m1, &t.ep, &s1, NULL), FDEN_OK);
	p0 = fd_mlp_param(m0->net[FD_NET_STAT], 0);
	p1 = fd_mlp_param(m1->net[FD_NET_STAT], 0);
	for (size_t j = 0; j < p0->n; j++)
		ck_assert_float_eq(p0->g[j], p1->g[j]);
	m1->mine_have_ma = 1;
	m1->mine_log_ma = 3.0; /* a large old average: the marginal term shrinks */
	ck_assert_int_eq(fd_train_grad(m1, &t.ep, &s1, NULL), FDEN_OK);
	ck_assert_double_eq_tol(s1.l_m, s0.l_m, 1e-12); /* the estimate is the same */
	for (size_t j = 0; j < p0->n; j++)
		differ += fabsf(p0->g[j] - p1->g[j]) > 1e-6f * (1 + fabsf(p0->g[j]));
	ck_assert_int_gt(differ, 0);
	/* a step commits the average */
	m1->mine_have_ma = 0;
	ck_assert_int_eq(fden_train_step(m1, &t.ep, NULL), FDEN_OK);
	ck_assert_int_eq(m1->mine_have_ma, 1);
	ck_assert(isfinite(m1->mine_log_ma));
	tu_episodes_free(&t);
	fden_model_free(m0);
	fden_model_free(m1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model-grad");
	TCase *tc = tcase_create("grad");
	int nf = 0;

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, grad_variant, 0, (int)(sizeof variants / sizeof variants[0]));
	tcase_add_test(tc, grad_fewer_rows);
	tcase_add_test(tc, grl_sign_matters);
	tcase_add_test(tc, mine_moving_average);
	suite_add_tcase(s, tc);
	nf += tu_check_failed(s, NULL);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
