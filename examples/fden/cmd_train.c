/* fden train: train an FDEN model on latents within a step or time budget,
 * with periodic checkpoints, resume, and every configuration key settable. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "progress.h"
#include "valid.h"

void train_args_default(struct train_args *a)
{
	memset(a, 0, sizeof *a);
	a->preset = "default";
	a->standardize = 1;
	a->ways = 0; /* auto: 20, or every class when fewer (docs/method.md) */
	a->shots = 1;
	a->queries = 5;
	a->episodes = 4;
	a->checkpoint_every = 1000;
	a->seed = 1;
	a->threads = 1;
	a->progress_every = 10;
	a->val_classes = -1; /* auto: held out from VAL_AUTO_MIN_CLASSES classes on */
	a->val_every = 250;
	a->val_patience = 4;
}

/* The key named by name[0..len), or 0. */
static int find_key(const char *name, size_t len)
{
	char buf[64];
	int key = 0;
	if (len >= sizeof buf)
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return fden_config_key_find(buf, &key) == FDEN_OK ? key : 0;
}

/* Named values: enum words and on/off. */
static int word_value(int key, const char *v, double *out)
{
	static const struct {
		int key;
		const char *word;
		double value;
	} words[] = {
		{ FDEN_P_ALIGN_HEAD, "prototypical", FDEN_ALIGN_PROTOTYPICAL },
		{ FDEN_P_ALIGN_HEAD, "relation", FDEN_ALIGN_RELATION },
		{ FDEN_P_ALIGN_HEAD, "matching", FDEN_ALIGN_MATCHING },
		{ FDEN_P_INIT, "trunc_normal", FDEN_INIT_TRUNC_NORMAL },
		{ FDEN_P_INIT, "glorot_normal", FDEN_INIT_GLOROT_NORMAL },
		{ FDEN_P_INIT, "he_normal", FDEN_INIT_HE_NORMAL },
		{ FDEN_P_DISENTANGLER, "mlp", FDEN_DIS_MLP },
		{ FDEN_P_DISENTANGLER, "flow", FDEN_DIS_FLOW },
		{ 0, "on", 1 },
		{ 0, "off", 0 },
		{ 0, "true", 1 },
		{ 0, "false", 0 },
		{ 0, "yes", 1 },
		{ 0, "no", 0 },
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if ((!words[i].key || words[i].key == key) && !strcasecmp(v, words[i].word)) {
			*out = words[i].value;
			return 0;
		}
	return -1;
}

int config_apply(const char *cmd, struct fden_config *cfg, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return cli_usage(cmd, "--set needs KEY=VALUE, not '%s' (keys: 'fden train --list-keys')",
				 kv);
	int key = find_key(kv, (size_t)(eq - kv));
	if (!key)
		return cli_usage(cmd, "unknown configuration key '%.*s' (see 'fden train --list-keys')",
				 (int)(eq - kv), kv);
	const char *v = eq + 1;
	double x;
	if (word_value(key, v, &x)) {
		char *end;
		errno = 0;
		x = strtod(v, &end);
		if (!*v || *end || errno || !isfinite(x))
			return cli_usage(cmd, "bad value '%s' for '%s'", v, fden_config_key_name(key));
	}
	int rc = fden_config_set(cfg, key, x);
	if (rc)
		return cli_fail(cmd, rc, "setting %s=%s", fden_config_key_name(key), v);
	return 0;
}

static int list_keys(void)
{
	struct fden_config *def = NULL, *paper = NULL;
	int rc = fden_config_new(&def);
	if (!rc)
		rc = fden_config_new(&paper);
	if (!rc)
		rc = fden_config_preset(paper, FDEN_PRESET_PAPER);
	if (rc) {
		fden_config_free(def);
		fden_config_free(paper);
		return cli_fail("train", rc, "listing configuration keys");
	}
	printf("%-20s %12s %12s   %s\n", "key", "default", "paper", "range");
	for (int k = 1; k <= fden_config_key_count(); k++) {
		const char *name = fden_config_key_name(k);
		double a = NAN, b = NAN, lo = NAN, hi = NAN;
		if (fden_config_get(def, k, &a) || fden_config_get(paper, k, &b) ||
		    fden_config_bounds(k, &lo, &hi))
			continue;
		printf("%-20s %12g %12g   [%g, %g]\n", name, a, b, lo, hi);
	}
	printf("\nalign_head: prototypical (0), relation (1), matching (2); "
	       "init: trunc_normal (0), glorot_normal (1), he_normal (2);\ndisentangler: mlp (0), flow (1); flags: on/off\n");
	fden_config_free(def);
	fden_config_free(paper);
	return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void model_log(void *user_data, int level, const char *format, va_list args)
{
	(void)user_data;
	if (cli_quiet || level > FDEN_LOG_INFO)
		return;
	fputs("fden: model: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static int cmp_i32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;

	return (a > b) - (a < b);
}

/* The training classes from one sort of the labels (a million-row set
 * is sorted once before the first step, not once per question). */
struct census {
	int32_t *classes; /* the labels, sorted and unique (malloc'd): the style
			   * classifier's global class of label y is its index */
	size_t n;         /* of them */
	size_t labelled;  /* non-negative ones (data_n_classes) */
	size_t enough;    /* non-negative ones with `need` rows (data_classes_with) */
	size_t rows;      /* the rows of these classes */
};

/* The census of ds's rows whose label is not one of the n_excl sorted excl
 * (the held-out classes, valid.h): what it was of a copy without them. */
static int census_of(const struct fden_dataset *ds, size_t need, const int32_t *excl,
		     size_t n_excl, struct census *c)
{
	size_t n = fden_dataset_size(ds), rows = 0, k = 0, run = 0;
	const int32_t *lab = fden_dataset_labels(ds);
	int32_t *u = malloc((n ? n : 1) * sizeof *u);

	memset(c, 0, sizeof *c);
	if (!u)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!n_excl || !bsearch(&lab[i], excl, n_excl, sizeof *excl, cmp_i32))
			u[rows++] = lab[i];
	qsort(u, rows, sizeof *u, cmp_i32);
	c->rows = rows;
	for (size_t i = 0; i < rows; i++) {
		run = i && u[i] == u[i - 1] ? run + 1 : 1;
		c->labelled += u[i] >= 0 && run == 1;
		c->enough += u[i] >= 0 && run == need;
		if (!k || u[i] != u[k - 1])
			u[k++] = u[i];
	}
	c->classes = u;
	c->n = k;
	return 0;
}

/* classes[i] (original labels) -> their indices in the sorted list u */
static void dense_classes(int32_t *classes, size_t n, const int32_t *u, size_t nu)
{
	for (size_t i = 0; i < n; i++) {
		const int32_t *f = bsearch(&classes[i], u, nu, sizeof *u, cmp_i32);
		classes[i] = f ? (int32_t)(f - u) : -1;
	}
}

/* n_classes: the training classes, for a style classifier left unsized */
static int make_model(const char *cmd, size_t dim, size_t n_classes, const struct train_args *a,
		      struct fden_model **out)
{
	struct fden_config *cfg = NULL;
	int preset, rc;
	double got;

	if (!strcmp(a->preset, "default"))
		preset = FDEN_PRESET_DEFAULT;
	else if (!strcmp(a->preset, "paper"))
		preset = FDEN_PRESET_PAPER;
	else
		return cli_usage(cmd, "--preset must be 'default' or 'paper', not '%s'", a->preset);
	rc = fden_config_new(&cfg);
	if (!rc)
		rc = fden_config_preset(cfg, preset);
	if (!rc)
		rc = fden_config_set(cfg, FDEN_P_DIM, (double)dim);
	if (!rc)
		rc = fden_config_set(cfg, FDEN_P_SEED, (double)a->seed);
	if (!rc)
		rc = fden_config_set(cfg, FDEN_P_THREADS, (double)(a->threads ? a->threads : 1));
	if (rc) {
		fden_config_free(cfg);
		return cli_fail(cmd, rc, "configuration");
	}
	for (size_t i = 0; i < a->n_sets; i++)
		if ((rc = config_apply(cmd, cfg, a->sets[i]))) {
			fden_config_free(cfg);
			return rc;
		}
	/* a style classifier without a class count reads the training classes */
	if (!fden_config_get(cfg, FDEN_P_STY_CLS, &got) && got > 0 &&
	    !fden_config_get(cfg, FDEN_P_STY_CLS_CLASSES, &got) && got == 0 &&
	    (rc = fden_config_set(cfg, FDEN_P_STY_CLS_CLASSES, (double)n_classes))) {
		fden_config_free(cfg);
		return cli_fail(cmd, rc, "configuration");
	}
	/* a schedule without a horizon decays over this run's --steps */
	if (a->steps && !fden_config_get(cfg, FDEN_P_LR_DECAY, &got) && got != FDEN_LR_CONSTANT &&
	    !fden_config_get(cfg, FDEN_P_LR_DECAY_STEPS, &got) && got == 0 &&
	    (rc = fden_config_set(cfg, FDEN_P_LR_DECAY_STEPS, (double)a->steps))) {
		fden_config_free(cfg);
		return cli_fail(cmd, rc, "configuration");
	}
	if (!fden_config_get(cfg, FDEN_P_DIM, &got) && (size_t)got != dim) {
		fden_config_free(cfg);
		fprintf(stderr, "fden: %s: dim=%g was set but the latents are %zu wide\n", cmd, got,
			dim);
		return EXIT_DATA;
	}
	rc = fden_model_new(cfg, out);
	fden_config_free(cfg);
	if (rc)
		return cli_fail(cmd, rc, "creating the model");
	return 0;
}

/* Moving averages of a run's step statistics (ema). */
struct train_avg {
	double loss, l_r, l_c, l_m, accuracy;
};

/* What one run did. */
struct train_run {
	uint64_t steps; /* steps in this run */
	double seconds; /* its training time */
	double lr;      /* the learning rate of its last step */
	int resumed, signal;
};

/* A key of the model's configuration (NaN if it cannot be read). */
static double config_value(const struct fden_model *model, int key)
{
	struct fden_config *c = NULL;
	double v = NAN;

	if (fden_model_config(model, &c) || fden_config_get(c, key, &v))
		v = NAN;
	fden_config_free(c);
	return v;
}

struct val_track;
static void write_validation(struct json *j, const struct val_track *t);

static int write_summary(const char *cmd, const struct train_args *a,
			 const struct fden_model *model, size_t rows, const struct train_run *run,
			 const struct train_avg *av, const struct val_track *vt)
{
	FILE *f = cli_open_output(cmd, a->json);
	struct json j;
	if (!f)
		return EXIT_FILE;
	json_init(&j, f);
	json_open(&j, NULL, '{');
	json_str(&j, "command", "train");
	json_str(&j, "preset", a->preset);
	json_int(&j, "rows", (long long)rows);
	json_int(&j, "dim", (long long)fden_model_dim(model));
	json_int(&j, "ide_dim", (long long)fden_model_ide_dim(model));
	json_int(&j, "sty_dim", (long long)fden_model_sty_dim(model));
	json_int(&j, "ways", (long long)a->ways);
	json_int(&j, "shots", (long long)a->shots);
	json_int(&j, "queries", (long long)a->queries);
	json_int(&j, "episodes", (long long)a->episodes);
	json_int(&j, "seed", (long long)a->seed);
	json_int(&j, "threads", (long long)a->threads);
	json_bool(&j, "resumed", run->resumed);
	json_bool(&j, "interrupted", run->signal != 0);
	json_int(&j, "steps_run", (long long)run->steps);
	json_int(&j, "steps_total", (long long)fden_model_step(model));
	json_num(&j, "seconds", run->seconds);
	json_num(&j, "steps_per_second",
		 run->seconds > 0 ? (double)run->steps / run->seconds : NAN);
	json_num(&j, "lr", run->steps ? run->lr : NAN); /* the last step's, schedule included */
	json_num(&j, "lr_decay_steps", config_value(model, FDEN_P_LR_DECAY_STEPS));
	/* the moving averages the progress line shows (null without steps) */
	json_open(&j, "average", '{');
	json_num(&j, "loss", run->steps ? av->loss : NAN);
	json_num(&j, "l_r", run->steps ? av->l_r : NAN);
	json_num(&j, "l_c", run->steps ? av->l_c : NAN);
	json_num(&j, "l_m", run->steps ? av->l_m : NAN);
	json_num(&j, "accuracy", run->steps ? av->accuracy : NAN);
	json_close(&j, '}');
	write_validation(&j, vt);
	json_str(&j, "out", a->out);
	json_close(&j, '}');
	fputc('\n', f);
	return cli_close_output(cmd, f, a->json);
}

/* A run by time with a schedule but no horizon (no --steps, no
 * lr_decay_steps, none saved in a resumed model) gets one from the CLI:
 * after HORIZON_WARMUP_STEPS steps and HORIZON_WARMUP_SHARE of the budget,
 * whichever comes later, the steps so far plus those the rest of the budget
 * allows at the rate measured so far. The library never reads the clock. */
#define HORIZON_WARMUP_STEPS 50
#define HORIZON_WARMUP_SHARE 0.05

static int horizon_wanted(const struct fden_model *model, double budget)
{
	double kind = config_value(model, FDEN_P_LR_DECAY);

	return budget > 0 && kind != FDEN_LR_CONSTANT && !isnan(kind) &&
	       config_value(model, FDEN_P_LR_DECAY_STEPS) == 0;
}

/* Set the horizon once the warm-up is over (*pending then becomes 0);
 * 0 or a CLI exit code. steps: taken in this run, since `started`; t0: the
 * start of the budget. */
static int horizon_set(const char *cmd, struct fden_model *model, uint64_t steps, double started,
		       double t0, double budget, struct progress *p, int *pending)
{
	double now = cli_now(), rate, left;
	uint64_t total;
	int rc;

	if (!*pending || steps < HORIZON_WARMUP_STEPS || now - t0 < HORIZON_WARMUP_SHARE * budget)
		return 0;
	*pending = 0;
	rate = (double)steps / fmax(now - started, 1e-9);
	left = fmax(budget - (now - t0), 0);
	total = fden_model_step(model) + (uint64_t)(rate * left) + 1;
	progress_clear(p); /* the lines below start a line of their own */
	if ((rc = fden_model_set_param(model, FDEN_P_LR_DECAY_STEPS, (double)total)))
		return cli_fail(cmd, rc, "setting the learning-rate horizon");
	cli_info("fden: %s: learning-rate schedule over %llu steps (%.1f steps/s over the first "
		 "%llu of this run; saved with the model)",
		 cmd, (unsigned long long)total, rate, (unsigned long long)steps);
	return 0;
}

static void ema(double *avg, double x, int first)
{
	*avg = first ? x : 0.98 * *avg + 0.02 * x; /* avg <- 0.98 avg + 0.02 x */
}

/* Validation (valid.h): the best score so far and the model saved at it,
 * in a temporary file. */
struct val_track {
	struct val *v;
	double best, last;
	uint64_t best_step, last_step;
	size_t since;    /* scores since the best one */
	size_t scores;   /* scores so far */
	int stopped;     /* patience ran out */
	int restored;    /* the best model replaced the last one */
	char path[4096]; /* every first score saves, so scores > 0: a model is there */
};

static int val_track_open(const char *cmd, struct val_track *t)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (snprintf(t->path, sizeof t->path, "%s/fden-best-XXXXXX", dir) >= (int)sizeof t->path) {
		fprintf(stderr, "fden: %s: TMPDIR is too long\n", cmd);
		return EXIT_FILE;
	}
	if ((fd = mkstemp(t->path)) < 0) {
		fprintf(stderr, "fden: %s: a temporary file in '%s' for the best model: %s\n", cmd,
			dir, strerror(errno));
		t->path[0] = '\0';
		return EXIT_FILE;
	}
	close(fd);
	return 0;
}

/* Score the model on the validation classes; save it when it is the best
 * so far. 0 or a CLI exit code. */
static int val_check(const char *cmd, struct val_track *t, const struct fden_model *model,
		     const struct train_args *a, struct progress *p)
{
	uint64_t step = fden_model_step(model);
	double acc;
	int rc;

	if ((rc = val_score(cmd, t->v, model, &acc)))
		return rc;
	t->scores++;
	t->last = acc;
	t->last_step = step;
	if (t->scores == 1 || acc > t->best) {
		t->best = acc;
		t->best_step = step;
		t->since = 0;
		if ((rc = fden_model_save(model, t->path)))
			return cli_fail(cmd, rc, "saving the best model so far to '%s'", t->path);
	} else {
		t->since++;
	}
	t->stopped = a->val_patience && t->since >= a->val_patience;
	progress_clear(p);
	char why[80] = "";
	if (t->stopped)
		snprintf(why, sizeof why, "; %zu score%s without a better one: stopping", t->since,
			 t->since == 1 ? "" : "s");
	cli_info("fden: %s: step %llu: validation %.1f%% (best %.1f%% at step %llu)%s", cmd,
		 (unsigned long long)step, 100 * acc, 100 * t->best,
		 (unsigned long long)t->best_step, why);
	return 0;
}

/* "validation": null without held-out classes */
static void write_validation(struct json *j, const struct val_track *t)
{
	if (!t->v) {
		json_num(j, "validation", NAN); /* null */
		return;
	}
	json_open(j, "validation", '{');
	json_int(j, "classes", (long long)val_classes(t->v));
	json_str(j, "task", val_task(t->v));
	json_int(j, "scores", (long long)t->scores);
	json_num(j, "best_accuracy", t->scores ? t->best : NAN);
	json_int(j, "best_step", (long long)t->best_step);
	json_num(j, "last_accuracy", t->scores ? t->last : NAN);
	json_int(j, "last_step", (long long)t->last_step);
	json_bool(j, "stopped_early", t->stopped);
	json_bool(j, "restored_best", t->restored);
	json_close(j, '}');
}

/* Replace *model by the best one when that is not the last: 0 or a CLI
 * exit code. */
static int val_restore(const char *cmd, struct val_track *t, struct fden_model **model,
		       const struct train_args *a)
{
	struct fden_model *b = NULL;
	int rc;

	if (!t->scores || t->best_step == fden_model_step(*model))
		return 0;
	if ((rc = fden_model_load(t->path, NULL, &b)))
		return cli_fail(cmd, rc, "reloading the best model from '%s'", t->path);
	fden_model_free(*model);
	*model = b;
	if (a->verbose)
		fden_model_set_log(b, model_log, NULL);
	t->restored = 1;
	cli_info("fden: %s: kept the model of step %llu, the best on validation (%.1f%%; the last, "
		 "step %llu: %.1f%%)",
		 cmd, (unsigned long long)t->best_step, 100 * t->best,
		 (unsigned long long)t->last_step, 100 * t->last);
	return 0;
}

static int run_train_locked(const char *cmd, const struct fden_dataset *train_z,
			    const struct train_args *a, struct fden_model **out);

/* Train with OUT locked (a second trainer of the same file fails at once),
 * after removing what a killed save of OUT left behind. */
int run_train(const char *cmd, const struct fden_dataset *train_z, const struct train_args *a,
	      struct fden_model **out)
{
	struct cli_lock lk = { .fd = -1 };
	int rc;

	if (a->out) {
		size_t gone;
		if ((rc = cli_lock_output(cmd, a->out, &lk)))
			return rc;
		if ((gone = cli_clean_stale(a->out, &lk)))
			cli_info("fden: %s: removed %zu temporary file%s of an interrupted save of '%s'",
				 cmd, gone, gone == 1 ? "" : "s", a->out);
	}
	rc = run_train_locked(cmd, train_z, a, out);
	cli_unlock_output(&lk);
	return rc;
}

/* train_z: the rows; with validation classes, training (the episodes, the
 * standardisation, the class census) leaves excl's labels out of them. */
static int run_train_locked(const char *cmd, const struct fden_dataset *train_z,
			    const struct train_args *a, struct fden_model **out)
{
	const int32_t *excl = NULL; /* the labels training leaves out, sorted (valid.h) */
	size_t n_excl = 0;
	struct val_track vt = { 0 };
	struct fden_model *model = NULL;
	struct fden_sampler *smp = NULL;
	struct train_args auto_ways;
	size_t dim = fden_dataset_dim(train_z);
	float *z = NULL;
	int32_t *lab = NULL, *cls = NULL;
	struct census cs = { 0 };
	FILE *csv = NULL;
	struct sigaction sa, old_int, old_term;
	double lr = NAN;             /* the last step's learning rate */
	int horizon = 0;             /* the time budget still has to fix the schedule's horizon */
	struct train_avg av = { 0 }; /* moving averages of the step statistics */
	int trained = 0;
	double t0 = cli_now(), seconds = 0;
	int rc, resumed = 0, bad = 0;

	if (!a->episodes || a->ways == 1 || !a->shots || !a->queries)
		return cli_usage(cmd, "need --episodes >= 1, --ways >= 2 (or 0: auto), --shots >= 1, --queries >= 1");
	if (census_of(train_z, a->shots + a->queries, NULL, 0, &cs))
		return cli_fail(cmd, FDEN_E_NOMEM, "class list");
	size_t nval = a->val_classes < 0 ? val_auto_classes(cs.labelled) : (size_t)a->val_classes;
	if (nval) { /* hold the validation classes out, then count what is left */
		if ((rc = val_open(cmd, train_z, nval, a->seed, &vt.v)) ||
		    (rc = val_track_open(cmd, &vt)))
			goto out;
		excl = val_excluded(vt.v, &n_excl);
		free(cs.classes);
		if (census_of(train_z, a->shots + a->queries, excl, n_excl, &cs)) {
			rc = cli_fail(cmd, FDEN_E_NOMEM, "class list");
			goto out;
		}
		char stop[80] = "";
		if (a->val_patience)
			snprintf(stop, sizeof stop,
				 ", training stops after %zu scores without a better one",
				 a->val_patience);
		cli_info("fden: %s: %zu classes held out for validation (%s every %llu steps; the "
			 "best model is kept%s)",
			 cmd, nval, val_task(vt.v), (unsigned long long)a->val_every, stop);
	}
	size_t have = cs.enough;
	if (!a->ways) { /* auto: TRAIN_AUTO_WAYS, or every class when there are fewer */
		auto_ways = *a;
		auto_ways.ways = have < TRAIN_AUTO_WAYS ? (have < 2 ? 2 : have) : TRAIN_AUTO_WAYS;
		a = &auto_ways;
	}
	size_t rows = a->episodes * a->ways * (a->shots + a->queries);
	if (have < a->ways) {
		fprintf(stderr, "fden: %s: %zu-way episodes need %zu classes with %zu rows each; the "
				"training data have %zu\n",
			cmd, a->ways, a->ways, a->shots + a->queries, have);
		rc = EXIT_DATA;
		goto out;
	}
	if (a->resume && a->out && access(a->out, F_OK) == 0) {
		rc = fden_model_load(a->out, NULL, &model);
		if (rc) {
			rc = cli_fail(cmd, rc, "resuming from '%s'", a->out);
			goto out;
		}
		if (fden_model_dim(model) != dim) {
			fprintf(stderr, "fden: %s: '%s' has Dim %zu but the latents are %zu wide\n", cmd,
				a->out, fden_model_dim(model), dim);
			rc = EXIT_DATA;
			goto out;
		}
		resumed = 1;
		if (a->n_sets)
			cli_info("fden: %s: resuming: --set and --preset are ignored (the checkpoint "
				 "holds the configuration)",
				 cmd);
		cli_info("fden: %s: resuming '%s' at step %llu", cmd, a->out,
			 (unsigned long long)fden_model_step(model));
	} else if ((rc = make_model(cmd, dim, cs.n, a, &model))) {
		goto out;
	}
	if (a->verbose)
		fden_model_set_log(model, model_log, NULL);
	if (!resumed && a->standardize) {
		rc = fden_model_fit_standardization_except(model, fden_dataset_data(train_z),
							   fden_dataset_labels(train_z),
							   fden_dataset_size(train_z), excl, n_excl);
		if (rc) {
			rc = cli_fail(cmd, rc, "standardisation");
			goto out;
		}
	}
	uint64_t step = fden_model_step(model), first = step;
	if (a->steps && step >= a->steps) {
		cli_info("fden: %s: the model already has %llu steps (--steps %llu)", cmd,
			 (unsigned long long)step, (unsigned long long)a->steps);
		rc = 0;
		goto done;
	}
	/* the episodes of step s come from a sampler reset with a seed made of
	 * --seed and s: a resumed run draws what an uninterrupted one would */
	rc = fden_sampler_new_except(train_z, a->ways, a->shots, a->queries, a->seed, excl, n_excl,
				     &smp);
	if (rc) {
		rc = cli_fail(cmd, rc, "%zu-way %zu-shot %zu-query episodes from %zu training rows",
			      a->ways, a->shots, a->queries, cs.rows);
		goto out;
	}
	z = malloc(rows * dim * sizeof *z);
	lab = malloc(rows * sizeof *lab);
	cls = malloc(a->episodes * a->ways * sizeof *cls);
	if (!z || !lab || !cls) {
		rc = cli_fail(cmd, FDEN_E_NOMEM, "episode buffers");
		goto out;
	}
	if (a->log_csv) {
		csv = fopen(a->log_csv, resumed ? "a" : "w");
		if (!csv) {
			fprintf(stderr, "fden: %s: opening '%s': %s\n", cmd, a->log_csv, strerror(errno));
			rc = EXIT_FILE;
			goto out;
		}
		if (!resumed)
			fprintf(csv, "step,seconds,loss,l_r,l_c,l_m,accuracy,clip_scale,l_hsic,l_sty_cls,"
				     "sty_cls_accuracy,l_sty_between,lr\n");
	}

	stop_signal = 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	struct progress p;
	double budget = a->minutes > 0 ? 60 * a->minutes : 0;
	char extra[160] = "";
	cli_info("fden: %s: %zu training rows, %zu classes, Dim %zu; %zu episodes of %zu-way "
		 "%zu-shot %zu-query a step; stop at %s%s%s",
		 cmd, cs.rows, cs.labelled, dim, a->episodes, a->ways,
		 a->shots, a->queries, a->steps ? "a step count" : "", a->steps && budget ? " or " : "",
		 budget ? "a time budget" : "");
	progress_start(&p, "fden: train", "steps", first, a->steps, budget, a->progress_every,
		       cli_quiet);
	horizon = horizon_wanted(model, budget);
	double started = cli_now();
	for (;;) {
		if (stop_signal || (a->steps && step >= a->steps) ||
		    (budget > 0 && cli_now() - t0 >= budget))
			break;
		rc = fden_sampler_reset(smp, a->seed * 0x9e3779b97f4a7c15ULL + step);
		if (!rc)
			rc = fden_sampler_next(smp, a->episodes, z, lab, cls);
		if (rc) {
			rc = cli_fail(cmd, rc, "drawing episodes");
			goto restore;
		}
		struct fden_episodes ep = {
			.struct_size = sizeof ep,
			.n_episodes = a->episodes,
			.ways = a->ways,
			.shots = a->shots,
			.queries = a->queries,
			.z = z,
			.z_log_sigma = NULL,
			.labels = lab,
			.classes = cls,
		};
		dense_classes(cls, a->episodes * a->ways, cs.classes, cs.n);
		struct fden_step_stats st;
		memset(&st, 0, sizeof st);
		st.struct_size = sizeof st;
		rc = fden_train_step(model, &ep, &st);
		if (rc == FDEN_E_NONFINITE && ++bad < 20)
			continue; /* rejected, model unchanged: try other episodes */
		if (rc) {
			rc = cli_fail(cmd, rc, "training step %llu", (unsigned long long)step + 1);
			goto restore;
		}
		bad = 0;
		step = fden_model_step(model);
		lr = st.lr;
		if ((rc = horizon_set(cmd, model, step - first, started, t0, budget, &p, &horizon)))
			goto restore;
		int f = step == first + 1;
		ema(&av.loss, st.loss, f);
		ema(&av.l_r, st.l_r, f);
		ema(&av.l_c, st.l_c, f);
		ema(&av.l_m, st.l_m, f);
		ema(&av.accuracy, st.accuracy, f);
		if (csv)
			fprintf(csv, "%llu,%.3f,%.6g,%.6g,%.6g,%.6g,%.4f,%.4g,%.6g,%.6g,%.4f,%.6g,%.6g\n",
				(unsigned long long)step, cli_now() - t0, st.loss, st.l_r, st.l_c,
				st.l_m, st.accuracy, st.clip_scale, st.l_hsic, st.l_sty_cls,
				st.sty_cls_accuracy, st.l_sty_between, st.lr);
		/* loss and accuracy first: a narrow terminal keeps those */
		snprintf(extra, sizeof extra, "loss %.3f acc %.0f%% L_C %.3f L_M %.3f L_R %.3f",
			 av.loss, 100 * av.accuracy, av.l_c, av.l_m, av.l_r);
		if (a->out && a->checkpoint_every && step % a->checkpoint_every == 0) {
			rc = fden_model_save(model, a->out);
			if (rc) {
				rc = cli_fail(cmd, rc, "checkpoint '%s'", a->out);
				goto restore;
			}
		}
		if (vt.v && a->val_every && step % a->val_every == 0) {
			if ((rc = val_check(cmd, &vt, model, a, &p)))
				goto restore;
			if (vt.stopped)
				break;
		}
		progress_update(&p, step, extra);
	}
	progress_end(&p, step, extra);
	/* the last model is a candidate too; an interrupted run keeps its last */
	if (vt.v && !stop_signal && step > first &&
	    (!vt.scores || vt.last_step != step) && (rc = val_check(cmd, &vt, model, a, &p)))
		goto restore;
	if (vt.v && !stop_signal && (rc = val_restore(cmd, &vt, &model, a)))
		goto restore;
	rc = 0;
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc)
		goto out;
	seconds = cli_now() - t0;
	trained = 1;
done:
	if (a->out) {
		rc = fden_model_save(model, a->out);
		if (rc) {
			rc = cli_fail(cmd, rc, "saving '%s'", a->out);
			goto out;
		}
		cli_info("fden: %s: saved %s", cmd, a->out);
	}
	if (trained) /* the last line: what the run did and where the losses ended */
		cli_info("fden: %s: %llu steps in this run, %llu in total, %.1f s (%.1f steps/s); "
			 "last (moving average): loss %.4f, accuracy %.1f%%, L_R %.4g, L_C %.4f, "
			 "L_M %.4f",
			 cmd, (unsigned long long)(step - first), (unsigned long long)step,
			 seconds, (double)(step - first) / fmax(seconds, 1e-9), av.loss,
			 100 * av.accuracy, av.l_r, av.l_c, av.l_m);
	if (stop_signal) {
		fprintf(stderr, "fden: %s: interrupted by signal %d at step %llu%s\n", cmd,
			(int)stop_signal, (unsigned long long)step,
			a->out ? "; checkpoint saved, continue with --resume" : "");
		rc = EXIT_INTERRUPTED;
	}
	if (a->outcome) {
		memset(a->outcome, 0, sizeof *a->outcome);
		a->outcome->steps_run = step - first;
		if (vt.v) {
			a->outcome->val_classes = val_classes(vt.v);
			a->outcome->stopped_early = vt.stopped;
			a->outcome->restored = vt.restored;
		}
	}
	if (a->json) {
		struct train_run run = { .steps = step - first, .seconds = seconds, .lr = lr, .resumed = resumed, .signal = (int)stop_signal };
		int jrc = write_summary(cmd, a, model, cs.rows, &run, &av, &vt);
		if (jrc && !rc)
			rc = jrc;
	}
out:
	if (csv && fclose(csv) && !rc) {
		fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, a->log_csv);
		rc = EXIT_FILE;
	}
	fden_sampler_free(smp);
	free(z);
	free(lab);
	free(cls);
	free(cs.classes);
	if (vt.path[0])
		unlink(vt.path);
	val_free(vt.v);
	if (out && (rc == 0 || rc == EXIT_INTERRUPTED))
		*out = model;
	else
		fden_model_free(model);
	return rc;
}

