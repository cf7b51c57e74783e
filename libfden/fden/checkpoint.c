/* Model checkpoints through io/ckpt.h: configuration, every parameter with
 * its Adam moments, batch-norm running statistics, rng state, step count,
 * the MINE moving average and the standardisation. Records are named
 * "<net>#<i>.w|.m|.v" and "<net>#b<i>" so they do not depend on the nn
 * layer's own parameter names. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/threads.h"
#include "fden/model_int.h"
#include "io/ckpt.h"

#define MODEL_FORMAT 1 /* version of the record layout inside the container */

static void rec(char *buf, int k, const char *what, int i)
{
	snprintf(buf, 64, "%s#%s%d", fd_net_name[k], what, i);
}

/* A parameter tensor and its Adam moments as "<tag>#<i>.w|.m|.v". */
static int put_param(struct fd_ckpt_writer *w, const char *tg, int i, const struct fd_param *p)
{
	char name[80];
	int rc;

	snprintf(name, sizeof name, "%s#%d.w", tg, i);
	rc = fd_ckpt_put(w, name, FD_CKPT_F32, p->w, p->n);
	snprintf(name, sizeof name, "%s#%d.m", tg, i);
	if (!rc)
		rc = fd_ckpt_put(w, name, FD_CKPT_F32, p->m, p->n);
	snprintf(name, sizeof name, "%s#%d.v", tg, i);
	if (!rc)
		rc = fd_ckpt_put(w, name, FD_CKPT_F32, p->v, p->n);
	return rc;
}

FDEN_EXPORT int fden_model_save(const struct fden_model *model, const char *path)
{
	struct fd_ckpt_writer *w;
	struct fd_err err;
	char name[80];
	uint64_t u[6];
	double ma[2];
	int32_t hs;
	int rc;

	if (!model || !path)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_save: %s is NULL",
				  !model ? "model" : "path");
	fd_err_clear(&err);
	fd_ema_ready(model); /* saved weights are the average's, when there is one */
	rc = fd_ckpt_writer_new(FD_CKPT_MODEL, model->a, &err, &w);
	if (rc)
		return rc;
	u[0] = MODEL_FORMAT;
	u[1] = model->step;
	rc = fd_ckpt_put(w, "format", FD_CKPT_U64, u, 1);
	if (!rc)
		rc = fd_ckpt_put(w, "step", FD_CKPT_U64, u + 1, 1);
	if (!rc)
		rc = fd_ckpt_put(w, "config", FD_CKPT_F64, model->cfg.v, FD_NKEYS + 1);
	if (!rc)
		rc = fd_ckpt_put(w, "rng", FD_CKPT_U64, model->rng.s, 4);
	ma[0] = model->mine_log_ma;
	ma[1] = model->mine_have_ma;
	if (!rc)
		rc = fd_ckpt_put(w, "mine_ma", FD_CKPT_F64, ma, 2);
	hs = model->has_std;
	if (!rc)
		rc = fd_ckpt_put(w, "std_on", FD_CKPT_I32, &hs, 1);
	if (!rc)
		rc = fd_ckpt_put(w, "std_mean", FD_CKPT_F32, model->std_mean, (size_t)model->dim);
	if (!rc)
		rc = fd_ckpt_put(w, "std_std", FD_CKPT_F32, model->std_std, (size_t)model->dim);
	for (int k = 0; k < FD_NNETS && !rc; k++) {
		struct fd_mlp *n = model->net[k];
		if (!n)
			continue;
		for (int i = 0; i < fd_mlp_nparams(n) && !rc; i++)
			rc = put_param(w, fd_net_name[k], i, fd_mlp_param(n, i));
		for (int i = 0; i < fd_mlp_nbuffers(n) && !rc; i++) {
			struct fd_buffer *b = fd_mlp_buffer(n, i);
			rec(name, k, "b", i);
			rc = fd_ckpt_put(w, name, FD_CKPT_F32, b->x, b->n);
		}
	}
	for (int i = 0; model->flow && i < fd_flow_nparams(model->flow) && !rc; i++)
		rc = put_param(w, "flow", i, fd_flow_param(model->flow, i));
	if (!rc && fd_cfg_int(&model->cfg, FDEN_P_ALIGN_NORM))
		rc = put_param(w, "align", 0, &model->tau);
	for (int i = 0; i < model->stycls.np && !rc; i++) /* FDEN_P_STY_CLS */
		rc = put_param(w, "stycls", i, &model->stycls.p[i]);
	if (!rc && model->ema_other) {
		/* the nets now hold the average (".w", what inference uses); the
		 * training weights follow as "ema#<i>" so training resumes exactly */
		struct fden_model *mm = (struct fden_model *)model;
		size_t off = 0;
		for (int i = 0; i < fd_ema_nparams(mm) && !rc; i++) {
			size_t n = fd_ema_param(mm, i)->n;
			snprintf(name, sizeof name, "ema#%d", i);
			rc = fd_ckpt_put(w, name, FD_CKPT_F32, model->ema_other + off, n);
			off += n;
		}
	}
	if (rc) {
		fd_ckpt_writer_free(w);
		return rc;
	}
	return fd_ckpt_write(w, path); /* frees w */
}

