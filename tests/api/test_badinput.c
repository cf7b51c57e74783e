/* Bad input, table-driven: each row makes one call with one thing wrong and
 * expects a specific status, a detail message in fden_last_error() (naming
 * the culprit where the row says so), no crash, and - for rows that touch a
 * model - the model unchanged afterwards: same step count, same
 * fden_disentangle bits, and the same checkpoint bytes.
 * Leaks are caught by running the suite under ASan or valgrind (scripts/test.sh). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../testutil.h"

#define D TU_TINY_DIM
#define HUGE_N (SIZE_MAX / 4) /* times any width > 4 overflows size_t */

struct ctx {
	struct fden_model *m;
	struct tu_episodes b;
	struct fden_episodes ep; /* a copy each row may spoil */
	int32_t labels[64];
	float z[64 * D], out1[64 * D], out2[64 * D];
	char dir[64], path[128];
	struct fden_invnet *net;
	struct fden_dataset *ds;
	int host_fail;
};

/* ---- rows ---------------------------------------------------------- */
static int step_null_model(struct ctx *c) { return fden_train_step(NULL, &c->ep, NULL); }
static int step_null_episodes(struct ctx *c) { return fden_train_step(c->m, NULL, NULL); }
static int step_null_z(struct ctx *c)
{
	c->ep.z = NULL;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_null_labels(struct ctx *c)
{
	c->ep.labels = NULL;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_struct_size(struct ctx *c)
{
	c->ep.struct_size = 3;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_zero_episodes(struct ctx *c)
{
	c->ep.n_episodes = 0;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_zero_ways(struct ctx *c)
{
	c->ep.ways = 0;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_zero_shots(struct ctx *c)
{
	c->ep.shots = 0;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_zero_queries(struct ctx *c)
{
	c->ep.queries = 0;
	return fden_train_step(c->m, &c->ep, NULL);
}
/* Class 1 gets three support rows, class 0 one: counts disagree with shots. */
static int step_labels_inconsistent(struct ctx *c)
{
	c->labels[0] = 1;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_label_too_big(struct ctx *c)
{
	c->labels[4] = (int32_t)c->ep.ways;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_label_negative(struct ctx *c)
{
	c->labels[7] = -1;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_nan(struct ctx *c)
{
	c->z[5] = NAN;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_inf(struct ctx *c)
{
	c->z[3 * D + 1] = -INFINITY;
	return fden_train_step(c->m, &c->ep, NULL);
}
/* Finite input (up to 3e38) whose loss and gradients are not: the step is
 * rejected and the model left as it was (the divergence rule). At 1e30 the
 * step still succeeds: loss and gradients stay finite there. */
static int step_diverges(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->b.rows * D; i++)
		c->z[i] *= 1e38f;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_overflow(struct ctx *c)
{
	c->ep.n_episodes = HUGE_N;
	return fden_train_step(c->m, &c->ep, NULL);
}
static int step_stats_size(struct ctx *c)
{
	struct fden_step_stats st;

	memset(&st, 0, sizeof st);
	st.struct_size = 1;
	return fden_train_step(c->m, &c->ep, &st);
}
static int dis_null_model(struct ctx *c) { return fden_disentangle(NULL, c->z, 4, c->out1, c->out2); }
static int dis_null_z(struct ctx *c) { return fden_disentangle(c->m, NULL, 4, c->out1, c->out2); }
static int dis_zero_n(struct ctx *c) { return fden_disentangle(c->m, c->z, 0, c->out1, c->out2); }
static int dis_nan(struct ctx *c)
{
	c->z[2 * D + 3] = NAN;
	return fden_disentangle(c->m, c->z, 4, c->out1, c->out2);
}
static int dis_overflow(struct ctx *c) { return fden_disentangle(c->m, c->z, HUGE_N, c->out1, c->out2); }
static int ent_null_model(struct ctx *c) { return fden_entangle(NULL, c->z, c->z, 4, c->out1); }
static int ent_null_ide(struct ctx *c) { return fden_entangle(c->m, NULL, c->z, 4, c->out1); }
static int ent_null_sty(struct ctx *c) { return fden_entangle(c->m, c->z, NULL, 4, c->out1); }
static int ent_null_out(struct ctx *c) { return fden_entangle(c->m, c->z, c->z, 4, NULL); }
static int ent_zero_n(struct ctx *c) { return fden_entangle(c->m, c->z, c->z, 0, c->out1); }
static int ent_inf(struct ctx *c)
{
	c->z[1] = INFINITY;
	return fden_entangle(c->m, c->z, c->z, 4, c->out1);
}
static int ent_overflow(struct ctx *c) { return fden_entangle(c->m, c->z, c->z, HUGE_N, c->out1); }
static int new_null_cfg(struct ctx *c)
{
	struct fden_model *m = NULL;
	int rc = fden_model_new(NULL, &m);

	ck_assert_ptr_null(m);
	return rc;
}
static int new_null_out(struct ctx *c)
{
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	int rc = fden_model_new(cfg, NULL);

	fden_config_free(cfg);
	return rc;
}
/* Support: rows 0..5 with labels 0,0,1,1,2,2; queries: rows 6..8. */
static int32_t sup_labels[6] = { 0, 0, 1, 1, 2, 2 };
static int32_t pred[16];
static int pred_null_model(struct ctx *c) { return fden_predict(NULL, c->z, sup_labels, 6, 3, c->z + 6 * D, 3, pred, NULL); }
static int pred_null_support(struct ctx *c) { return fden_predict(c->m, NULL, sup_labels, 6, 3, c->z + 6 * D, 3, pred, NULL); }
static int pred_null_pred(struct ctx *c) { return fden_predict(c->m, c->z, sup_labels, 6, 3, c->z + 6 * D, 3, NULL, NULL); }
static int pred_zero_ways(struct ctx *c) { return fden_predict(c->m, c->z, sup_labels, 6, 0, c->z + 6 * D, 3, pred, NULL); }
static int pred_zero_queries(struct ctx *c) { return fden_predict(c->m, c->z, sup_labels, 6, 3, c->z + 6 * D, 0, pred, NULL); }
static int pred_label_range(struct ctx *c)
{
	int32_t l[6] = { 0, 0, 1, 1, 2, 3 };

	return fden_predict(c->m, c->z, l, 6, 3, c->z + 6 * D, 3, pred, NULL);
}
static int pred_empty_class(struct ctx *c)
{
	int32_t l[6] = { 0, 0, 1, 1, 1, 1 };

	return fden_predict(c->m, c->z, l, 6, 3, c->z + 6 * D, 3, pred, NULL);
}
static int pred_nan(struct ctx *c)
{
	c->z[7 * D] = NAN;
	return fden_predict(c->m, c->z, sup_labels, 6, 3, c->z + 6 * D, 3, pred, NULL);
}
static int std_zero(struct ctx *c)
{
	float mean[D] = { 0 }, sd[D];
	int i;

	for (i = 0; i < D; i++)
		sd[i] = 1.0f;
	sd[3] = 0.0f;
	return fden_model_set_standardization(c->m, mean, sd);
}
static int std_nan(struct ctx *c)
{
	float mean[D] = { 0 }, sd[D];
	int i;

	for (i = 0; i < D; i++)
		sd[i] = 1.0f;
	mean[2] = NAN;
	return fden_model_set_standardization(c->m, mean, sd);
}
static int std_half_null(struct ctx *c)
{
	float mean[D] = { 0 };

	return fden_model_set_standardization(c->m, mean, NULL);
}

static int param_null_model(struct ctx *c)
{
	(void)c;
	return fden_model_set_param(NULL, FDEN_P_LR_DECAY_STEPS, 10);
}
static int param_fixed_key(struct ctx *c) { return fden_model_set_param(c->m, FDEN_P_DIM, 8); }
static int param_unknown_key(struct ctx *c) { return fden_model_set_param(c->m, 9999, 1); }
static int param_out_of_bounds(struct ctx *c)
{
	return fden_model_set_param(c->m, FDEN_P_LR_DECAY_FACTOR, 1.5);
}
static int param_fraction(struct ctx *c)
{
	return fden_model_set_param(c->m, FDEN_P_LR_DECAY_STEPS, 2.5);
}

static int save_null_path(struct ctx *c) { return fden_model_save(c->m, NULL); }
static int save_null_model(struct ctx *c) { return fden_model_save(NULL, c->path); }
static int save_no_dir(struct ctx *c) { return fden_model_save(c->m, "/nonexistent-fden-dir/m.fden"); }
static int save_to_dir(struct ctx *c) { return fden_model_save(c->m, c->dir); }
static int load_missing(struct ctx *c)
{
	struct fden_model *m = NULL;
	int rc = fden_model_load("/nonexistent-fden-dir/m.fden", NULL, &m);

	ck_assert_ptr_null(m);
	return rc;
}
static int load_dir(struct ctx *c)
{
	struct fden_model *m = NULL;

	return fden_model_load(c->dir, NULL, &m);
}
static int load_null_out(struct ctx *c) { return fden_model_load(c->path, NULL, NULL); }
static int load_null_path(struct ctx *c)
{
	struct fden_model *m = NULL;

	return fden_model_load(NULL, NULL, &m);
}
static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	return 0;
}
static int load_empty(struct ctx *c)
{
	struct fden_model *m = NULL;
	char p[160];

	snprintf(p, sizeof p, "%s/empty", c->dir);
	write_file(p, "", 0);
	return fden_model_load(p, NULL, &m);
}
static int load_garbage(struct ctx *c)
{
	struct fden_model *m = NULL;
	char p[160];

	snprintf(p, sizeof p, "%s/garbage", c->dir);
	write_file(p, "this is not a checkpoint at all, just text\n", 43);
	return fden_model_load(p, NULL, &m);
}

static int host_encode(void *ud, const float *x, size_t n, float *z)
{
	struct ctx *c = ud;
	size_t i;

	if (c->host_fail)
		return -1;
	for (i = 0; i < n * D; i++)
		z[i] = x[i];
	return 0;
}
static int host_decode(void *ud, const float *z, size_t n, float *x)
{
	return host_encode(ud, z, n, x);
}
static struct fden_invnet_ops host_ops(void)
{
	struct fden_invnet_ops o;

	memset(&o, 0, sizeof o);
	o.struct_size = sizeof o;
	o.version = FDEN_INVNET_OPS_VERSION;
	o.encode = host_encode;
	o.decode = host_decode;
	return o;
}
static int inv_new(struct ctx *c, struct fden_invnet_ops *o, size_t in, size_t lat)
{
	struct fden_invnet *n = NULL;
	int rc = fden_invnet_new(o, in, lat, c, &n);

	ck_assert_ptr_null(n);
	fden_invnet_free(n);
	return rc;
}
static int inv_null_ops(struct ctx *c) { return inv_new(c, NULL, D, D); }
static int inv_small_struct(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	o.struct_size = 8;
	return inv_new(c, &o, D, D);
}
static int inv_version(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	o.version = 99;
	return inv_new(c, &o, D, D);
}
static int inv_no_encode(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	o.encode = NULL;
	return inv_new(c, &o, D, D);
}
static int inv_no_decode(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	o.decode = NULL;
	return inv_new(c, &o, D, D);
}
static int inv_zero_dim(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	return inv_new(c, &o, 0, D);
}
static int inv_zero_latent(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	return inv_new(c, &o, D, 0);
}
static int inv_null_out(struct ctx *c)
{
	struct fden_invnet_ops o = host_ops();
	return fden_invnet_new(&o, D, D, c, NULL);
}
static int inv_encode_fails(struct ctx *c)
{
	c->host_fail = 1;
	return fden_invnet_encode(c->net, c->z, 4, c->out1);
}
static int inv_decode_fails(struct ctx *c)
{
	c->host_fail = 1;
	return fden_invnet_decode(c->net, c->z, 4, c->out1);
}
static int inv_encode_null_x(struct ctx *c) { return fden_invnet_encode(c->net, NULL, 4, c->out1); }
static int inv_encode_null_net(struct ctx *c) { return fden_invnet_encode(NULL, c->z, 4, c->out1); }
static int inv_encode_overflow(struct ctx *c) { return fden_invnet_encode(c->net, c->z, HUGE_N, c->out1); }
static int inv_no_dist(struct ctx *c) { return fden_invnet_encode_dist(c->net, c->z, 4, c->out1, c->out2); }
static int inv_save_host(struct ctx *c) { return fden_invnet_save(c->net, c->path); }
static int inv_load_missing(struct ctx *c)
{
	struct fden_invnet *n = NULL;

	return fden_invnet_load("/nonexistent-fden-dir/net", &n);
}
static int pca(struct ctx *c, const float *x, size_t n, size_t in, size_t lat)
{
	struct fden_invnet *net = NULL;
	int rc = fden_invnet_fit_pca(x, n, in, lat, 1, &net);

	ck_assert_ptr_null(net);
	return rc;
}
static int pca_latent_too_wide(struct ctx *c) { return pca(c, c->z, 32, D, D + 1); }
static int pca_zero_n(struct ctx *c) { return pca(c, c->z, 0, D, 2); }
static int pca_null_x(struct ctx *c) { return pca(c, NULL, 32, D, 2); }
static int pca_nan(struct ctx *c)
{
	c->z[9] = NAN;
	return pca(c, c->z, 32, D, 2);
}
static int pca_overflow(struct ctx *c) { return pca(c, c->z, HUGE_N, D, 2); }

static int ds_new(const float *x, const int32_t *l, size_t n, size_t dim)
{
	struct fden_dataset *ds = NULL;
	int rc = fden_dataset_new(x, l, n, dim, &ds);

	ck_assert_ptr_null(ds);
	return rc;
}
static int ds_null_x(struct ctx *c) { return ds_new(NULL, c->labels, 4, D); }
static int ds_zero_n(struct ctx *c) { return ds_new(c->z, c->labels, 0, D); }
static int ds_zero_dim(struct ctx *c) { return ds_new(c->z, c->labels, 4, 0); }
static int ds_overflow(struct ctx *c) { return ds_new(c->z, c->labels, HUGE_N, D); }
static int ds_null_out(struct ctx *c) { return fden_dataset_new(c->z, c->labels, 4, D, NULL); }
static int idx_missing(struct ctx *c)
{
	struct fden_dataset *ds = NULL;

	return fden_dataset_load_idx("/nonexistent-fden-dir/x.idx", NULL, 1.0, &ds);
}
static int idx_dir(struct ctx *c)
{
	struct fden_dataset *ds = NULL;

	return fden_dataset_load_idx(c->dir, NULL, 1.0, &ds);
}
static int idx_garbage(struct ctx *c)
{
	struct fden_dataset *ds = NULL;
	char p[160];
	FILE *f;

	snprintf(p, sizeof p, "%s/garbage.idx", c->dir);
	f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("no IDX magic here", f);
	fclose(f);
	return fden_dataset_load_idx(p, NULL, 1.0, &ds);
}
static int npy_missing(struct ctx *c)
{
	struct fden_dataset *ds = NULL;

	return fden_dataset_load_npy("/nonexistent-fden-dir/x.npy", NULL, &ds);
}
static int npy_save_no_dir(struct ctx *c) { return fden_npy_save_f32("/nonexistent-fden-dir/x.npy", c->z, 4, D); }
static int sampler(struct ctx *c, size_t ways, size_t shots, size_t queries)
{
	struct fden_sampler *s = NULL;
	int rc = fden_sampler_new(c->ds, ways, shots, queries, 1, &s);

	ck_assert_ptr_null(s);
	fden_sampler_free(s);
	return rc;
}
/* c->ds holds 3 classes of 6 rows each. */
static int sampler_too_many_ways(struct ctx *c) { return sampler(c, 4, 1, 1); }
static int sampler_too_many_shots(struct ctx *c) { return sampler(c, 3, 4, 3); }
static int sampler_zero_ways(struct ctx *c) { return sampler(c, 0, 1, 1); }
static int sampler_zero_shots(struct ctx *c) { return sampler(c, 3, 0, 1); }
static int sampler_null_ds(struct ctx *c)
{
	struct fden_sampler *s = NULL;

	return fden_sampler_new(NULL, 3, 1, 1, 1, &s);
}
static int sampler_except(struct ctx *c, size_t ways, const int32_t *excl, size_t n_excl)
{
	struct fden_sampler *s = NULL;
	int rc = fden_sampler_new_except(c->ds, ways, 1, 1, 1, excl, n_excl, &s);

	ck_assert_ptr_null(s);
	fden_sampler_free(s);
	return rc;
}
static int sampler_except_null(struct ctx *c) { return sampler_except(c, 2, NULL, 1); }
static int sampler_except_too_many_ways(struct ctx *c)
{
	const int32_t excl[] = { 2 };

	return sampler_except(c, 3, excl, 1);
}
static int sampler_except_everything(struct ctx *c)
{
	const int32_t excl[] = { 2, 0, 1 };

	return sampler_except(c, 1, excl, 3);
}
static int sampler_next(struct ctx *c, size_t n_ep, int null_x)
{
	struct fden_sampler *s = NULL;
	int rc;

	ck_assert_int_eq(fden_sampler_new(c->ds, 3, 1, 1, 1, &s), FDEN_OK);
	rc = fden_sampler_next(s, n_ep, null_x ? NULL : c->z, c->labels, NULL);
	fden_sampler_free(s);
	return rc;
}
static int sampler_next_null_x(struct ctx *c) { return sampler_next(c, 1, 1); }
static int sampler_next_zero(struct ctx *c) { return sampler_next(c, 0, 0); }
static int sampler_next_overflow(struct ctx *c) { return sampler_next(c, HUGE_N, 0); }

/* ---- the table ----------------------------------------------------- */
enum { NEEDS_NONE = 0,
       NEEDS_MODEL = 1,
       NEEDS_NET = 2,
       NEEDS_DS = 4 };

struct row {
	const char *name;
	int (*fn)(struct ctx *c);
	int status;
	const char *word; /* the detail mentions it (NULL: any non-empty detail) */
	int needs;
};

#define ROW(f, st, w, n) \
	{ \
#f, f, st, w, n \
	}
static const struct row rows[] = {
	ROW(step_null_model, FDEN_E_INVALID, "model", 0),
	ROW(step_null_episodes, FDEN_E_INVALID, "episodes", NEEDS_MODEL),
	ROW(step_null_z, FDEN_E_INVALID, "z", NEEDS_MODEL),
	ROW(step_null_labels, FDEN_E_INVALID, "labels", NEEDS_MODEL),
	ROW(step_struct_size, FDEN_E_INVALID, "struct_size", NEEDS_MODEL),
	ROW(step_stats_size, FDEN_E_INVALID, "struct_size", NEEDS_MODEL),
	ROW(step_zero_episodes, FDEN_E_INVALID, "episodes", NEEDS_MODEL),
	ROW(step_zero_ways, FDEN_E_INVALID, "ways", NEEDS_MODEL),
	ROW(step_zero_shots, FDEN_E_INVALID, "shots", NEEDS_MODEL),
	ROW(step_zero_queries, FDEN_E_INVALID, "queries", NEEDS_MODEL),
	ROW(step_labels_inconsistent, FDEN_E_SHAPE, NULL, NEEDS_MODEL),
	ROW(step_label_too_big, FDEN_E_INVALID, "label", NEEDS_MODEL),
	ROW(step_label_negative, FDEN_E_INVALID, "label", NEEDS_MODEL),
	ROW(step_nan, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(step_inf, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(step_overflow, FDEN_E_OVERFLOW, NULL, NEEDS_MODEL),
	ROW(step_diverges, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(dis_null_model, FDEN_E_INVALID, "model", 0),
	ROW(dis_null_z, FDEN_E_INVALID, "z", NEEDS_MODEL),
	ROW(dis_zero_n, FDEN_E_INVALID, "n", NEEDS_MODEL),
	ROW(dis_nan, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(dis_overflow, FDEN_E_OVERFLOW, NULL, NEEDS_MODEL),
	ROW(ent_null_model, FDEN_E_INVALID, "model", 0),
	ROW(ent_null_ide, FDEN_E_INVALID, "f_ide", NEEDS_MODEL),
	ROW(ent_null_sty, FDEN_E_INVALID, "f_sty", NEEDS_MODEL),
	ROW(ent_null_out, FDEN_E_INVALID, "z_out", NEEDS_MODEL),
	ROW(ent_zero_n, FDEN_E_INVALID, "n", NEEDS_MODEL),
	ROW(ent_inf, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(ent_overflow, FDEN_E_OVERFLOW, NULL, NEEDS_MODEL),
	ROW(new_null_cfg, FDEN_E_INVALID, "cfg", 0),
	ROW(new_null_out, FDEN_E_INVALID, "out", 0),
	ROW(pred_null_model, FDEN_E_INVALID, "model", 0),
	ROW(pred_null_support, FDEN_E_INVALID, "support", NEEDS_MODEL),
	ROW(pred_null_pred, FDEN_E_INVALID, "pred", NEEDS_MODEL),
	ROW(pred_zero_ways, FDEN_E_INVALID, "ways", NEEDS_MODEL),
	ROW(pred_zero_queries, FDEN_E_INVALID, "n_query", NEEDS_MODEL),
	ROW(pred_label_range, FDEN_E_INVALID, "label", NEEDS_MODEL),
	ROW(pred_empty_class, FDEN_E_INVALID, "class", NEEDS_MODEL),
	ROW(pred_nan, FDEN_E_NONFINITE, NULL, NEEDS_MODEL),
	ROW(std_zero, FDEN_E_INVALID, "std", NEEDS_MODEL),
	ROW(std_nan, FDEN_E_INVALID, "mean", NEEDS_MODEL),
	ROW(std_half_null, FDEN_E_INVALID, "std", NEEDS_MODEL),
	ROW(param_null_model, FDEN_E_INVALID, "model", 0),
	ROW(param_fixed_key, FDEN_E_INVALID, "dim", NEEDS_MODEL),
	ROW(param_unknown_key, FDEN_E_INVALID, "unknown key", NEEDS_MODEL),
	ROW(param_out_of_bounds, FDEN_E_INVALID, "lr_decay_factor", NEEDS_MODEL),
	ROW(param_fraction, FDEN_E_INVALID, "integer", NEEDS_MODEL),
	ROW(save_null_path, FDEN_E_INVALID, "path", NEEDS_MODEL),
	ROW(save_null_model, FDEN_E_INVALID, "model", 0),
	ROW(save_no_dir, FDEN_E_IO, "nonexistent-fden-dir", NEEDS_MODEL),
	ROW(save_to_dir, FDEN_E_IO, NULL, NEEDS_MODEL),
	ROW(load_missing, FDEN_E_IO, "nonexistent-fden-dir", 0),
	ROW(load_dir, FDEN_E_IO, NULL, 0),
	ROW(load_null_out, FDEN_E_INVALID, "out", NEEDS_MODEL),
	ROW(load_null_path, FDEN_E_INVALID, "path", 0),
	ROW(load_empty, FDEN_E_FORMAT, NULL, 0),
	ROW(load_garbage, FDEN_E_FORMAT, NULL, 0),
	ROW(inv_null_ops, FDEN_E_INVALID, "ops", 0),
	ROW(inv_small_struct, FDEN_E_VERSION, "struct_size", 0),
	ROW(inv_version, FDEN_E_VERSION, "version", 0),
	ROW(inv_no_encode, FDEN_E_INVALID, "encode", 0),
	ROW(inv_no_decode, FDEN_E_INVALID, "decode", 0),
	ROW(inv_zero_dim, FDEN_E_INVALID, "input_dim", 0),
	ROW(inv_zero_latent, FDEN_E_INVALID, "latent_dim", 0),
	ROW(inv_null_out, FDEN_E_INVALID, "out", 0),
	ROW(inv_encode_fails, FDEN_E_HOST, "encode", NEEDS_NET),
	ROW(inv_decode_fails, FDEN_E_HOST, "decode", NEEDS_NET),
	ROW(inv_encode_null_x, FDEN_E_INVALID, "NULL", NEEDS_NET),
	ROW(inv_encode_null_net, FDEN_E_INVALID, "net", 0),
	ROW(inv_encode_overflow, FDEN_E_OVERFLOW, NULL, NEEDS_NET),
	ROW(inv_no_dist, FDEN_E_UNSUPPORTED, NULL, NEEDS_NET),
	ROW(inv_save_host, FDEN_E_UNSUPPORTED, NULL, NEEDS_NET),
	ROW(inv_load_missing, FDEN_E_IO, "nonexistent-fden-dir", 0),
	ROW(pca_latent_too_wide, FDEN_E_INVALID, "latent_dim", 0),
	ROW(pca_zero_n, FDEN_E_INVALID, "n", 0),
	ROW(pca_null_x, FDEN_E_INVALID, "x", 0),
	ROW(pca_nan, FDEN_E_NONFINITE, NULL, 0),
	ROW(pca_overflow, FDEN_E_INVALID, "too large", 0),
	ROW(ds_null_x, FDEN_E_INVALID, "x", 0),
	ROW(ds_zero_n, FDEN_E_INVALID, "n", 0),
	ROW(ds_zero_dim, FDEN_E_INVALID, NULL, 0),
	ROW(ds_overflow, FDEN_E_OVERFLOW, NULL, 0),
	ROW(ds_null_out, FDEN_E_INVALID, "out", 0),
	ROW(idx_missing, FDEN_E_IO, "nonexistent-fden-dir", 0),
	ROW(idx_dir, FDEN_E_IO, NULL, 0),
	ROW(idx_garbage, FDEN_E_FORMAT, NULL, 0),
	ROW(npy_missing, FDEN_E_IO, "nonexistent-fden-dir", 0),
	ROW(npy_save_no_dir, FDEN_E_IO, "nonexistent-fden-dir", 0),
	ROW(sampler_too_many_ways, FDEN_E_INVALID, "ways", NEEDS_DS),
	ROW(sampler_too_many_shots, FDEN_E_INVALID, "shots", NEEDS_DS),
	ROW(sampler_zero_ways, FDEN_E_INVALID, "ways", NEEDS_DS),
	ROW(sampler_zero_shots, FDEN_E_INVALID, "shots", NEEDS_DS),
	ROW(sampler_null_ds, FDEN_E_INVALID, "ds", 0),
	ROW(sampler_except_null, FDEN_E_INVALID, "exclude", NEEDS_DS),
	ROW(sampler_except_too_many_ways, FDEN_E_INVALID, "excluded", NEEDS_DS),
	ROW(sampler_except_everything, FDEN_E_INVALID, "3 excluded", NEEDS_DS),
	ROW(sampler_next_null_x, FDEN_E_INVALID, "x", NEEDS_DS),
	ROW(sampler_next_zero, FDEN_E_INVALID, "n_episodes", NEEDS_DS),
	ROW(sampler_next_overflow, FDEN_E_OVERFLOW, NULL, NEEDS_DS),
	{ NULL, NULL, 0, NULL, 0 },
};
#define N_ROWS (sizeof rows / sizeof rows[0] - 1)

/* ---- fixture: a trained tiny model, its fingerprint, a checkpoint --- */
static void fingerprint(struct ctx *c, float *ide, uint64_t *step)
{
	float z[9 * D];
	size_t i;

	for (i = 0; i < 9 * D; i++)
		z[i] = (float)((i * 7919) % 23) / 23.0f - 0.5f;
	ck_assert_int_eq(fden_disentangle(c->m, z, 9, ide, NULL), FDEN_OK);
	*step = fden_model_step(c->m);
}

static void rm_rf(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(bad_input_row)
{
	const struct row *r = &rows[_i];
	struct ctx *c = calloc(1, sizeof *c);
	float ide0[9 * D] = { 0 }, ide1[9 * D] = { 0 }; /* f_ide may be narrower than D */
	uint64_t step0 = 0, step1 = 0;
	char *ck0 = NULL, *ck1 = NULL, ckpath[160];
	size_t n0 = 0, n1 = 0;
	int rc;

	ck_assert_ptr_nonnull(c);
	strcpy(c->dir, "/tmp/fden-badinput-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	snprintf(c->path, sizeof c->path, "%s/m.fden", c->dir);
	snprintf(ckpath, sizeof ckpath, "%s/before.fden", c->dir);
	tu_fill(c->z, 64 * D);
	if (r->needs & NEEDS_MODEL) {
		struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);

		ck_assert_int_eq(fden_model_new(cfg, &c->m), FDEN_OK);
		fden_config_free(cfg);
		tu_episodes_make(&c->b, 1, 3, 2, 1, D);
		ck_assert_int_eq(fden_train_step(c->m, &c->b.ep, NULL), FDEN_OK);
		/* Each row spoils a private copy of the episodes. */
		c->ep = c->b.ep;
		memcpy(c->z, c->b.z, c->b.rows * D * sizeof *c->z);
		memcpy(c->labels, c->b.labels, c->b.rows * sizeof *c->labels);
		c->ep.z = c->z;
		c->ep.labels = c->labels;
		fingerprint(c, ide0, &step0);
		ck_assert_int_eq(fden_model_save(c->m, ckpath), FDEN_OK);
		ck0 = tu_slurp(ckpath, &n0);
	}
	if (r->needs & NEEDS_NET) {
		struct fden_invnet_ops o = host_ops();

		ck_assert_int_eq(fden_invnet_new(&o, D, D, c, &c->net), FDEN_OK);
	}
	if (r->needs & NEEDS_DS) {
		int32_t l[18];
		int i;

		for (i = 0; i < 18; i++)
			l[i] = i % 3;
		ck_assert_int_eq(fden_dataset_new(c->z, l, 18, D, &c->ds), FDEN_OK);
	}

	rc = r->fn(c);
	ck_assert_msg(rc == r->status, "%s: status %d (%s), expected %d (%s); detail: %s", r->name,
		      rc, fden_strerror(rc), r->status, fden_strerror(r->status), fden_last_error());
	ck_assert_msg(fden_last_error()[0] != '\0', "%s: no detail message", r->name);
	if (r->word)
		ck_assert_msg(strstr(fden_last_error(), r->word) != NULL,
			      "%s: detail \"%s\" does not mention \"%s\"", r->name, fden_last_error(),
			      r->word);

	if (c->m) {
		fingerprint(c, ide1, &step1);
		ck_assert_msg(step0 == step1, "%s: step count changed", r->name);
		ck_assert_msg(memcmp(ide0, ide1, sizeof ide0) == 0, "%s: D's output changed", r->name);
		ck_assert_int_eq(fden_model_save(c->m, ckpath), FDEN_OK);
		ck1 = tu_slurp(ckpath, &n1);
		ck_assert_msg(n0 == n1 && memcmp(ck0, ck1, n0) == 0,
			      "%s: the checkpoint changed (parameters, optimiser or random state)",
			      r->name);
	}
	(void)n1;
	free(ck0);
	free(ck1);
	fden_model_free(c->m);
	tu_episodes_free(&c->b);
	fden_invnet_free(c->net);
	fden_dataset_free(c->ds);
	rm_rf(c->dir);
	free(c);
}
END_TEST

/* The fingerprint is meaningful: saving twice gives the same bytes, and a
 * real step changes them. */
START_TEST(fingerprint_detects_change)
{
	struct ctx *c = calloc(1, sizeof *c);
	struct fden_config *cfg = tu_tiny_config(TU_TINY_DIM, 16);
	char p1[160], p2[160], p3[160];
	char *a, *b, *d;
	size_t na, nb, nd;

	ck_assert_ptr_nonnull(c);
	strcpy(c->dir, "/tmp/fden-badinput-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	snprintf(p1, sizeof p1, "%s/1", c->dir);
	snprintf(p2, sizeof p2, "%s/2", c->dir);
	snprintf(p3, sizeof p3, "%s/3", c->dir);
	ck_assert_int_eq(fden_model_new(cfg, &c->m), FDEN_OK);
	fden_config_free(cfg);
	tu_episodes_make(&c->b, 1, 3, 2, 1, D);
	ck_assert_int_eq(fden_train_step(c->m, &c->b.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_model_save(c->m, p1), FDEN_OK);
	ck_assert_int_eq(fden_model_save(c->m, p2), FDEN_OK);
	ck_assert_int_eq(fden_train_step(c->m, &c->b.ep, NULL), FDEN_OK);
	ck_assert_int_eq(fden_model_save(c->m, p3), FDEN_OK);
	a = tu_slurp(p1, &na);
	b = tu_slurp(p2, &nb);
	d = tu_slurp(p3, &nd);
	ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "saving twice gives different bytes");
	ck_assert_msg(na != nd || memcmp(a, d, na) != 0, "a training step did not change the file");
	free(a);
	free(b);
	free(d);
	fden_model_free(c->m);
	tu_episodes_free(&c->b);
	rm_rf(c->dir);
	free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api-badinput");
	TCase *tc = tcase_create("rows");

	tcase_set_timeout(tc, 60);
	if (N_ROWS > 0)
		tcase_add_loop_test(tc, bad_input_row, 0, (int)N_ROWS);
	tcase_add_test(tc, fingerprint_detects_change);
	suite_add_tcase(s, tc);
	fprintf(stderr, "badinput: %zu rows\n", (size_t)N_ROWS);
	return tu_check_main(s, 0);
}
