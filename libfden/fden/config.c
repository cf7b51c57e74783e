/* Configuration: a key/value table with names, bounds and presets.
 * PAPER = Appendix B as written. DEFAULT = what measured best (docs/method.md,
 * `fden ablate` on the glyph set): the flow disentangler (exact inverse),
 * dropout 0, He init, prototypical head, Adam lr 1e-3 on a cosine schedule
 * (over FDEN_P_LR_DECAY_STEPS; 0, the default, keeps it constant), a weight
 * average (0.999) for inference, the cross-correlation (10) and density (3)
 * terms; everything else as the paper. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/threads.h"
#include "fden/config.h"

struct key_info {
	const char *name;
	double lo, hi;
	int is_int;
	double def;   /* FDEN_PRESET_DEFAULT */
	double paper; /* FDEN_PRESET_PAPER */
};

#define BIG 1e9
#define WMAX 65536

static const struct key_info keys[FD_NKEYS + 1] = {
	[FDEN_P_DIM] = { "dim", 1, WMAX, 1, 256, 256 },
	[FDEN_P_DIS_WIDTH] = { "dis_width", 1, WMAX, 1, 512, 512 },
	[FDEN_P_DIS_TRUNK_DEPTH] = { "dis_trunk_depth", 1, 64, 1, 3, 3 },
	[FDEN_P_DIS_HEAD_DEPTH] = { "dis_head_depth", 1, 64, 1, 2, 2 },
	[FDEN_P_STAT_WIDTH1] = { "stat_width1", 1, WMAX, 1, 1024, 1024 },
	[FDEN_P_STAT_WIDTH2] = { "stat_width2", 1, WMAX, 1, 256, 256 },
	[FDEN_P_STAT_WIDTH3] = { "stat_width3", 1, WMAX, 1, 64, 64 },
	[FDEN_P_ENT_BRANCH_WIDTH] = { "ent_branch_width", 1, WMAX, 1, 256, 256 },
	[FDEN_P_ENT_BRANCH_DEPTH] = { "ent_branch_depth", 1, 64, 1, 2, 2 },
	[FDEN_P_ENT_TRUNK_WIDTH] = { "ent_trunk_width", 1, WMAX, 1, 512, 512 },
	[FDEN_P_ENT_TRUNK_DEPTH] = { "ent_trunk_depth", 1, 64, 1, 3, 3 },
	[FDEN_P_DROPOUT] = { "dropout", 0, 0.95, 0, 0, 0.2 },
	[FDEN_P_DROPOUT_OUTPUT] = { "dropout_output", 0, 1, 1, 1, 1 },
	[FDEN_P_LEAKY_SLOPE] = { "leaky_slope", 0, 1, 0, 0.01, 0.01 },
	[FDEN_P_BATCHNORM] = { "batchnorm", 0, 1, 1, 1, 1 },
	[FDEN_P_ALPHA] = { "alpha", 0, 1e6, 0, 1, 1 },
	[FDEN_P_BETA] = { "beta", 0, 1e6, 0, 1, 1 },
	[FDEN_P_GAMMA] = { "gamma", 0, 1e6, 0, 0.5, 0.5 },
	[FDEN_P_GRL] = { "grl", 0, 1e6, 0, 1, 1 },
	[FDEN_P_LR] = { "lr", 0, 10, 0, 1e-3, 1e-4 },
	[FDEN_P_ADAM_BETA1] = { "adam_beta1", 0, 0.999999, 0, 0.5, 0.5 },
	[FDEN_P_ADAM_BETA2] = { "adam_beta2", 0, 0.999999, 0, 0.999, 0.999 },
	[FDEN_P_ADAM_EPS] = { "adam_eps", 1e-30, 1, 0, 1e-8, 1e-8 },
	[FDEN_P_INIT] = { "init", 0, 2, 1, FDEN_INIT_HE_NORMAL, FDEN_INIT_TRUNC_NORMAL },
	[FDEN_P_INIT_SIGMA] = { "init_sigma", 1e-12, 100, 0, 0.001, 0.001 },
	[FDEN_P_SEED] = { "seed", 0, 9007199254740992.0, 1, 42, 42 },
	[FDEN_P_ALIGN_HEAD] = { "align_head", 0, 2, 1, FDEN_ALIGN_PROTOTYPICAL, FDEN_ALIGN_RELATION },
	[FDEN_P_ALIGN_WIDTH] = { "align_width", 0, WMAX, 1, 0, 0 },
	[FDEN_P_MINE_MA] = { "mine_ma", 0, 1, 1, 0, 0 },
	[FDEN_P_MINE_MA_RATE] = { "mine_ma_rate", 1e-6, 1, 0, 0.01, 0.01 },
	[FDEN_P_STOCHASTIC] = { "stochastic", 0, 1, 1, 0, 0 },
	[FDEN_P_STOCHASTIC_SCALE] = { "stochastic_scale", 0, 100, 0, 0.1, 0.1 },
	[FDEN_P_CLIP] = { "clip", 0, 1, 1, 1, 1 },
	[FDEN_P_THREADS] = { "threads", 1, 256, 1, 1, 1 },
	[FDEN_P_BN_MOMENTUM] = { "bn_momentum", 0, 1, 0, 0.99, 0.99 },
	[FDEN_P_DISENTANGLER] = { "disentangler", 0, 1, 1, FDEN_DIS_FLOW, FDEN_DIS_MLP },
	[FDEN_P_IDE_DIM] = { "ide_dim", 0, WMAX, 1, 0, 0 },
	[FDEN_P_FLOW_LAYERS] = { "flow_layers", 1, 64, 1, 12, 8 },
	[FDEN_P_FLOW_WIDTH] = { "flow_width", 1, WMAX, 1, 256, 256 },
	[FDEN_P_FLOW_DEPTH] = { "flow_depth", 0, 16, 1, 2, 2 },
	[FDEN_P_FLOW_CLAMP] = { "flow_clamp", 0.01, 20, 0, 2, 2 },
	[FDEN_P_XCORR] = { "xcorr", 0, 1e6, 0, 10, 0 },
	[FDEN_P_STY_ADV] = { "sty_adv", 0, 1e6, 0, 0, 0 },
	[FDEN_P_LR_STAT] = { "lr_stat", 0, 1e6, 0, 1, 1 },
	[FDEN_P_FLOW_NLL] = { "flow_nll", 0, 1e6, 0, 1, 0 },
	[FDEN_P_ALIGN_NORM] = { "align_norm", 0, 2, 1, FDEN_ALIGN_NORM_NONE, FDEN_ALIGN_NORM_NONE },
	[FDEN_P_ALIGN_TEMP] = { "align_temp", 1e-3, 1e4, 0, 10, 10 },
	[FDEN_P_LR_DECAY] = { "lr_decay", 0, 2, 1, FDEN_LR_COSINE, FDEN_LR_CONSTANT },
	[FDEN_P_LR_DECAY_STEPS] = { "lr_decay_steps", 0, 9007199254740992.0, 1, 0, 0 },
	[FDEN_P_LR_DECAY_FACTOR] = { "lr_decay_factor", 0, 1, 0, 0.1, 0.1 },
	[FDEN_P_EMA] = { "ema", 0, 0.999999, 0, 0.999, 0 },
	[FDEN_P_HSIC] = { "hsic", 0, 1e6, 0, 0, 0 },
	[FDEN_P_STY_CLS] = { "sty_cls", 0, 1e6, 0, 0, 0 },
	[FDEN_P_STY_CLS_CLASSES] = { "sty_cls_classes", 0, 1 << 24, 1, 0, 0 },
	[FDEN_P_STY_CLS_WIDTH] = { "sty_cls_width", 0, WMAX, 1, 0, 0 },
	[FDEN_P_STY_CLS_LR] = { "sty_cls_lr", 0, 1e6, 0, 1, 1 },
	[FDEN_P_STY_BETWEEN] = { "sty_between", 0, 1e6, 0, 0, 0 },
};

