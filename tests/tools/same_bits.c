/* Prints, in hex, what training does on fixed data: each step's statistics,
 * the gradient of the loss with respect to z (fd_train_grad), and a hash of
 * the saved model, for both disentanglers (flow and the paper's MLP) and
 * the paths their steps take (small and large batches, every head,
 * the stochastic input, the independence terms, MINE's moving average).
 * same_bits.sh builds it against two builds and compares the outputs: a
 * refactor of the training path must leave every bit as it was.
 * Usage: same_bits MODEL_PATH (a scratch file, removed at the end). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

/* internal (libfden_internal.a): fden/model_int.h */
int fd_train_grad(struct fden_model *m, const struct fden_episodes *ep,
		  struct fden_step_stats *st, float *dz);

static uint64_t xs = 0x9e3779b97f4a7c15ull;

static float uniform(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 7;
	xs ^= xs << 17;
	return (float)((xs >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

struct run {
	const char *name;
	int preset; /* enum fden_preset */
	int dim;
	size_t episodes, ways, shots, queries;
	int steps;
	int head; /* -1: the preset's */
	int stochastic;
	double sty_adv, dropout;
	int norm, mine_ma;
	double ema;
	int threads;
};

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int set(struct fden_config *c, int key, double v)
{
	int rc = fden_config_set(c, key, v);

	if (rc)
		fprintf(stderr, "same_bits: key %d = %g: %s\n", key, v, fden_strerror(rc));
	return rc;
}

static int run_one(const struct run *r, const char *path)
{
	struct fden_config *c = NULL;
	struct fden_model *m = NULL;
	size_t R = r->ways * (r->shots + r->queries), N = R * r->episodes, D = (size_t)r->dim;
	float *z = malloc(N * D * sizeof *z), *ls = malloc(N * D * sizeof *ls);
	float *dz = malloc(N * D * sizeof *dz), *mu = malloc(r->ways * D * sizeof *mu);
	int32_t *y = malloc(N * sizeof *y);
	struct fden_episodes ep;
	struct fden_step_stats st;
	int rc = 1;

	if (!z || !ls || !dz || !mu || !y)
		goto out;
	for (size_t i = 0; i < r->ways * D; i++)
		mu[i] = 2.0f * uniform();
	for (size_t e = 0; e < r->episodes; e++)
		for (size_t i = 0; i < R; i++) {
			size_t row = e * R + i;
			int k = (int)(i < r->ways * r->shots ? i % r->ways : (i - r->ways * r->shots) % r->ways);
			y[row] = k;
			for (size_t d = 0; d < D; d++) {
				z[row * D + d] = mu[((size_t)k + e) % r->ways * D + d] + 0.5f * uniform();
				ls[row * D + d] = -1.0f + 0.3f * uniform();
			}
		}
	if (fden_config_new(&c) || fden_config_preset(c, r->preset) ||
	    set(c, FDEN_P_DIM, r->dim) || set(c, FDEN_P_SEED, 7) ||
	    set(c, FDEN_P_THREADS, r->threads))
		goto out;
	if (r->preset == FDEN_PRESET_DEFAULT &&
	    (set(c, FDEN_P_FLOW_LAYERS, 4) || set(c, FDEN_P_FLOW_WIDTH, 32)))
		goto out;
	if (r->preset == FDEN_PRESET_PAPER &&
	    (set(c, FDEN_P_DIS_WIDTH, 48) || set(c, FDEN_P_ENT_BRANCH_WIDTH, 24) ||
	     set(c, FDEN_P_ENT_TRUNK_WIDTH, 40) || set(c, FDEN_P_STAT_WIDTH1, 64) ||
	     set(c, FDEN_P_STAT_WIDTH2, 32) || set(c, FDEN_P_STAT_WIDTH3, 16) ||
	     set(c, FDEN_P_LR, 1e-3)))
		goto out;
	if ((r->head >= 0 && set(c, FDEN_P_ALIGN_HEAD, r->head)) ||
	    (r->stochastic && set(c, FDEN_P_STOCHASTIC, 1)) ||
	    (r->sty_adv > 0 && set(c, FDEN_P_STY_ADV, r->sty_adv)) ||
	    (r->dropout >= 0 && set(c, FDEN_P_DROPOUT, r->dropout)) ||
	    (r->norm && set(c, FDEN_P_ALIGN_NORM, r->norm)) ||
	    (r->mine_ma && set(c, FDEN_P_MINE_MA, 1)) ||
	    (r->ema > 0 && set(c, FDEN_P_EMA, r->ema)))
		goto out;
	if (fden_model_new(c, &m))
		goto out;
	memset(&ep, 0, sizeof ep);
	ep.struct_size = sizeof ep;
	ep.n_episodes = r->episodes;
	ep.ways = r->ways;
	ep.shots = r->shots;
	ep.queries = r->queries;
	ep.z = z;
	ep.z_log_sigma = r->stochastic ? ls : NULL;
	ep.labels = y;
	for (int s = 0; s < r->steps; s++) {
		memset(&st, 0, sizeof st);
		st.struct_size = sizeof st;
		if (fden_train_step(m, &ep, &st)) {
			fprintf(stderr, "same_bits: %s step %d: %s\n", r->name, s,
				fden_model_last_error(m));
			goto out;
		}
		printf("%s %d loss %a lr %a lc %a lm %a acc %a gd %a ge %a gs %a ga %a clip %a "
		       "lx %a la %a ln %a\n",
		       r->name, s, st.loss, st.l_r, st.l_c, st.l_m,
		       st.accuracy, st.gnorm_disentangler, st.gnorm_entangler,
		       st.gnorm_statistician, st.gnorm_align, st.clip_scale, st.l_xcorr,
		       st.l_sty_adv, st.l_nll);
	}
	memset(&st, 0, sizeof st);
	st.struct_size = sizeof st;
	if (fd_train_grad(m, &ep, &st, dz))
		goto out;
	printf("%s grad loss %a dz %016llx\n", r->name, st.loss,
	       (unsigned long long)fnv((const unsigned char *)dz, N * D * sizeof *dz,
				       0xcbf29ce484222325ull));
	if (fden_model_save(m, path))
		goto out;
	{
		FILE *f = fopen(path, "rb");
		unsigned char buf[65536];
		uint64_t h = 0xcbf29ce484222325ull;
		size_t n, total = 0;
		if (!f)
			goto out;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
			h = fnv(buf, n, h);
			total += n;
		}
		fclose(f);
		remove(path);
		printf("%s model %zu bytes %016llx\n", r->name, total, (unsigned long long)h);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "same_bits: %s failed\n", r->name);
	fden_model_free(m);
	fden_config_free(c);
	free(z);
	free(ls);
	free(dz);
	free(mu);
	free(y);
	return rc;
}

int main(int argc, char **argv)
{
	/* name preset dim episodes ways shots queries steps head stoch styadv
	 * dropout norm mine_ma ema threads */
	static const struct run runs[] = {
		{ "flow", FDEN_PRESET_DEFAULT, 16, 2, 5, 1, 3, 6, -1, 0, 0, -1, 0, 0, 0, 1 },
		{ "flow-big", FDEN_PRESET_DEFAULT, 24, 4, 10, 2, 5, 3, -1, 0, 0, -1, 0, 0, 0, 1 },
		{ "flow-all", FDEN_PRESET_DEFAULT, 16, 2, 5, 2, 2, 4, -1, 1, 0.3, -1, 1, 1, 0.9, 1 },
		{ "flow-2t", FDEN_PRESET_DEFAULT, 32, 2, 10, 1, 5, 3, -1, 0, 0, -1, 0, 0, 0, 2 },
		{ "paper", FDEN_PRESET_PAPER, 16, 2, 5, 1, 3, 6, -1, 0, 0, -1, 0, 0, 0, 1 },
		{ "paper-big", FDEN_PRESET_PAPER, 16, 3, 10, 2, 8, 3, FDEN_ALIGN_PROTOTYPICAL, 0, 0, -1,
		  0, 0, 0, 1 },
		{ "paper-match", FDEN_PRESET_PAPER, 16, 2, 5, 1, 3, 4, FDEN_ALIGN_MATCHING, 1, 0.3, 0.1,
		  0, 1, 0.9, 1 },
		{ "paper-2t", FDEN_PRESET_PAPER, 24, 2, 5, 1, 3, 3, -1, 0, 0, -1, 0, 0, 0, 2 },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: same_bits MODEL_PATH\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
		if (run_one(&runs[i], argv[1]))
			return 1;
	return 0;
}
