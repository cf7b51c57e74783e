/* The model's API contract: argument errors with details, non-finite steps
 * rejected without a trace, no allocation in the steady state, inference
 * from many threads giving the same bits, prediction and the parts. */
#include <pthread.h>
#include <stdio.h>

#include "../testutil.h"
#include "fden/model_int.h"
#include "kernels/gemm.h"

static struct fden_model *small(int head, const struct fden_allocator *al)
{
	struct fden_config *c = tu_small_config(4, head);
	struct fden_model *m = NULL;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_LR, 1e-3), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DROPOUT, 0.1), FDEN_OK);
	if (al)
		ck_assert_int_eq(fden_config_set_allocator(c, al), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	return m;
}

START_TEST(errors)
{
	struct fden_model *m = small(FDEN_ALIGN_PROTOTYPICAL, NULL);
	struct fden_config *c = NULL;
	struct tu_episodes t;
	struct fden_step_stats st = { .struct_size = sizeof st };
	float out[16];

	fden_model_free(NULL);
	ck_assert_int_eq(fden_model_new(NULL, &m), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	c->v[FDEN_P_DIM] = 0; /* bypassing the setter: still rejected */
	struct fden_model *bad = NULL;
	ck_assert_int_eq(fden_model_new(c, &bad), FDEN_E_INVALID);
	ck_assert_ptr_null(bad);
	fden_config_free(c);

	ck_assert_uint_eq(fden_model_dim(m), 4);
	ck_assert_uint_eq(fden_model_step(m), 0);
	ck_assert_str_eq(fden_model_last_error(m), "");
	tu_episodes_make(&t, 2, 3, 2, 1, 4);
	ck_assert_int_eq(fden_train_step(m, NULL, &st), FDEN_E_INVALID);
	ck_assert_int_eq(fden_train_step(NULL, &t.ep, &st), FDEN_E_INVALID);
	t.labels[0] = 5;
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(m), "labels[0] = 5"));
	ck_assert_str_eq(fden_last_error(), fden_model_last_error(m));
	t.labels[0] = 1; /* class 1 twice, class 0 missing in the support */
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(m), "class 0"));
	t.labels[0] = 0;
	t.ep.shots = 0;
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_E_INVALID);
	t.ep.shots = 2;
	t.ep.struct_size = 8;
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_E_INVALID);
	t.ep.struct_size = sizeof t.ep;
	st.struct_size = 4;
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_E_INVALID);
	st.struct_size = sizeof st;
	ck_assert_uint_eq(fden_model_step(m), 0);
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
	ck_assert_uint_eq(st.step, 1);
	ck_assert(st.accuracy >= 0 && st.accuracy <= 1);
	ck_assert(st.gnorm_disentangler > 0 && st.gnorm_entangler > 0 && st.gnorm_statistician > 0);
	ck_assert(st.gnorm_align == 0); /* prototypical: no parameters */
	ck_assert(st.clip_scale > 0 && st.clip_scale <= 1);

	ck_assert_int_eq(fden_disentangle(m, t.z, 0, out, out), FDEN_E_INVALID);
	ck_assert_int_eq(fden_disentangle(m, NULL, 1, out, out), FDEN_E_INVALID);
	ck_assert_int_eq(fden_entangle(m, out, NULL, 1, out), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "f_sty"));
	float std0[4] = { 1, 1, 0, 1 }, mean0[4] = { 0 };
	ck_assert_int_eq(fden_model_set_standardization(m, mean0, std0), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "std[2]"));
	ck_assert_int_eq(fden_model_set_standardization(m, mean0, NULL), FDEN_E_INVALID);
	ck_assert_int_eq(fden_model_set_standardization(m, NULL, NULL), FDEN_OK);
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

struct snapshot {
	float *x;
	size_t n;
};

/* every parameter, moment and buffer, back to back */
static void snap(struct fden_model *m, struct snapshot *s)
{
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < FD_NNETS; k++) {
			if (!m->net[k])
				continue;
			for (int i = 0; i < fd_mlp_nparams(m->net[k]); i++) {
				struct fd_param *p = fd_mlp_param(m->net[k], i);
				if (pass) {
					memcpy(s->x + n, p->w, p->n * 4);
					memcpy(s->x + n + p->n, p->m, p->n * 4);
					memcpy(s->x + n + 2 * p->n, p->v, p->n * 4);
				}
				n += 3 * p->n;
			}
			for (int i = 0; i < fd_mlp_nbuffers(m->net[k]); i++) {
				struct fd_buffer *b = fd_mlp_buffer(m->net[k], i);
				if (pass)
					memcpy(s->x + n, b->x, b->n * 4);
				n += b->n;
			}
		}
		if (!pass) {
			s->n = n;
			s->x = malloc(n * 4);
			n = 0;
		}
	}
}

