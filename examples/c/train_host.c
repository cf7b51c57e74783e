/*
 * train_host: train FDEN on the latents of YOUR OWN encoder/decoder.
 *
 * libfden never changes the host's network: it only calls encode() and
 * decode() through a small table of function pointers (struct
 * fden_invnet_ops). Here the "pretrained network" is a fixed linear map with
 * orthonormal columns (z = x W, x = z W^T); replace my_encode()/my_decode()
 * with calls into your own model.
 *
 * Steps: wrap the host net -> encode the training images -> sample few-shot
 * episodes of latents -> fden_train_step() -> evaluate few-shot accuracy of
 * f_ide on classes never seen in training -> save the model.
 * On these toy images f_ide classifies unseen classes about as well as the
 * raw latent z (both ~40% at 5-way 1-shot, chance 20%): the point here is
 * the wiring, not the numbers.
 *
 * Usage: example-train_host [STEPS [MODEL_OUT [LATENTS_OUT.npy]]]
 *        (defaults: 600 steps, no files written)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

#include "toy_data.h"

#define LATENT 16  /* the host's latent width: FDEN's Dim */
#define CLASSES 40 /* classes 0..29 train, 30..39 are unseen at test time */
#define FIRST_TEST 30
#define PER_CLASS 20

/* Print the status and the library's detail, then leave. */
#define CHECK(call) \
	do { \
		int rc_ = (call); \
		if (rc_ != FDEN_OK) { \
			fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, \
				__LINE__, #call, fden_strerror(rc_), fden_last_error()); \
			exit(1); \
		} \
	} while (0)

/* ---- the host's network (yours goes here) ---- */

struct my_net {
	float w[TOY_DIM * LATENT]; /* TOY_DIM x LATENT, orthonormal columns */
};

/* z (n x LATENT) = x (n x TOY_DIM) W */
static int my_encode(void *user_data, const float *x, size_t n, float *z)
{
	const struct my_net *net = user_data;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < LATENT; j++) {
			float acc = 0;
			for (size_t k = 0; k < TOY_DIM; k++)
				acc += x[i * TOY_DIM + k] * net->w[k * LATENT + j];
			z[i * LATENT + j] = acc;
		}
	return 0; /* any other value is reported to the caller as FDEN_E_HOST */
}

/* x (n x TOY_DIM) = z W^T */
static int my_decode(void *user_data, const float *z, size_t n, float *x)
{
	const struct my_net *net = user_data;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < TOY_DIM; k++) {
			float acc = 0;
			for (size_t j = 0; j < LATENT; j++)
				acc += z[i * LATENT + j] * net->w[k * LATENT + j];
			x[i * TOY_DIM + k] = acc;
		}
	return 0;
}

/* "Pretraining": random Gaussian columns, orthonormalised (Gram-Schmidt). */
static void my_net_init(struct my_net *net, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < TOY_DIM * LATENT; i++)
		net->w[i] = (float)(toy_uniform(&s) - 0.5);
	for (size_t j = 0; j < LATENT; j++) {
		for (size_t p = 0; p < j; p++) {
			double dot = 0;
			for (size_t k = 0; k < TOY_DIM; k++)
				dot += net->w[k * LATENT + j] * net->w[k * LATENT + p];
			for (size_t k = 0; k < TOY_DIM; k++)
				net->w[k * LATENT + j] -= (float)dot * net->w[k * LATENT + p];
		}
		double nrm = 0;
		for (size_t k = 0; k < TOY_DIM; k++)
			nrm += net->w[k * LATENT + j] * net->w[k * LATENT + j];
		for (size_t k = 0; k < TOY_DIM; k++)
			net->w[k * LATENT + j] /= (float)sqrt(nrm);
	}
}

/* ---- FDEN on top of it ---- */

static void print_log(void *user_data, int level, const char *format, va_list args)
{
	(void)user_data;
	if (level <= FDEN_LOG_INFO) {
		vfprintf(stdout, format, args);
		fputc('\n', stdout);
	}
}

/* The baseline: the query's class is that of the nearest support row in z. */
static int32_t nearest(const float *support, const int32_t *lab, size_t ns, const float *q)
{
	double best = INFINITY;
	int32_t cls = -1;

	for (size_t i = 0; i < ns; i++) {
		double d = 0;
		for (size_t j = 0; j < LATENT; j++)
			d += (support[i * LATENT + j] - q[j]) * (support[i * LATENT + j] - q[j]);
		if (d < best) {
			best = d;
			cls = lab[i];
		}
	}
	return cls;
}

