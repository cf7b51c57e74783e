/* The FDEN model: building the sub-networks from the configuration,
 * accessors, standardisation and the inference workspace pool. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/model_int.h"

const char *const fd_net_name[FD_NNETS] = {
	"d_dec",
	"d_ide",
	"d_sty",
	"e_ide",
	"e_sty",
	"e_enc",
	"stat",
	"rel",
};

/* in -> hidden[0..nh) -> out: leaky hidden layers with dropout, batch norm
 * on the first layer (when enabled), a linear output (dropout only with
 * FDEN_P_DROPOUT_OUTPUT, as the paper's table). */
static int build_net(struct fden_model *m, int which, int in, const int *hidden, int nh, int out)
{
	const struct fden_config *c = &m->cfg;
	struct fd_layer_spec spec[70];
	struct fd_mlp_cfg mc;
	float rate = fd_cfg_f(c, FDEN_P_DROPOUT);
	int i;

	for (i = 0; i < nh; i++) {
		spec[i].width = hidden[i];
		spec[i].bias = 1;
		spec[i].batchnorm = i == 0 && fd_cfg_int(c, FDEN_P_BATCHNORM);
		spec[i].dropout = rate;
		spec[i].act = FD_ACT_LEAKY;
	}
	spec[nh].width = out;
	spec[nh].bias = 1;
	spec[nh].batchnorm = 0;
	spec[nh].dropout = fd_cfg_int(c, FDEN_P_DROPOUT_OUTPUT) ? rate : 0.0f;
	spec[nh].act = FD_ACT_LINEAR;
	memset(&mc, 0, sizeof mc);
	mc.in = in;
	mc.nlayers = nh + 1;
	mc.layers = spec;
	mc.leaky_slope = fd_cfg_f(c, FDEN_P_LEAKY_SLOPE);
	mc.drop_before = 0;
	mc.init = fd_cfg_int(c, FDEN_P_INIT); /* enum fden_init == enum fd_init */
	mc.init_sigma = fd_cfg_f(c, FDEN_P_INIT_SIGMA);
	mc.bn_momentum = fd_cfg_f(c, FDEN_P_BN_MOMENTUM);
	mc.bn_eps = 1e-3f;
	mc.nthreads = fd_cfg_int(c, FDEN_P_THREADS);
	return fd_mlp_new(&mc, fd_net_name[which], m->a, &m->rng, &m->err, &m->net[which]);
}

static void fill(int *w, int n, int v)
{
	for (int i = 0; i < n; i++)
		w[i] = v;
}

FDEN_EXPORT void fden_model_free(struct fden_model *model)
{
	const struct fden_allocator *a;

	if (!model)
		return;
	a = model->a;
	for (int i = 0; i < FD_NNETS; i++)
		fd_mlp_free(model->net[i]);
	fd_flow_free(model->flow);
	fd_train_ws_free(model);
	for (int i = 0; i < FD_POOL_SLOTS; i++)
		fd_free(a, model->pool[i].buf);
	fd_free(a, model->std_mean);
	fd_free(a, model->std_std);
	fd_free(a, model->ema_other);
	fd_stycls_free(&model->stycls, a);
	fd_free(a, model);
}