START_TEST(nonfinite_rejected)
{
	struct fden_model *m = small(FDEN_ALIGN_RELATION, NULL);
	struct tu_episodes t;
	struct snapshot a, b;
	struct fd_rng r0;
	struct fd_param *p;
	float keep;

	tu_episodes_make(&t, 2, 3, 2, 1, 4);
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
	/* a NaN in the input */
	t.z[5] = NAN;
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_E_NONFINITE);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(m), "z[5]"));
	t.z[5] = 0.5f;
	/* a diverged weight (batch norm would absorb a merely huge one in D's
	 * first layer): the step is rejected and nothing changes */
	p = fd_mlp_param(m->net[FD_NET_E_ENC], fd_mlp_nparams(m->net[FD_NET_E_ENC]) - 1);
	keep = p->w[0];
	p->w[0] = NAN;
	snap(m, &a);
	r0 = m->rng;
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_E_NONFINITE);
	ck_assert_ptr_nonnull(strstr(fden_model_last_error(m), "non-finite"));
	snap(m, &b);
	ck_assert_uint_eq(a.n, b.n);
	ck_assert_mem_eq(a.x, b.x, a.n * 4);
	ck_assert_mem_eq(&r0, &m->rng, sizeof r0);
	ck_assert_uint_eq(fden_model_step(m), 1);
	p->w[0] = keep;
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
	ck_assert_uint_eq(fden_model_step(m), 2);
	free(a.x);
	free(b.x);
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

START_TEST(no_alloc_steady_state)
{
	struct tu_counter cnt = { 0 };
	struct fden_allocator al = tu_counting_allocator(&cnt);
	struct fden_model *m = small(FDEN_ALIGN_RELATION, &al);
	struct tu_episodes t, u;
	size_t before;
	float fi[400], fs[400], zt[400];

	tu_episodes_make(&t, 3, 3, 2, 2, 4);
	tu_episodes_make(&u, 2, 3, 1, 1, 4); /* a smaller shape reuses the buffers */
	ck_assert_int_eq(fden_train_step(m, &u.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK); /* grows the buffers */
	ck_assert_int_eq(fden_disentangle(m, t.z, 36, fi, fs), FDEN_OK);
	ck_assert_int_eq(fden_entangle(m, fi, fs, 36, zt), FDEN_OK);
	before = cnt.allocs;
	ck_assert_uint_gt(before, 0); /* the allocator is really used */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
		ck_assert_int_eq(fden_train_step(m, &u.ep, NULL), FDEN_OK);
		ck_assert_int_eq(fden_disentangle(m, t.z, 36, fi, fs), FDEN_OK);
		ck_assert_int_eq(fden_entangle(m, fi, fs, 36, zt), FDEN_OK);
	}
	ck_assert_uint_eq(cnt.allocs, before);
	tu_episodes_free(&t);
	tu_episodes_free(&u);
	fden_model_free(m);
}
END_TEST

enum { TROWS = 700,
       NTHREADS = 8 };

struct job {
	const struct fden_model *m;
	const float *z;
	float fi[TROWS * 4], fs[TROWS * 4], zt[TROWS * 4];
	int rc;
};

static void *run(void *arg)
{
	struct job *j = arg;
	for (int rep = 0; rep < 5 && !j->rc; rep++) {
		j->rc = fden_disentangle(j->m, j->z, TROWS, j->fi, j->fs);
		if (!j->rc)
			j->rc = fden_entangle(j->m, j->fi, j->fs, TROWS, j->zt);
	}
	return NULL;
}