int train_args_val_classes(void *ctx, const char *value)
{
	struct train_args *a = ctx;
	char *end;
	long v;

	if (!strcmp(value, "auto")) {
		a->val_classes = -1;
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < 0)
		return -1;
	a->val_classes = v;
	return 0;
}

void train_args_val_show(const void *ctx, char *buf, size_t n)
{
	const struct train_args *a = ctx;
	if (a->val_classes < 0)
		snprintf(buf, n, "auto");
	else
		snprintf(buf, n, "%ld", a->val_classes);
}

int train_args_add_set(void *ctx, const char *value)
{
	struct train_args *a = ctx;
	if (a->n_sets >= TRAIN_MAX_SETS || !strchr(value, '='))
		return -1;
	a->sets[a->n_sets++] = value;
	return 0;
}

int cmd_train(int argc, char **argv)
{
	struct train_args a;
	struct data_opts d;
	const char *net_path = NULL;
	int keys = 0;
	train_args_default(&a);
	data_opts_init(&d);
	const struct opt t[] = {
		{ .name = "out", .type = OPT_STR, .ptr = &a.out, .arg = "FILE", .help = "model file: checkpoints and the final model (required)" },
		OPT_NET(&net_path, "encode image rows through this saved network first"),
		{ .name = "preset", .type = OPT_STR, .ptr = &a.preset, .arg = "NAME", .help = "configuration: default (measured) or paper (Appendix B)" },
		{ .name = "set", .type = OPT_CALL, .arg = "KEY=VALUE", .help = "set a configuration key (repeatable; --list-keys)", .call = train_args_add_set, .ctx = &a },
		{ .name = "list-keys", .type = OPT_FLAG, .ptr = &keys, .help = "print every configuration key with defaults, bounds" },
		{ .name = "standardize", .type = OPT_FLAG, .ptr = &a.standardize, .help = "standardise latents per dimension inside the model" },
		{ .name = "steps", .type = OPT_U64, .ptr = &a.steps, .arg = "N", .help = "stop when the model has N steps (at least 1)", .range = OPT_POSITIVE },
		{ .name = "minutes", .type = OPT_DBL, .ptr = &a.minutes, .arg = "M", .help = "stop after M minutes (the lr schedule's horizon: below)", .def = OPT_STRINGIFY(TRAIN_DEFAULT_MINUTES) " when no --steps", .range = OPT_POSITIVE },
		{ .name = "ways", .type = OPT_SIZE, .ptr = &a.ways, .arg = "C", .help = "classes per training episode (0: " OPT_STRINGIFY(TRAIN_AUTO_WAYS) ", or all when fewer)" },
		{ .name = "shots", .type = OPT_SIZE, .ptr = &a.shots, .arg = "K", .help = "support rows per class", .range = OPT_POSITIVE },
		{ .name = "queries", .type = OPT_SIZE, .ptr = &a.queries, .arg = "Q", .help = "query rows per class", .range = OPT_POSITIVE },
		{ .name = "episodes", .type = OPT_SIZE, .ptr = &a.episodes, .arg = "N", .help = "episodes per step", .range = OPT_POSITIVE },
		{ .name = "checkpoint-every", .type = OPT_U64, .ptr = &a.checkpoint_every, .arg = "N", .help = "save --out every N steps (0: at the end)" },
		{ .name = "resume", .type = OPT_FLAG, .ptr = &a.resume, .help = "continue from --out if it exists" },
		{ .name = "log-csv", .type = OPT_STR, .ptr = &a.log_csv, .arg = "FILE", .help = "write per-step losses as CSV" },
		OPT_JSON(&a.json, "a JSON summary of the run"),
		OPT_SEED(&a.seed, "model and episode seed"),
		OPT_THREADS(&a.threads, "BLIS threads"),
		{ .name = "progress-every", .type = OPT_DBL, .ptr = &a.progress_every, .arg = "S", .help = "seconds between progress lines off a terminal", .range = OPT_POSITIVE },
		OPT_VALIDATION(&a),
		{ .name = "verbose", .type = OPT_FLAG, .ptr = &a.verbose, .help = "the model's own log lines" },
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "train",
		.synopsis = "--out MODEL (--net NET | latents) --train-images F --train-labels F [options]",
		.desc = "Train FDEN on the latents of the training classes. Rows are images encoded\n"
			"through --net, or, without --net, latents (.npy, or IDX with --scale 1).\n"
			"The model file is rewritten atomically every --checkpoint-every steps;\n"
			"Ctrl-C saves it and exits with status 130; --resume continues.\n\n"
			"The default preset's learning rate follows a cosine schedule (lr_decay)\n"
			"over lr_decay_steps: --steps N sets it to N; a run by time (--minutes),\n"
			"after a warm-up of 50 steps or 5% of the budget, whichever is later, sets\n"
			"it once to the steps the budget allows at the rate measured so far\n"
			"(saved with the model; --resume keeps it).",
		.footer = "Examples:\n"
			  "  fden train --net net.fden --images train.gz --labels labels.gz --split 5 \\\n"
			  "             --minutes 10 --out model.fden\n"
			  "  fden train --train-images z.npy --train-labels y.npy --preset paper \\\n"
			  "             --set dropout=0 --set lr=3e-4 --steps 5000 --out model.fden\n",
		.opts = t,
		.data = data_opts_table(&d, DATA_TRAIN),
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (keys)
		return list_keys();
	if (!a.out)
		return cli_usage(cmd, "--out FILE is required (see 'fden train --help')");
	if (!a.steps && a.minutes <= 0)
		a.minutes = TRAIN_DEFAULT_MINUTES;
	if (!net_path && d.scale < 0)
		d.scale = 1; /* latents are not bytes */

	struct fden_dataset *train = NULL, *train_z = NULL;
	struct fden_invnet *net = NULL;
	rc = data_load(cmd, &d, &train, NULL);
	if (rc)
		return rc;
	if (net_path) {
		rc = fden_invnet_load(net_path, &net);
		if (rc) {
			rc = cli_fail(cmd, rc, "loading network '%s'", net_path);
			goto out;
		}
		if ((rc = data_encode(cmd, net, train, &train_z)))
			goto out;
	}
	rc = run_train(cmd, train_z ? train_z : train, &a, NULL);
out:
	fden_invnet_free(net);
	fden_dataset_free(train);
	fden_dataset_free(train_z);
	return rc;
}