/* Few-shot accuracy over episodes of unseen classes: of fden_predict() (the
 * model's alignment head on f_ide), or with model NULL of nearest() on z. */
static double evaluate(const struct fden_model *model, const struct fden_dataset *test,
		       size_t ways, size_t shots, size_t episodes)
{
	size_t queries = 5, per = ways * (shots + queries), right = 0;
	struct fden_sampler *s;
	float *z = malloc(per * LATENT * sizeof(*z));
	int32_t *lab = malloc(per * sizeof(*lab)), *pred = malloc(per * sizeof(*pred));

	if (!z || !lab || !pred) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	CHECK(fden_sampler_new(test, ways, shots, queries, 1234, &s));
	for (size_t e = 0; e < episodes; e++) {
		size_t ns = ways * shots, nq = ways * queries;
		CHECK(fden_sampler_next(s, 1, z, lab, NULL));
		/* support rows first, then query rows (struct fden_episodes layout) */
		if (model)
			CHECK(fden_predict(model, z, lab, ns, ways, z + ns * LATENT, nq, pred, NULL));
		else
			for (size_t i = 0; i < nq; i++)
				pred[i] = nearest(z, lab, ns, z + (ns + i) * LATENT);
		for (size_t i = 0; i < nq; i++)
			right += pred[i] == lab[ns + i];
	}
	fden_sampler_free(s);
	free(z);
	free(lab);
	free(pred);
	return (double)right / (double)(episodes * ways * queries);
}

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 600;
	const char *model_out = argc > 2 ? argv[2] : NULL;
	const char *latents_out = argc > 3 ? argv[3] : NULL;
	size_t n = CLASSES * PER_CLASS;
	float *x = malloc(n * TOY_DIM * sizeof(*x)), *z = malloc(n * LATENT * sizeof(*z));
	int32_t *labels = malloc(n * sizeof(*labels));
	static struct my_net host;

	if (!x || !z || !labels || steps < 0) {
		fprintf(stderr, "usage: %s [STEPS [MODEL_OUT [LATENTS_OUT.npy]]]\n", argv[0]);
		return 1;
	}
	printf("libfden %s\n", fden_version());
	toy_images(CLASSES, PER_CLASS, 42, x, labels);
	my_net_init(&host, 7);

	/* 1. Plug the host network in. The ops struct is copied; `host` is borrowed. */
	struct fden_invnet_ops ops = {
		.struct_size = sizeof(ops),
		.version = FDEN_INVNET_OPS_VERSION,
		.encode = my_encode,
		.decode = my_decode,
		.encode_dist = NULL, /* no q(z|x) distribution */
		.destroy = NULL,     /* `host` is static: nothing to release */
	};
	struct fden_invnet *net;
	CHECK(fden_invnet_new(&ops, TOY_DIM, LATENT, &host, &net));

	/* 2. Latents of every image, as a data set split by class. */
	struct fden_dataset *all, *train, *test;
	CHECK(fden_invnet_encode(net, x, n, z));
	CHECK(fden_dataset_new(z, labels, n, LATENT, &all));
	CHECK(fden_dataset_split(all, FIRST_TEST, &train, &test));
	if (latents_out)
		CHECK(fden_npy_save_f32(latents_out, z, n, LATENT));

	/* 3. A small model: Dim = the host's latent width. */
	struct fden_config *cfg;
	struct fden_model *model;
	CHECK(fden_config_new(&cfg));
	CHECK(fden_config_set(cfg, FDEN_P_DIM, LATENT));
	CHECK(fden_config_set(cfg, FDEN_P_DIS_WIDTH, 64));
	CHECK(fden_config_set(cfg, FDEN_P_STAT_WIDTH1, 64));
	CHECK(fden_config_set(cfg, FDEN_P_STAT_WIDTH2, 32));
	CHECK(fden_config_set(cfg, FDEN_P_STAT_WIDTH3, 16));
	CHECK(fden_config_set(cfg, FDEN_P_ENT_BRANCH_WIDTH, 32));
	CHECK(fden_config_set(cfg, FDEN_P_ENT_TRUNK_WIDTH, 64));
	CHECK(fden_config_set(cfg, FDEN_P_LR, 1e-3));
	CHECK(fden_config_set(cfg, FDEN_P_SEED, 1));
	CHECK(fden_model_new(cfg, &model));
	fden_config_free(cfg); /* the model keeps its own copy */
	fden_model_set_log(model, print_log, NULL);

	/* Standardise latents per dimension inside the model (helps training). */
	{
		const float *tz = fden_dataset_data(train);
		size_t tn = fden_dataset_size(train);
		float mean[LATENT] = { 0 }, sd[LATENT] = { 0 };
		for (size_t i = 0; i < tn; i++)
			for (size_t j = 0; j < LATENT; j++)
				mean[j] += tz[i * LATENT + j] / (float)tn;
		for (size_t i = 0; i < tn; i++)
			for (size_t j = 0; j < LATENT; j++) {
				float d = tz[i * LATENT + j] - mean[j];
				sd[j] += d * d / (float)tn;
			}
		for (size_t j = 0; j < LATENT; j++)
			sd[j] = sqrtf(sd[j]) + 1e-6f;
		CHECK(fden_model_set_standardization(model, mean, sd));
	}

	double before = evaluate(model, test, 5, 1, 100);

	/* 4. Train: 16 episodes of 5-way 1-shot 1-query a step (Appendix B). */
	const size_t eps = 16, ways = 5, shots = 1, queries = 1;
	size_t rows = eps * ways * (shots + queries);
	float *ez = malloc(rows * LATENT * sizeof(*ez));
	int32_t *el = malloc(rows * sizeof(*el));
	struct fden_sampler *sampler;
	struct fden_step_stats st = { .struct_size = sizeof(st) };

	if (!ez || !el)
		return 1;
	CHECK(fden_sampler_new(train, ways, shots, queries, 99, &sampler));
	for (long i = 0; i < steps; i++) {
		CHECK(fden_sampler_next(sampler, eps, ez, el, NULL));
		struct fden_episodes batch = {
			.struct_size = sizeof(batch),
			.n_episodes = eps,
			.ways = ways,
			.shots = shots,
			.queries = queries,
			.z = ez,
			.z_log_sigma = NULL,
			.labels = el,
		};
		CHECK(fden_train_step(model, &batch, &st));
		if ((i + 1) % 100 == 0 || i + 1 == steps)
			printf("step %4llu  loss %.4f  L_R %.4f  L_C %.4f  L_M %.4f  acc %.2f\n",
			       (unsigned long long)st.step, st.loss, st.l_r, st.l_c, st.l_m,
			       st.accuracy);
	}
	double after = evaluate(model, test, 5, 1, 100);
	printf("5-way 1-shot on unseen classes, f_ide: %.1f%% before, %.1f%% after training; "
	       "nearest neighbour on z: %.1f%% (chance 20%%)\n",
	       100 * before, 100 * after,
	       100 * evaluate(NULL, test, 5, 1, 100));

	/* 5. The plug-in check: decode(E(D(z))) against the host's decode(z). */
	{
		size_t m = 20;
		float *ide = malloc(m * LATENT * sizeof(*ide)), *sty = malloc(m * LATENT * sizeof(*sty));
		float *zt = malloc(m * LATENT * sizeof(*zt));
		float *xa = malloc(m * TOY_DIM * sizeof(*xa)), *xb = malloc(m * TOY_DIM * sizeof(*xb));
		double se = 0;
		if (!ide || !sty || !zt || !xa || !xb)
			return 1;
		CHECK(fden_disentangle(model, z, m, ide, sty));
		CHECK(fden_entangle(model, ide, sty, m, zt));
		CHECK(fden_invnet_decode(net, z, m, xa));
		CHECK(fden_invnet_decode(net, zt, m, xb));
		for (size_t i = 0; i < m * TOY_DIM; i++)
			se += (xa[i] - xb[i]) * (xa[i] - xb[i]);
		printf("decode(z~) vs decode(z): mean squared difference %.5f\n",
		       se / (double)(m * TOY_DIM));
		free(ide);
		free(sty);
		free(zt);
		free(xa);
		free(xb);
	}

	if (model_out) {
		CHECK(fden_model_save(model, model_out));
		printf("model saved to %s\n", model_out);
	}
	fden_sampler_free(sampler);
	fden_model_free(model);
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(all);
	fden_invnet_free(net);
	free(ez);
	free(el);
	free(x);
	free(z);
	free(labels);
	return 0;
}