START_TEST(threads_same_bits)
{
	struct fden_model *m = small(FDEN_ALIGN_PROTOTYPICAL, NULL);
	struct tu_episodes t;
	static struct job serial, jobs[NTHREADS];
	pthread_t th[NTHREADS];
	float *z = malloc(TROWS * 4 * sizeof *z), mean[4] = { 0.5f, 0, 0, -1 }, sd[4] = { 2, 1, 1, 3 };

	tu_episodes_make(&t, 2, 3, 2, 1, 4);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_model_set_standardization(m, mean, sd), FDEN_OK);
	for (int i = 0; i < TROWS * 4; i++)
		z[i] = (float)(3 * tu_normal());
	serial.m = m;
	serial.z = z;
	run(&serial);
	ck_assert_int_eq(serial.rc, FDEN_OK);
	for (int i = 0; i < NTHREADS; i++) { /* more threads than pool slots */
		jobs[i].m = m;
		jobs[i].z = z;
		ck_assert_int_eq(pthread_create(&th[i], NULL, run, &jobs[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(jobs[i].rc, FDEN_OK);
		ck_assert_mem_eq(jobs[i].fi, serial.fi, sizeof serial.fi);
		ck_assert_mem_eq(jobs[i].fs, serial.fs, sizeof serial.fs);
		ck_assert_mem_eq(jobs[i].zt, serial.zt, sizeof serial.zt);
	}
	/* a row's factors do not depend on the batch it came in */
	float one_i[4], one_s[4];
	ck_assert_int_eq(fden_disentangle(m, z + 300 * 4, 1, one_i, one_s), FDEN_OK);
	ck_assert_mem_eq(one_i, serial.fi + 300 * 4, sizeof one_i);
	/* the parts give what the model gives */
	ck_assert_int_eq(fden_disentangler_run(fden_model_disentangler(m), z, TROWS, jobs[0].fi,
					       jobs[0].fs),
			 FDEN_OK);
	ck_assert_mem_eq(jobs[0].fi, serial.fi, sizeof serial.fi);
	ck_assert_int_eq(fden_entangler_run(fden_model_entangler(m), serial.fi, serial.fs, TROWS,
					    jobs[0].zt),
			 FDEN_OK);
	ck_assert_mem_eq(jobs[0].zt, serial.zt, sizeof serial.zt);
	free(z);
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

static void check_predict(int head)
{
	struct fden_model *m = small(head, NULL);
	struct tu_episodes t;
	int32_t ys[6] = { 0, 1, 2, 0, 1, 2 }, pred[3], pred2[3];
	float prob[9], S[24], Q[12], prob2[9];
	double mi;

	tu_episodes_make(&t, 2, 3, 2, 1, 4);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
	/* first episode: 6 support rows then 3 queries */
	ck_assert_int_eq(fden_predict(m, t.z, ys, 6, 3, t.z + 24, 3, pred, prob), FDEN_OK);
	ck_assert_int_eq(fden_predict(m, t.z, ys, 6, 3, t.z + 24, 3, pred2, NULL), FDEN_OK);
	ck_assert_mem_eq(pred, pred2, sizeof pred);
	for (int q = 0; q < 3; q++) {
		double s = 0;
		int best = 0;
		ck_assert(pred[q] >= 0 && pred[q] < 3);
		for (int k = 0; k < 3; k++) {
			s += prob[q * 3 + k];
			if (prob[q * 3 + k] > prob[q * 3 + best])
				best = k;
		}
		ck_assert_double_eq_tol(s, 1, 1e-5);
		ck_assert_int_eq(best, pred[q]);
	}
	/* predict == disentangle + factorizer_align */
	ck_assert_int_eq(fden_disentangle(m, t.z, 6, S, NULL), FDEN_OK);
	ck_assert_int_eq(fden_disentangle(m, t.z + 24, 3, Q, NULL), FDEN_OK);
	ck_assert_int_eq(fden_factorizer_align(fden_model_factorizer(m), S, ys, 6, 3, Q, 3, prob2),
			 FDEN_OK);
	ck_assert_mem_eq(prob, prob2, sizeof prob);
	ys[3] = 0, ys[4] = 0, ys[5] = 0, ys[1] = 0; /* class 1 without support */
	ck_assert_int_eq(fden_predict(m, t.z, ys, 6, 3, t.z + 24, 3, pred, prob), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "class 1"));
	ck_assert_int_eq(fden_factorizer_mine(fden_model_factorizer(m), S, S, 6, 1, &mi), FDEN_OK);
	ck_assert(isfinite(mi));
	ck_assert_int_eq(fden_factorizer_mine(fden_model_factorizer(m), S, S, 1, 1, &mi), FDEN_E_INVALID);
	tu_episodes_free(&t);
	fden_model_free(m);
}

START_TEST(predict_proto)
{
	check_predict(FDEN_ALIGN_PROTOTYPICAL);
}
END_TEST

START_TEST(predict_matching)
{
	check_predict(FDEN_ALIGN_MATCHING);
}
END_TEST

START_TEST(predict_relation)
{
	check_predict(FDEN_ALIGN_RELATION);
}
END_TEST

/* Stochastic input: z = mu + s exp(logsig) eps changes the step (and the
 * rng), a log-sigma of -40 does not; off, log-sigma is ignored. */
START_TEST(stochastic_input)
{
	struct fden_config *c = tu_small_config(4, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL;
	struct tu_episodes t;
	struct fden_step_stats s0, s1, s2, s3;
	struct fd_rng r0;

	ck_assert_int_eq(fden_config_set(c, FDEN_P_STOCHASTIC, 1), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STOCHASTIC_SCALE, 1), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	tu_episodes_make(&t, 2, 3, 2, 1, 4);
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &s0, NULL), FDEN_OK); /* no log-sigma: plain */
	t.ep.z_log_sigma = t.ls;
	r0 = m->rng;
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &s1, NULL), FDEN_OK);
	ck_assert_mem_eq(&r0, &m->rng, sizeof r0); /* the test hook restores the rng */
	ck_assert(s1.l_r != s0.l_r);
	for (size_t i = 0; i < 2 * 3 * 3 * 4; i++)
		t.ls[i] = -40;
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &s2, NULL), FDEN_OK);
	ck_assert_double_eq_tol(s2.l_r, s0.l_r, 1e-9);
	fden_model_free(m);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_STOCHASTIC, 0), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	for (size_t i = 0; i < 2 * 3 * 3 * 4; i++)
		t.ls[i] = 1;
	ck_assert_int_eq(fd_train_grad(m, &t.ep, &s3, NULL), FDEN_OK);
	ck_assert(s3.l_r == s0.l_r);
	fden_model_free(m);
	fden_config_free(c);
	tu_episodes_free(&t);
}
END_TEST