static int key_valid(int key)
{
	return key >= 1 && key <= FD_NKEYS && keys[key].name != NULL;
}

int fd_config_fill(struct fden_config *c, int preset)
{
	if (preset != FDEN_PRESET_DEFAULT && preset != FDEN_PRESET_PAPER)
		return FDEN_E_INVALID;
	c->v[0] = 0;
	for (int k = 1; k <= FD_NKEYS; k++)
		c->v[k] = preset == FDEN_PRESET_PAPER ? keys[k].paper : keys[k].def;
	return FDEN_OK;
}

int fd_cfg_align_width(const struct fden_config *c)
{
	int w = fd_cfg_int(c, FDEN_P_ALIGN_WIDTH);
	int d = fd_cfg_int(c, FDEN_P_DIM);

	if (w > 0)
		return w;
	return d / 2 > 0 ? d / 2 : 1;
}

static int check_value(int key, double value, struct fd_err *err)
{
	const struct key_info *k = &keys[key];

	if (key == FDEN_P_THREADS && value > fd_threads_max()) /* before the static bound */
		return fd_err_set(err, FDEN_E_INVALID,
				  "config key %d (%s): %g threads, this machine allows at most %d "
				  "(its CPUs, at least %d)",
				  key, k->name, value, fd_threads_max(),
				  FD_THREADS_FLOOR);
	if (!isfinite(value) || value < k->lo || value > k->hi)
		return fd_err_set(err, FDEN_E_INVALID, "config key %d (%s): value %g outside [%g, %g]",
				  key, k->name, value, k->lo, k->hi);
	if (k->is_int && value != floor(value))
		return fd_err_set(err, FDEN_E_INVALID, "config key %d (%s): value %g is not an integer",
				  key, k->name, value);
	return FDEN_OK;
}