int fd_model_create(const struct fden_config *cfg, struct fden_model **out)
{
	struct fden_model *m;
	const struct fden_allocator *a = cfg->has_alloc ? &cfg->alloc : NULL;
	int D, hid[64], rc, ws_max = 0;

	m = fd_calloc(a, 1, sizeof *m);
	if (!m)
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_model_new: %zu bytes", sizeof *m);
	m->cfg = *cfg;
	m->a = m->cfg.has_alloc ? &m->cfg.alloc : NULL;
	D = m->dim = fd_cfg_int(cfg, FDEN_P_DIM);
	fd_rng_seed(&m->rng, (uint64_t)cfg->v[FDEN_P_SEED]);
	m->dis.m = m->fac.m = m->ent.m = m;
	for (int i = 0; i < FD_POOL_SLOTS; i++)
		atomic_init(&m->pool[i].busy, 0);

	m->di = fd_cfg_ide_dim(cfg);
	m->ds = fd_cfg_sty_dim(cfg);
	/* The width, not the 0 that asks for the default, is what a checkpoint
	 * keeps: a later default cannot change how a saved model splits. */
	if (fd_cfg_int(cfg, FDEN_P_DISENTANGLER) == FDEN_DIS_FLOW)
		m->cfg.v[FDEN_P_IDE_DIM] = m->di;
	if (fd_cfg_int(cfg, FDEN_P_DISENTANGLER) == FDEN_DIS_FLOW) {
		struct fd_flow_cfg fc;

		fc.dim = D;
		fc.nlayers = fd_cfg_int(cfg, FDEN_P_FLOW_LAYERS);
		fc.hidden = fd_cfg_int(cfg, FDEN_P_FLOW_WIDTH);
		fc.depth = fd_cfg_int(cfg, FDEN_P_FLOW_DEPTH);
		fc.clamp = fd_cfg_f(cfg, FDEN_P_FLOW_CLAMP);
		fc.leaky_slope = fd_cfg_f(cfg, FDEN_P_LEAKY_SLOPE);
		fc.init = fd_cfg_int(cfg, FDEN_P_INIT);
		fc.init_sigma = fd_cfg_f(cfg, FDEN_P_INIT_SIGMA);
		fc.nthreads = fd_cfg_int(cfg, FDEN_P_THREADS);
		rc = fd_flow_new(&fc, m->a, &m->rng, &m->err, &m->flow);
	} else {
		fill(hid, fd_cfg_int(cfg, FDEN_P_DIS_TRUNK_DEPTH), fd_cfg_int(cfg, FDEN_P_DIS_WIDTH));
		rc = build_net(m, FD_NET_D_DEC, D, hid, fd_cfg_int(cfg, FDEN_P_DIS_TRUNK_DEPTH), 2 * D);
		fill(hid, fd_cfg_int(cfg, FDEN_P_DIS_HEAD_DEPTH), fd_cfg_int(cfg, FDEN_P_DIS_WIDTH));
		if (!rc)
			rc = build_net(m, FD_NET_D_IDE, 2 * D, hid, fd_cfg_int(cfg, FDEN_P_DIS_HEAD_DEPTH), D);
		if (!rc)
			rc = build_net(m, FD_NET_D_STY, 2 * D, hid, fd_cfg_int(cfg, FDEN_P_DIS_HEAD_DEPTH), D);
		fill(hid, fd_cfg_int(cfg, FDEN_P_ENT_BRANCH_DEPTH), fd_cfg_int(cfg, FDEN_P_ENT_BRANCH_WIDTH));
		if (!rc)
			rc = build_net(m, FD_NET_E_IDE, D, hid, fd_cfg_int(cfg, FDEN_P_ENT_BRANCH_DEPTH), D);
		if (!rc)
			rc = build_net(m, FD_NET_E_STY, D, hid, fd_cfg_int(cfg, FDEN_P_ENT_BRANCH_DEPTH), D);
		fill(hid, fd_cfg_int(cfg, FDEN_P_ENT_TRUNK_DEPTH), fd_cfg_int(cfg, FDEN_P_ENT_TRUNK_WIDTH));
		if (!rc)
			rc = build_net(m, FD_NET_E_ENC, 2 * D, hid, fd_cfg_int(cfg, FDEN_P_ENT_TRUNK_DEPTH), D);
	}
	hid[0] = fd_cfg_int(cfg, FDEN_P_STAT_WIDTH1);
	hid[1] = fd_cfg_int(cfg, FDEN_P_STAT_WIDTH2);
	hid[2] = fd_cfg_int(cfg, FDEN_P_STAT_WIDTH3);
	if (!rc)
		rc = build_net(m, FD_NET_STAT, m->di + m->ds, hid, 3, 1);
	if (!rc && fd_cfg_int(cfg, FDEN_P_ALIGN_HEAD) == FDEN_ALIGN_RELATION) {
		hid[0] = hid[1] = fd_cfg_align_width(cfg);
		rc = build_net(m, FD_NET_REL, 2 * m->di, hid, 2, 1);
	}
	if (rc) {
		struct fd_err e = m->err;
		fden_model_free(m);
		return fd_err_publish(&e);
	}
	if (!rc)
		rc = fd_ema_init(m);
	if (rc) {
		struct fd_err e = m->err;
		fden_model_free(m);
		return fd_err_publish(&e);
	}
	/* the normalised head's log-temperature (a tensor of one, Adam-trained) */
	m->tau.w = m->tau_buf;
	m->tau.g = m->tau_buf + 1;
	m->tau.m = m->tau_buf + 2;
	m->tau.v = m->tau_buf + 3;
	m->tau.n = 1;
	snprintf(m->tau.name, sizeof m->tau.name, "align.log_t");
	m->tau_buf[0] = (float)log(cfg->v[FDEN_P_ALIGN_TEMP]);
	if (cfg->v[FDEN_P_STY_CLS] > 0 &&
	    fd_stycls_new(&m->stycls, m->ds, fd_cfg_int(cfg, FDEN_P_STY_CLS_WIDTH),
			  fd_cfg_int(cfg, FDEN_P_STY_CLS_CLASSES), (uint64_t)cfg->v[FDEN_P_SEED], m->a)) {
		fden_model_free(m);
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_model_new: style classifier (%d x %d)",
				  m->ds, fd_cfg_int(cfg, FDEN_P_STY_CLS_CLASSES));
	}
	m->std_mean = fd_malloc(m->a, (size_t)D * sizeof(float));
	m->std_std = fd_malloc(m->a, (size_t)D * sizeof(float));
	if (!m->std_mean || !m->std_std) {
		fden_model_free(m);
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_model_new: standardisation (%d floats)", D);
	}
	for (int d = 0; d < D; d++) { /* identity until set: saved as such */
		m->std_mean[d] = 0.0f;
		m->std_std[d] = 1.0f;
	}
	for (int i = 0; i < FD_NNETS; i++) {
		if (m->net[i]) {
			size_t w = fd_mlp_infer_ws(m->net[i], FD_CHUNK);
			if ((int)w > ws_max)
				ws_max = (int)w;
		}
	}
	if (m->flow && fd_flow_ws(m->flow, FD_CHUNK) > (size_t)ws_max)
		ws_max = (int)fd_flow_ws(m->flow, FD_CHUNK);
	/* zs, h (2D), fi, fs, cat (2D), a, b, zt: 10 D per row, + the nets' own */
	m->slot_floats = (size_t)FD_CHUNK * 10 * D + (size_t)ws_max + 64;
	*out = m;
	return FDEN_OK;
}