/* The paper preset builds the paper's widths; one step runs. */
START_TEST(paper_preset)
{
	struct fden_config *c = NULL;
	struct fden_model *m = NULL;
	struct tu_episodes t;
	struct fden_step_stats st = { .struct_size = sizeof st };

	ck_assert_int_eq(fden_config_new(&c), FDEN_OK);
	ck_assert_int_eq(fden_config_preset(c, FDEN_PRESET_PAPER), FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_DIM, 32), FDEN_OK);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	fden_config_free(c);
	ck_assert_int_eq(fd_mlp_out(m->net[FD_NET_D_DEC]), 64);
	ck_assert_int_eq(fd_mlp_in(m->net[FD_NET_STAT]), 64);
	ck_assert_ptr_nonnull(m->net[FD_NET_REL]);
	ck_assert_int_eq(fd_mlp_in(m->net[FD_NET_REL]), 64);
	tu_episodes_make(&t, 4, 5, 1, 1, 32);
	ck_assert_int_eq(fden_train_step(m, &t.ep, &st), FDEN_OK);
	ck_assert(isfinite(st.loss));
	tu_episodes_free(&t);
	fden_model_free(m);
}
END_TEST

/* The padding rule (kernels/gemm.h): every operand fd_gemm_padded gets in
 * training steps, inference and prediction is library memory, whatever
 * buffers the caller passes, for both disentanglers and every head. Debug
 * builds check each product (scripts/test.sh's sanitizer build is one);
 * release builds do not look and count nothing. */
START_TEST(padded_operands_are_library_memory)
{
	static const int dis[] = { FDEN_DIS_MLP, FDEN_DIS_FLOW };
	static const int head[] = { FDEN_ALIGN_PROTOTYPICAL, FDEN_ALIGN_MATCHING,
				    FDEN_ALIGN_RELATION };
	int32_t ys[6] = { 0, 0, 1, 1, 2, 2 }, pred[3];
	float fi[400], fs[400], zt[400], prob[9];
	unsigned long before = fd_gemm_padded_strays();

	for (int d = 0; d < 2; d++)
		for (int h = 0; h < 3; h++) {
			struct fden_config *c = tu_small_config(4, head[h]);
			struct fden_model *m = NULL;
			struct tu_episodes t;

			ck_assert_int_eq(fden_config_set(c, FDEN_P_DISENTANGLER, dis[d]), FDEN_OK);
			ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
			fden_config_free(c);
			tu_episodes_make(&t, 3, 3, 2, 2, 4);
			for (int i = 0; i < 3; i++)
				ck_assert_int_eq(fden_train_step(m, &t.ep, NULL), FDEN_OK);
			ck_assert_int_eq(fden_disentangle(m, t.z, 36, fi, fs), FDEN_OK);
			ck_assert_int_eq(fden_entangle(m, fi, fs, 36, zt), FDEN_OK);
			ck_assert_int_eq(fden_predict(m, t.z, ys, 6, 3, t.z + 24, 3, pred, prob),
					 FDEN_OK);
			ck_assert_msg(fd_gemm_padded_strays() == before,
				      "dis %d head %d: %lu products on memory outside fd_malloc",
				      dis[d], head[h], fd_gemm_padded_strays() - before);
			tu_episodes_free(&t);
			fden_model_free(m);
		}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model-api");
	TCase *tc = tcase_create("api");
	int nf = 0;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, padded_operands_are_library_memory);
	tcase_add_test(tc, nonfinite_rejected);
	tcase_add_test(tc, no_alloc_steady_state);
	tcase_add_test(tc, threads_same_bits);
	tcase_add_test(tc, predict_proto);
	tcase_add_test(tc, predict_matching);
	tcase_add_test(tc, predict_relation);
	tcase_add_test(tc, stochastic_input);
	tcase_add_test(tc, paper_preset);
	suite_add_tcase(s, tc);
	nf += tu_check_failed(s, NULL);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