static int get_into(struct fd_ckpt_reader *r, const char *name, int type, void *dst,
		    size_t count, size_t elem)
{
	const void *data;
	int rc = fd_ckpt_get(r, name, type, count, &data, NULL);

	if (!rc)
		memcpy(dst, data, count * elem);
	return rc;
}

static int get_param(struct fd_ckpt_reader *r, const char *tg, int i, struct fd_param *p)
{
	char name[80];
	int rc;

	snprintf(name, sizeof name, "%s#%d.w", tg, i);
	rc = get_into(r, name, FD_CKPT_F32, p->w, p->n, sizeof(float));
	snprintf(name, sizeof name, "%s#%d.m", tg, i);
	if (!rc)
		rc = get_into(r, name, FD_CKPT_F32, p->m, p->n, sizeof(float));
	snprintf(name, sizeof name, "%s#%d.v", tg, i);
	if (!rc)
		rc = get_into(r, name, FD_CKPT_F32, p->v, p->n, sizeof(float));
	return rc;
}

/* Floats of an in -> hidden[0..nh) -> out net's weights and biases: a lower
 * bound of what its records hold (batch norm adds more). */
static uint64_t net_floats(uint64_t in, int w, int nh, uint64_t out)
{
	uint64_t n = 0, prev = in;

	for (int i = 0; i < nh; i++) {
		n += prev * (uint64_t)w + (uint64_t)w;
		prev = (uint64_t)w;
	}
	return n + prev * out + out;
}

/* The parameter floats cfg's networks have (each saved three times: w, m,
 * v), as fd_model_create builds them: checked against the file before
 * anything that size is allocated. */