FDEN_EXPORT int fden_model_new(const struct fden_config *cfg, struct fden_model **out)
{
	struct fd_err e;
	int rc;

	if (!cfg || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_new: %s is NULL",
				  !cfg ? "cfg" : "out");
	rc = fd_config_check(cfg, &e);
	if (rc)
		return rc;
	return fd_model_create(cfg, out);
}

FDEN_EXPORT size_t fden_model_dim(const struct fden_model *model)
{
	return model ? (size_t)model->dim : 0;
}

FDEN_EXPORT size_t fden_model_ide_dim(const struct fden_model *model)
{
	return model ? (size_t)model->di : 0;
}

FDEN_EXPORT size_t fden_model_sty_dim(const struct fden_model *model)
{
	return model ? (size_t)model->ds : 0;
}

int fd_model_d_nparams(struct fden_model *m)
{
	if (m->flow)
		return fd_flow_nparams(m->flow);
	return fd_mlp_nparams(m->net[FD_NET_D_DEC]) + fd_mlp_nparams(m->net[FD_NET_D_IDE]) +
	       fd_mlp_nparams(m->net[FD_NET_D_STY]);
}

struct fd_param *fd_model_d_param(struct fden_model *m, int i)
{
	if (m->flow)
		return fd_flow_param(m->flow, i);
	for (int k = FD_NET_D_DEC; k <= FD_NET_D_STY; k++) {
		int n = fd_mlp_nparams(m->net[k]);
		if (i < n)
			return fd_mlp_param(m->net[k], i);
		i -= n;
	}
	return NULL;
}

FDEN_EXPORT uint64_t fden_model_step(const struct fden_model *model)
{
	return model ? model->step : 0;
}

FDEN_EXPORT int fden_model_config(const struct fden_model *model, struct fden_config **out)
{
	int rc;

	if (!model || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_config: %s is NULL",
				  !model ? "model" : "out");
	rc = fden_config_new(out);
	if (rc)
		return rc;
	**out = model->cfg;
	return FDEN_OK;
}

