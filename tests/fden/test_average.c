/* The training levers outside the loss: the learning-rate schedule
 * (FDEN_P_LR_DECAY), the weight average used for inference and saving
 * (FDEN_P_EMA) and the normalised head's learned temperature
 * (FDEN_P_ALIGN_NORM, FDEN_P_ALIGN_TEMP). Their gradients are checked in
 * test_grad.c. */
#include <unistd.h>

#include "../testutil.h"
#include "fden/model_int.h"

START_TEST(lr_schedule)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);

	ck_assert_double_eq(fd_lr_factor(c, 0), 1.0); /* constant by default */
	ck_assert_double_eq(fd_lr_factor(c, 12345), 1.0);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY, FDEN_LR_COSINE), FDEN_OK);
	ck_assert_double_eq(fd_lr_factor(c, 500), 1.0); /* no horizon: no decay */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY_STEPS, 1000), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY_FACTOR, 0.2), FDEN_OK);
	ck_assert_double_eq_tol(fd_lr_factor(c, 0), 1.0, 1e-12);
	ck_assert_double_eq_tol(fd_lr_factor(c, 500), 0.6, 1e-12); /* (1 + 0.2) / 2 */
	ck_assert_double_eq_tol(fd_lr_factor(c, 250), 0.2 + 0.8 * (1 + cos(M_PI / 4)) / 2, 1e-12);
	ck_assert_double_eq_tol(fd_lr_factor(c, 1000), 0.2, 1e-12);
	ck_assert_double_eq_tol(fd_lr_factor(c, 5000), 0.2, 1e-12); /* stays at the floor */
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY, FDEN_LR_STEP), FDEN_OK);
	ck_assert_double_eq_tol(fd_lr_factor(c, 999), 1.0, 1e-12);
	ck_assert_double_eq_tol(fd_lr_factor(c, 1000), 0.2, 1e-12);
	ck_assert_double_eq_tol(fd_lr_factor(c, 2500), 0.04, 1e-12);
	fden_config_free(c);
}
END_TEST

/* Two models, same seed and data: the schedule changes what a step does
 * (factor 0 after the first drop: the second step changes nothing) */
START_TEST(lr_schedule_applies)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL;
	struct tu_episodes t;
	struct fd_param *p;
	float *keep;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY, FDEN_LR_STEP), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY_STEPS, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR_DECAY_FACTOR, 0), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	tu_episodes_make(&t, 2, 3, 1, 2, 4);
	p = fd_mlp_param(m->net[FD_NET_D_IDE], 0);
	keep = malloc(p->n * sizeof *keep);
	memcpy(keep, p->w, p->n * sizeof *keep);
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK); /* factor 1 */
	ck_assert(memcmp(keep, p->w, p->n * sizeof *keep) != 0);
	memcpy(keep, p->w, p->n * sizeof *keep);
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK); /* factor 0 */
	ck_assert_mem_eq(keep, p->w, p->n * sizeof *keep);
	free(keep);
	tu_episodes_free(&t);
	fden_model_free(m);
	fden_config_free(c);
}
END_TEST

/* The default preset on a direct caller of fden_train_step(): the average
 * is on, the cosine schedule without a horizon keeps the rate constant;
 * fden_model_set_param() gives it one between steps (the steps already
 * taken count), saved with the model; other keys stay fixed. */