static uint64_t model_floats(const struct fden_config *c)
{
	uint64_t D = (uint64_t)fd_cfg_int(c, FDEN_P_DIM), n = 0;
	uint64_t di = (uint64_t)fd_cfg_ide_dim(c), ds = (uint64_t)fd_cfg_sty_dim(c);

	if (fd_cfg_int(c, FDEN_P_DISENTANGLER) == FDEN_DIS_FLOW) {
		uint64_t d1 = D / 2, d2 = D - d1;

		n += (uint64_t)fd_cfg_int(c, FDEN_P_FLOW_LAYERS) *
		     net_floats(d1, fd_cfg_int(c, FDEN_P_FLOW_WIDTH), fd_cfg_int(c, FDEN_P_FLOW_DEPTH),
				2 * d2);
	} else {
		int dw = fd_cfg_int(c, FDEN_P_DIS_WIDTH), bw = fd_cfg_int(c, FDEN_P_ENT_BRANCH_WIDTH);

		n += net_floats(D, dw, fd_cfg_int(c, FDEN_P_DIS_TRUNK_DEPTH), 2 * D);
		n += 2 * net_floats(2 * D, dw, fd_cfg_int(c, FDEN_P_DIS_HEAD_DEPTH), D);
		n += 2 * net_floats(D, bw, fd_cfg_int(c, FDEN_P_ENT_BRANCH_DEPTH), D);
		n += net_floats(2 * D, fd_cfg_int(c, FDEN_P_ENT_TRUNK_WIDTH),
				fd_cfg_int(c, FDEN_P_ENT_TRUNK_DEPTH), D);
	}
	{
		uint64_t w1 = (uint64_t)fd_cfg_int(c, FDEN_P_STAT_WIDTH1);
		uint64_t w2 = (uint64_t)fd_cfg_int(c, FDEN_P_STAT_WIDTH2);
		uint64_t w3 = (uint64_t)fd_cfg_int(c, FDEN_P_STAT_WIDTH3);

		n += (di + ds) * w1 + w1 + w1 * w2 + w2 + w2 * w3 + w3 + w3 + 1;
	}
	if (fd_cfg_int(c, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_RELATION)
		n += net_floats(2 * di, fd_cfg_align_width(c), 2, 1);
	return 3 * n;
}

/* Floats in the file's f32 records. */
static uint64_t file_floats(const struct fd_ckpt_reader *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < fd_ckpt_count(r); i++) {
		int type;
		size_t count;

		if (fd_ckpt_record(r, i, NULL, &type, NULL, &count) == FDEN_OK &&
		    type == FD_CKPT_F32)
			n += count;
	}
	return n;
}

FDEN_EXPORT int fden_model_load(const char *path, const struct fden_allocator *alloc,
				struct fden_model **out)
{
	struct fd_ckpt_reader *r = NULL;
	struct fden_model *m = NULL;
	struct fden_config cfg;
	struct fd_err err;
	const void *data;
	char name[80];
	uint64_t fmt;
	double ma[2];
	int32_t hs;
	int rc;