FDEN_EXPORT int fden_model_set_param(struct fden_model *model, int key, double value)
{
	const char *name = fden_config_key_name(key);

	if (!model)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_set_param: model is NULL");
	if (name && key != FDEN_P_LR_DECAY && key != FDEN_P_LR_DECAY_STEPS &&
	    key != FDEN_P_LR_DECAY_FACTOR)
		return fd_err_set(&model->err, FDEN_E_INVALID,
				  "fden_model_set_param: key %d (%s) is fixed when the model is "
				  "made; only the learning-rate schedule (lr_decay, lr_decay_steps, "
				  "lr_decay_factor) changes on a live model",
				  key, name);
	/* a schedule key, or an unknown one (its message comes from the check) */
	return fd_config_set_key(&model->cfg, key, value, "fden_model_set_param", &model->err);
}

FDEN_EXPORT const char *fden_model_last_error(const struct fden_model *model)
{
	return model ? model->err.msg : "";
}

FDEN_EXPORT void fden_model_set_log(struct fden_model *model, fden_log_fn fn, void *user_data)
{
	if (!model)
		return;
	model->log = fn;
	model->log_ud = user_data;
}

FDEN_EXPORT int fden_model_set_standardization(struct fden_model *model, const float *mean,
					       const float *std)
{
	if (!model)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_model_set_standardization: model is NULL");
	if (!mean && !std) {
		model->has_std = 0;
		return FDEN_OK;
	}
	if (!mean || !std)
		return fd_err_set(&model->err, FDEN_E_INVALID,
				  "fden_model_set_standardization: %s is NULL (give both or neither)",
				  mean ? "std" : "mean");
	for (int i = 0; i < model->dim; i++) {
		if (!isfinite(mean[i]))
			return fd_err_set(&model->err, FDEN_E_INVALID,
					  "fden_model_set_standardization: mean[%d] = %g is not finite",
					  i, (double)mean[i]);
		if (!(std[i] > 0.0f) || !isfinite(std[i]))
			return fd_err_set(&model->err, FDEN_E_INVALID,
					  "fden_model_set_standardization: std[%d] = %g, expected > 0",
					  i, (double)std[i]);
	}
	memcpy(model->std_mean, mean, (size_t)model->dim * sizeof *mean);
	memcpy(model->std_std, std, (size_t)model->dim * sizeof *std);
	model->has_std = 1;
	return FDEN_OK;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Row i takes part unless its label is one of the n_excl sorted excl. */
static int row_kept(const int32_t *labels, size_t i, const int32_t *excl, size_t n_excl)
{
	return !n_excl || !bsearch(&labels[i], excl, n_excl, sizeof *excl, cmp_i32);
}

/* fden_model_fit_standardization_except() with excl sorted (fn names the
 * public call in messages): the statistics of the rows kept, exactly as
 * of a copy of them in their order. */
static int fit_std(struct fden_model *model, const char *fn, const float *z,
		   const int32_t *labels, size_t n, const int32_t *excl, size_t n_excl)
{
	size_t d = (size_t)model->dim, m = 0, first = 0;
	const float *k;
	double *s;
	float *ms;
	int st;

	if (fd_mul_overflow(n, d, &(size_t){ 0 }))
		return fd_err_set(&model->err, FDEN_E_OVERFLOW, "%s: %zu rows overflow", fn, n);
	while (first < n && !row_kept(labels, first, excl, n_excl))
		first++;
	if (first == n)
		return fd_err_set(&model->err, FDEN_E_INVALID, "%s: every one of the %zu rows is excluded",
				  fn, n);
	k = z + first * d;
	s = fd_calloc(model->a, 2 * d, sizeof *s);
	ms = fd_malloc(model->a, 2 * d * sizeof *ms);
	if (!s || !ms) {
		fd_free(model->a, s);
		fd_free(model->a, ms);
		return fd_err_set(&model->err, FDEN_E_NOMEM, "%s: out of memory", fn);
	}
	/* one pass (a memory-mapped 2.4 GB set streams through once): sums of
	 * t = z - k and t^2 in double, k = the first row kept, a shift near the
	 * mean that keeps sum t^2 - m mean(t)^2 as exact as the two-pass sum of
	 * squared deviations up to double rounding; the row loop outside, the
	 * contiguous column loop inside */
	for (size_t i = first; i < n; i++) {
		const float *restrict r = z + i * d;
		if (!row_kept(labels, i, excl, n_excl))
			continue;
		m++;
		for (size_t j = 0; j < d; j++) {
			double t = (double)r[j] - (double)k[j];
			s[j] += t;
			s[d + j] += t * t;
		}
	}
	st = FDEN_OK;
	for (size_t j = 0; j < d; j++) {
		double m1 = s[j] / (double)m;               /* mean of z - k */
		double ss = s[d + j] - (double)m * m1 * m1; /* sum (z - mean)^2 */
		double v = m > 1 ? (ss > 0 ? ss : 0) / (double)(m - 1) : 1.0, sd = sqrt(v);
		s[j] = (double)k[j] + m1; /* the mean */
		if (!isfinite(s[j]) || !isfinite(v)) {
			st = fd_err_set(&model->err, FDEN_E_NONFINITE, "%s: column %zu of z is not finite",
					fn, j);
			break;
		}
		ms[j] = (float)s[j];
		ms[d + j] = (float)(sd > 1e-6 ? sd : 1e-6);
	}
	if (!st)
		st = fden_model_set_standardization(model, ms, ms + d);
	fd_free(model->a, s);
	fd_free(model->a, ms);
	return st;
}

FDEN_EXPORT int fden_model_fit_standardization(struct fden_model *model, const float *z,
					       size_t n)
{
	static const char fn[] = "fden_model_fit_standardization";

	if (!model)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: model is NULL", fn);
	if (!z || !n)
		return fd_err_set(&model->err, FDEN_E_INVALID, "%s: %s", fn,
				  !z ? "z is NULL" : "n is 0");
	return fit_std(model, fn, z, NULL, n, NULL, 0);
}

FDEN_EXPORT int fden_model_fit_standardization_except(struct fden_model *model, const float *z,
						      const int32_t *labels, size_t n,
						      const int32_t *exclude, size_t n_exclude)
{
	static const char fn[] = "fden_model_fit_standardization_except";
	int32_t *excl = NULL;
	int st;

	if (!model)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: model is NULL", fn);
	if (!z || !n)
		return fd_err_set(&model->err, FDEN_E_INVALID, "%s: %s", fn,
				  !z ? "z is NULL" : "n is 0");
	if (n_exclude && (!labels || !exclude))
		return fd_err_set(&model->err, FDEN_E_INVALID, "%s: %s is NULL but n_exclude is %zu",
				  fn, !labels ? "labels" : "exclude", n_exclude);
	if (n_exclude) { /* a sorted copy: the caller's order and duplicates do not matter */
		if (fd_mul_overflow(n_exclude, sizeof *excl, &(size_t){ 0 }))
			return fd_err_set(&model->err, FDEN_E_OVERFLOW,
					  "%s: %zu excluded classes overflow", fn, n_exclude);
		excl = fd_malloc(model->a, n_exclude * sizeof *excl);
		if (!excl)
			return fd_err_set(&model->err, FDEN_E_NOMEM, "%s: out of memory", fn);
		memcpy(excl, exclude, n_exclude * sizeof *excl);
		qsort(excl, n_exclude, sizeof *excl, cmp_i32);
	}
	st = fit_std(model, fn, z, labels, n, excl, n_exclude);
	fd_free(model->a, excl);
	return st;
}

FDEN_EXPORT struct fden_disentangler *fden_model_disentangler(struct fden_model *model)
{
	return model ? &model->dis : NULL;
}

FDEN_EXPORT struct fden_factorizer *fden_model_factorizer(struct fden_model *model)
{
	return model ? &model->fac : NULL;
}

FDEN_EXPORT struct fden_entangler *fden_model_entangler(struct fden_model *model)
{
	return model ? &model->ent : NULL;
}

float *fd_ws_take(const struct fden_model *m, int *slot)
{
	struct fden_model *mm = (struct fden_model *)m; /* the pool is the mutable part */

	for (int i = 0; i < FD_POOL_SLOTS; i++) {
		int expect = 0;
		struct fd_ws_slot *s = &mm->pool[i];
		if (atomic_compare_exchange_strong(&s->busy, &expect, 1)) {
			if (!s->buf)
				s->buf = fd_malloc(m->a, m->slot_floats * sizeof(float));
			if (!s->buf) {
				atomic_store(&s->busy, 0);
				return NULL;
			}
			*slot = i;
			return s->buf;
		}
	}
	*slot = -1;
	return fd_malloc(m->a, m->slot_floats * sizeof(float));
}

void fd_ws_give(const struct fden_model *m, float *ws, int slot)
{
	struct fden_model *mm = (struct fden_model *)m;

	if (slot >= 0)
		atomic_store(&mm->pool[slot].busy, 0);
	else
		fd_free(m->a, ws);
}