int fd_config_check(const struct fden_config *c, struct fd_err *err)
{
	int dim, ide;

	/* every key bounded first: only then has each integer key an int value */
	for (int k = 1; k <= FD_NKEYS; k++) {
		int rc = check_value(k, c->v[k], err);
		if (rc)
			return rc;
	}
	dim = fd_cfg_int(c, FDEN_P_DIM);
	ide = fd_cfg_int(c, FDEN_P_IDE_DIM);
	if (fd_cfg_int(c, FDEN_P_DISENTANGLER) == FDEN_DIS_FLOW) {
		if (dim < 2)
			return fd_err_set(err, FDEN_E_INVALID,
					  "config: the flow disentangler needs dim >= 2 (dim is %d)", dim);
		if (ide >= dim)
			return fd_err_set(err, FDEN_E_INVALID,
					  "config: ide_dim %d must be below dim %d (f_sty gets the rest)",
					  ide, dim);
	}
	if (c->v[FDEN_P_STY_CLS] > 0 && fd_cfg_int(c, FDEN_P_STY_CLS_CLASSES) < 2)
		return fd_err_set(err, FDEN_E_INVALID,
				  "config: sty_cls %g needs sty_cls_classes >= 2 (the global training "
				  "classes; it is %d)",
				  c->v[FDEN_P_STY_CLS],
				  fd_cfg_int(c, FDEN_P_STY_CLS_CLASSES));
	return FDEN_OK;
}

int fd_cfg_ide_dim(const struct fden_config *c)
{
	int dim = fd_cfg_int(c, FDEN_P_DIM), ide = fd_cfg_int(c, FDEN_P_IDE_DIM);

	if (fd_cfg_int(c, FDEN_P_DISENTANGLER) != FDEN_DIS_FLOW)
		return dim;
	return ide > 0 ? ide : dim / 2;
}