START_TEST(default_schedule_live_horizon)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL), *got = NULL;
	struct fden_model *m = NULL, *l = NULL;
	struct fden_step_stats st = { .struct_size = sizeof st };
	struct tu_episodes t;
	char path[] = "/tmp/fden-test-horizon-XXXXXX";
	double v;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-2), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	ck_assert_ptr_nonnull(m->ema_other); /* ema 0.999 by default */
	tu_episodes_make(&t, 2, 3, 1, 2, 4);
	for (int s = 0; s < 3; s++) {
		ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
		ck_assert_double_eq(st.lr, 1e-2); /* no horizon: constant */
	}
	ck_assert_int_eq(fden_model_set_param(m, FDEN_P_LR_DECAY_STEPS, 7), FDEN_OK);
	for (int s = 3; s < 9; s++) { /* the step after s taken: factor of t = s */
		double t7 = s < 7 ? s : 7, f = 0.1 + 0.9 * (1 + cos(M_PI * t7 / 7)) / 2;
		ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
		ck_assert_double_eq_tol(st.lr, 1e-2 * f, 1e-15);
	}
	ck_assert_double_eq_tol(st.lr, 1e-3, 1e-15); /* the floor, 0.1 lr */
	/* fixed keys and bad values leave the model as it was */
	ck_assert_int_eq(fden_model_set_param(m, FDEN_P_EMA, 0), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(m), "fixed"));
	ck_assert_int_eq(fden_model_set_param(m, FDEN_P_LR_DECAY_STEPS, -1), FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_config(m, &got), FDEN_OK);
	ck_assert_int_eq(fden_config_get(got, FDEN_P_LR_DECAY_STEPS, &v), FDEN_OK);
	ck_assert_double_eq(v, 7);
	fden_config_free(got);
	got = NULL;
	/* saved and loaded with the model */
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_OK);
	ck_assert_int_eq(fden_model_config(l, &got), FDEN_OK);
	ck_assert_int_eq(fden_config_get(got, FDEN_P_LR_DECAY_STEPS, &v), FDEN_OK);
	ck_assert_double_eq(v, 7);
	/* the other schedule keys change too: a constant rate again */
	ck_assert_int_eq(fden_model_set_param(l, FDEN_P_LR_DECAY, FDEN_LR_CONSTANT), FDEN_OK);
	ck_assert_int_eq(fden_train_step(l, &t.ep, &st), FDEN_OK);
	ck_assert_double_eq(st.lr, 1e-2);
	unlink(path);
	fden_config_free(got);
	tu_episodes_free(&t);
	fden_model_free(m);
	fden_model_free(l);
	fden_config_free(c);
}
END_TEST

static struct fden_model *ema_model(double decay, int flow)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_EMA, decay), FDEN_OK);
	if (flow) {
		ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_FLOW), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_LAYERS, 2), FDEN_OK);
		ck_assert_int_eq(fden_config_set(c, FDEN_P_FLOW_WIDTH, 6), FDEN_OK);
	}
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	return m;
}

static size_t ema_floats(struct fden_model *m)
{
	size_t n = 0;

	for (int i = 0; i < fd_ema_nparams(m); i++)
		n += fd_ema_param(m, i)->n;
	return n;
}

/* the nets' current weights of every averaged tensor, back to back */
static void ema_weights(struct fden_model *m, float *out)
{
	for (int i = 0; i < fd_ema_nparams(m); i++) {
		struct fd_param *p = fd_ema_param(m, i);
		memcpy(out, p->w, p->n * sizeof *out);
		out += p->n;
	}
}

/* The average follows a = a + (1 - d_t)(w_t - a), d_t = min(decay,
 * (1 + t) / (10 + t)), from the initial weights; inference uses it; the
 * live weights train exactly as without the average. */