	if (!path || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_load: %s is NULL",
				  !path ? "path" : "out");
	if (alloc && (!alloc->alloc || !alloc->free))
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_load: allocator without alloc/free");
	fd_err_clear(&err);
	rc = fd_ckpt_read(path, FD_CKPT_MODEL, alloc, &err, &r);
	if (rc)
		return rc;
	rc = get_into(r, "format", FD_CKPT_U64, &fmt, 1, sizeof fmt);
	if (!rc && fmt != MODEL_FORMAT) {
		rc = fd_err_set(NULL, fmt > MODEL_FORMAT ? FDEN_E_VERSION : FDEN_E_FORMAT,
				"fden_model_load: %s: model format %llu, this library reads %d", path,
				(unsigned long long)fmt, MODEL_FORMAT);
		goto fail;
	}
	memset(&cfg, 0, sizeof cfg);
	/* Keys a file predates keep the values that reproduce how it was
	 * trained: the paper preset's, which leave every later option off. */
	fd_config_fill(&cfg, FDEN_PRESET_PAPER);
	if (!rc) {
		size_t nk = 0;
		rc = fd_ckpt_get(r, "config", FD_CKPT_F64, 0, &data, &nk);
		if (!rc && (nk < FDEN_P_BN_MOMENTUM + 1 || nk > FD_NKEYS + 1))
			rc = fd_err_set(NULL, nk > FD_NKEYS + 1 ? FDEN_E_VERSION : FDEN_E_FORMAT,
					"fden_model_load: %s: %zu configuration keys, this library knows %d",
					path, nk - 1, FD_NKEYS);
		if (!rc)
			memcpy(cfg.v, data, nk * sizeof(double));
	}
	if (rc)
		goto fail;
	/* Files written before the model stored its resolved f_ide width keep
	 * 0 there, which meant Dim/2: they split so under any later default. */
	if (cfg.v[FDEN_P_IDE_DIM] == 0 && cfg.v[FDEN_P_DISENTANGLER] == FDEN_DIS_FLOW &&
	    cfg.v[FDEN_P_DIM] >= 2 && cfg.v[FDEN_P_DIM] <= INT_MAX)
		cfg.v[FDEN_P_IDE_DIM] = (double)((int)cfg.v[FDEN_P_DIM] / 2);
	/* A file written where more CPUs were: as many threads as this machine
	 * allows (the configuration check refuses more). */
	if (cfg.v[FDEN_P_THREADS] > fd_threads_max() && cfg.v[FDEN_P_THREADS] <= FD_THREADS_CEIL)
		cfg.v[FDEN_P_THREADS] = fd_threads_max();
	rc = fd_config_check(&cfg, &err);
	if (rc) {
		rc = fd_err_set(NULL, FDEN_E_FORMAT, "fden_model_load: %s: bad configuration: %s", path,
				err.msg);
		goto fail;
	}
	{ /* the networks the configuration describes must be in the file */
		uint64_t need = model_floats(&cfg), have = file_floats(r);

		if (have < need) {
			rc = fd_err_set(NULL, FDEN_E_FORMAT,
					"fden_model_load: %s: the configuration's networks have %llu "
					"parameter floats (with Adam moments), the file holds %llu",
					path, (unsigned long long)need, (unsigned long long)have);
			goto fail;
		}
	}
	if (alloc) {
		cfg.alloc = *alloc;
		cfg.has_alloc = 1;
	}
	rc = fd_model_create(&cfg, &m);
	if (rc)
		goto fail;
	rc = get_into(r, "step", FD_CKPT_U64, &m->step, 1, sizeof m->step);
	if (!rc)
		rc = get_into(r, "rng", FD_CKPT_U64, m->rng.s, 4, sizeof m->rng.s[0]);
	if (!rc)
		rc = get_into(r, "mine_ma", FD_CKPT_F64, ma, 2, sizeof ma[0]);
	if (!rc)
		rc = get_into(r, "std_on", FD_CKPT_I32, &hs, 1, sizeof hs);
	if (!rc)
		rc = get_into(r, "std_mean", FD_CKPT_F32, m->std_mean, (size_t)m->dim, sizeof(float));
	if (!rc)
		rc = get_into(r, "std_std", FD_CKPT_F32, m->std_std, (size_t)m->dim, sizeof(float));
	if (rc)
		goto fail;
	m->mine_log_ma = ma[0];
	m->mine_have_ma = ma[1] != 0;
	m->has_std = hs != 0;
	for (int k = 0; k < FD_NNETS && !rc; k++) {
		struct fd_mlp *n = m->net[k];
		if (!n)
			continue;
		for (int i = 0; i < fd_mlp_nparams(n) && !rc; i++)
			rc = get_param(r, fd_net_name[k], i, fd_mlp_param(n, i));
		for (int i = 0; i < fd_mlp_nbuffers(n) && !rc; i++) {
			struct fd_buffer *b = fd_mlp_buffer(n, i);
			rec(name, k, "b", i);
			rc = get_into(r, name, FD_CKPT_F32, b->x, b->n, sizeof(float));
		}
	}
	for (int i = 0; m->flow && i < fd_flow_nparams(m->flow) && !rc; i++)
		rc = get_param(r, "flow", i, fd_flow_param(m->flow, i));
	if (!rc && fd_cfg_int(&m->cfg, FDEN_P_ALIGN_NORM))
		rc = get_param(r, "align", 0, &m->tau);
	for (int i = 0; i < m->stycls.np && !rc; i++)
		rc = get_param(r, "stycls", i, &m->stycls.p[i]);
	if (!rc && m->ema_other) {
		size_t off = 0;
		for (int i = 0; i < fd_ema_nparams(m) && !rc; i++) {
			size_t n = fd_ema_param(m, i)->n;
			snprintf(name, sizeof name, "ema#%d", i);
			rc = get_into(r, name, FD_CKPT_F32, m->ema_other + off, n, sizeof(float));
			off += n;
		}
		atomic_store(&m->ema_state, FD_EMA_AVERAGE); /* .w held the average */
	}
	(void)data;
	if (rc)
		goto fail;
	fd_ckpt_reader_free(r);
	*out = m;
	return FDEN_OK;
fail:
	fd_ckpt_reader_free(r);
	fden_model_free(m);
	return rc;
}