int fd_cfg_sty_dim(const struct fden_config *c)
{
	int dim = fd_cfg_int(c, FDEN_P_DIM);

	if (fd_cfg_int(c, FDEN_P_DISENTANGLER) != FDEN_DIS_FLOW)
		return dim;
	return dim - fd_cfg_ide_dim(c);
}

FDEN_EXPORT int fden_config_new(struct fden_config **out)
{
	struct fden_config *c;

	if (!out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_new: out is NULL");
	c = calloc(1, sizeof *c);
	if (!c)
		return fd_err_set(NULL, FDEN_E_NOMEM, "fden_config_new: %zu bytes", sizeof *c);
	fd_config_fill(c, FDEN_PRESET_DEFAULT);
	*out = c;
	return FDEN_OK;
}

FDEN_EXPORT void fden_config_free(struct fden_config *cfg)
{
	free(cfg);
}

FDEN_EXPORT int fden_config_preset(struct fden_config *cfg, int preset)
{
	if (!cfg)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_preset: cfg is NULL");
	if (fd_config_fill(cfg, preset))
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_config_preset: unknown preset %d (expected %d or %d)",
				  preset, FDEN_PRESET_DEFAULT, FDEN_PRESET_PAPER);
	return FDEN_OK;
}

int fd_config_set_key(struct fden_config *c, int key, double value, const char *who,
		      struct fd_err *err)
{
	int rc;

	if (!key_valid(key))
		return fd_err_set(err, FDEN_E_INVALID, "%s: unknown key %d (valid 1..%d)", who, key,
				  FD_NKEYS);
	rc = check_value(key, value, err);
	if (rc)
		return rc;
	c->v[key] = value;
	return FDEN_OK;
}

FDEN_EXPORT int fden_config_set(struct fden_config *cfg, int key, double value)
{
	if (!cfg)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_set: cfg is NULL");
	return fd_config_set_key(cfg, key, value, "fden_config_set", NULL);
}

FDEN_EXPORT int fden_config_get(const struct fden_config *cfg, int key, double *value)
{
	if (!cfg || !value)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_get: %s is NULL",
				  cfg ? "value" : "cfg");
	if (!key_valid(key))
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_get: unknown key %d (valid 1..%d)",
				  key, FD_NKEYS);
	*value = cfg->v[key];
	return FDEN_OK;
}

FDEN_EXPORT int fden_config_bounds(int key, double *lo, double *hi)
{
	if (!lo || !hi)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_bounds: %s is NULL",
				  lo ? "hi" : "lo");
	if (!key_valid(key))
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_config_bounds: unknown key %d (valid 1..%d)", key, FD_NKEYS);
	*lo = keys[key].lo;
	*hi = key == FDEN_P_THREADS ? fd_threads_max() : keys[key].hi;
	return FDEN_OK;
}

FDEN_EXPORT const char *fden_config_key_name(int key)
{
	return key_valid(key) ? keys[key].name : NULL;
}

FDEN_EXPORT int fden_config_key_count(void)
{
	return FD_NKEYS;
}

FDEN_EXPORT int fden_config_key_find(const char *name, int *key)
{
	if (!name || !key)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_key_find: %s is NULL",
				  name ? "key" : "name");
	for (int k = 1; k <= FD_NKEYS; k++)
		if (keys[k].name && !strcmp(keys[k].name, name)) {
			*key = k;
			return FDEN_OK;
		}
	return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_key_find: no key named '%s'", name);
}

FDEN_EXPORT int fden_config_set_allocator(struct fden_config *cfg,
					  const struct fden_allocator *alloc)
{
	if (!cfg)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_config_set_allocator: cfg is NULL");
	if (!alloc) {
		cfg->has_alloc = 0;
		return FDEN_OK;
	}
	if (!alloc->alloc || !alloc->free)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_config_set_allocator: alloc->%s is NULL (required)",
				  alloc->alloc ? "free" : "alloc");
	cfg->alloc = *alloc;
	cfg->has_alloc = 1;
	return FDEN_OK;
}