static void check_average(int flow)
{
	const double decay = 0.6;
	struct fden_model *m = ema_model(decay, flow), *plain = ema_model(0, flow);
	struct tu_episodes t;
	size_t n = ema_floats(m), di = fden_model_ide_dim(m), ds = fden_model_sty_dim(m);
	float *want = malloc(n * sizeof *want), *w = malloc(n * sizeof *w);
	float *w0 = malloc(n * sizeof *w0), z[8 * 4], a1[8 * 4], b1[8 * 4], a2[8 * 4], b2[8 * 4];

	ck_assert_ptr_nonnull(m->ema_other);
	ck_assert_ptr_null(plain->ema_other);
	ck_assert_int_gt(fd_ema_nparams(m), fd_model_d_nparams(m) - 1);
	tu_episodes_make(&t, 2, 3, 1, 2, 4);
	for (int i = 0; i < 32; i++)
		z[i] = (float)tu_normal();
	ema_weights(m, want); /* a_0 = the initial weights */
	for (int s = 1; s <= 4; s++) {
		double d = (1.0 + s) / (10.0 + s) < decay ? (1.0 + s) / (10.0 + s) : decay;
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
		ck_assert_int_eq(fden_train_step(plain, &t.ep, NULL), FDEN_OK);
		ema_weights(m, w); /* live after a step */
		ema_weights(plain, w0);
		ck_assert_mem_eq(w, w0, n * sizeof *w);
		for (size_t j = 0; j < n; j++)
			want[j] += (float)(1.0 - d) * (w[j] - want[j]);
		/* inference swaps the average in, and gives its output */
		ck_assert_int_eq(fden_disentangle(m, z, 8, a1, b1), FDEN_OK);
		ck_assert_int_eq(atomic_load(&m->ema_state), FD_EMA_AVERAGE);
		ema_weights(m, w);
		for (size_t j = 0; j < n; j++)
			ck_assert_float_eq_tol(w[j], want[j], 1e-5f * (1.0f + fabsf(want[j])));
		ck_assert_int_eq(fden_disentangle(plain, z, 8, a2, b2), FDEN_OK);
		ck_assert(memcmp(a1, a2, 8 * di * sizeof *a1) != 0); /* not the live weights */
		(void)b2;
	}
	free(want);
	free(w);
	free(w0);
	tu_episodes_free(&t);
	fden_model_free(m);
	fden_model_free(plain);
	(void)ds;
}

START_TEST(average_mlp)
{
	check_average(0);
}
END_TEST

START_TEST(average_flow)
{
	check_average(1);
}
END_TEST

/* A saved model with an average and the normalised head: the file holds
 * the average (what inference used) and the live weights and temperature,
 * so the loaded model infers and trains on as the original does. */
START_TEST(average_and_head_checkpoint)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL, *l = NULL;
	struct tu_episodes t;
	char path[] = "/tmp/fden-test-average-XXXXXX";
	float z[8 * 4], a1[8 * 4], a2[8 * 4], b1[8 * 4], b2[8 * 4];
	float tau0;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-2), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_EMA, 0.9), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_NORM, FDEN_ALIGN_NORM_SIMPLESHOT), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_ALIGN_TEMP, 5), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	tau0 = m->tau.w[0];
	ck_assert_float_eq_tol(tau0, logf(5.0f), 1e-6f);
	tu_episodes_make(&t, 2, 3, 1, 2, 4);
	for (int i = 0; i < 32; i++)
		z[i] = (float)tu_normal();
	for (int s = 0; s < 3; s++)
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
	ck_assert(m->tau.w[0] != tau0); /* the temperature is learned */
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_OK);
	ck_assert_float_eq(l->tau.w[0], m->tau.w[0]);
	ck_assert_float_eq(l->tau.m[0], m->tau.m[0]);
	ck_assert_int_eq(fden_disentangle(m, z, 8, a1, b1), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(l, z, 8, a2, b2), FDEN_OK);
	ck_assert_mem_eq(a1, a2, sizeof a1);
	ck_assert_mem_eq(b1, b2, sizeof b1);
	for (int s = 0; s < 2; s++) {
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
		ck_assert_int_eq(fden_train_step(l, &t.ep, NULL), FDEN_OK);
	}
	ck_assert_int_eq(fden_disentangle(m, z, 8, a1, b1), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(l, z, 8, a2, b2), FDEN_OK);
	ck_assert_mem_eq(a1, a2, sizeof a1);
	ck_assert_float_eq(l->tau.w[0], m->tau.w[0]);
	unlink(path);
	tu_episodes_free(&t);
	fden_model_free(m);
	fden_model_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model-average");
	TCase *tc = tcase_create("average");
	int nf = 0;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lr_schedule);
	tcase_add_test(tc, lr_schedule_applies);
	tcase_add_test(tc, default_schedule_live_horizon);
	tcase_add_test(tc, average_mlp);
	tcase_add_test(tc, average_flow);
	tcase_add_test(tc, average_and_head_checkpoint);
	suite_add_tcase(s, tc);
	nf += tu_check_failed(s, NULL);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
