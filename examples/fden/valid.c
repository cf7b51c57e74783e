/* Validation classes held out of `fden train`'s episodes (valid.h). */
#include "valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct val {
	struct fden_dataset *rows; /* the held-out classes' rows (owned) */
	float *ide;                /* their f_ide, rows x ide_dim, sized at the first score */
	size_t ide_dim;
	size_t classes;
	int32_t *excluded; /* the labels training leaves out, sorted (val_excluded) */
	size_t n_excluded;
	struct fden_fewshot_options opt;
	char task[96];
};

size_t val_auto_classes(size_t classes)
{
	size_t n = classes / 10;
	return classes < VAL_AUTO_MIN_CLASSES ? 0 : n > VAL_AUTO_MAX ? VAL_AUTO_MAX
								     : n;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp_i32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;

	return (a > b) - (a < b);
}

int val_open(const char *cmd, const struct fden_dataset *ds, size_t n_classes, uint64_t seed,
	     struct val **out)
{
	int32_t *u = NULL;
	size_t *cnt = NULL, nu = 0, k = 0;
	struct val *v = calloc(1, sizeof *v);
	int rc = 0;

	*out = NULL;
	if (!v || data_unique_labels(ds, &u, &cnt, &nu) ||
	    !(v->excluded = malloc((nu ? nu : 1) * sizeof *v->excluded))) {
		rc = cli_fail(cmd, FDEN_E_NOMEM, "validation classes");
		goto out;
	}
	/* the classes with at least 2 rows (1 shot + 1 query), sorted, and
	 * their row counts, in place; the others are never trained on */
	for (size_t i = 0; i < nu; i++)
		if (u[i] >= 0 && cnt[i] >= 2) {
			u[k] = u[i];
			cnt[k++] = cnt[i];
		} else {
			v->excluded[v->n_excluded++] = u[i];
		}
	if (n_classes < 2 || n_classes + 2 > k) {
		fprintf(stderr,
			"fden: %s: --val-classes %zu: need at least 2 held-out classes and 2 left to "
			"train on; the training data have %zu classes with 2 or more rows\n",
			cmd, n_classes, k);
		rc = EXIT_DATA;
		goto out;
	}
	/* a seeded partial Fisher-Yates shuffle: u[0..n) held out, the rest fit */
	uint64_t s = seed ^ 0x76616c6964ULL; /* "valid": not the episodes' stream */
	for (size_t i = 0; i < n_classes; i++) {
		size_t j = i + (size_t)(splitmix64(&s) % (k - i));
		int32_t t = u[i];
		size_t c = cnt[i];
		u[i] = u[j];
		u[j] = t;
		cnt[i] = cnt[j];
		cnt[j] = c;
	}
	/* the held-out rows are copied (at most VAL_AUTO_MAX classes with auto);
	 * the rest stay where they are: training excludes these classes */
	if ((rc = fden_dataset_select(ds, u, n_classes, &v->rows))) {
		rc = cli_fail(cmd, rc, "holding out %zu validation classes", n_classes);
		goto out;
	}
	memcpy(v->excluded + v->n_excluded, u, n_classes * sizeof *u);
	v->n_excluded += n_classes;
	qsort(v->excluded, v->n_excluded, sizeof *v->excluded, cmp_i32);
	v->classes = n_classes;
	fden_fewshot_options_default(&v->opt);
	v->opt.ways = n_classes < VAL_MAX_WAYS ? n_classes : VAL_MAX_WAYS;
	v->opt.shots = 1;
	/* queries: up to 15, as many as `ways` held-out classes have rows for
	 * besides the shot */
	v->opt.queries = 1;
	for (size_t q = 15; q > 1 && v->opt.queries == 1; q--) {
		size_t enough = 0;
		for (size_t i = 0; i < n_classes; i++)
			enough += cnt[i] >= q + 1;
		if (enough >= v->opt.ways)
			v->opt.queries = q;
	}
	v->opt.episodes = VAL_EPISODES;
	v->opt.seed = seed;
	snprintf(v->task, sizeof v->task, "%zu-way 1-shot %zu-query f_ide over %zu held-out classes",
		 v->opt.ways, v->opt.queries, n_classes);
	*out = v;
	v = NULL;
out:
	val_free(v);
	free(u);
	free(cnt);
	return rc;
}

int val_score(const char *cmd, struct val *v, const struct fden_model *model, double *acc)
{
	size_t n = fden_dataset_size(v->rows), d = fden_model_ide_dim(model);
	struct fden_fewshot_result r;
	int rc;

	if (!v->ide || v->ide_dim != d) {
		free(v->ide);
		v->ide_dim = d;
		if (!(v->ide = malloc(n * d * sizeof *v->ide)))
			return cli_fail(cmd, FDEN_E_NOMEM, "validation factors");
	}
	if ((rc = fden_disentangle(model, fden_dataset_data(v->rows), n, v->ide, NULL)))
		return cli_fail(cmd, rc, "disentangling the validation rows");
	if ((rc = fden_fewshot_eval(v->ide, fden_dataset_labels(v->rows), n, d, &v->opt, &r)))
		return cli_fail(cmd, rc, "scoring the validation classes");
	*acc = r.mean;
	return 0;
}

const char *val_task(const struct val *v)
{
	return v->task;
}

size_t val_classes(const struct val *v)
{
	return v->classes;
}

const int32_t *val_excluded(const struct val *v, size_t *n)
{
	*n = v->n_excluded;
	return v->excluded;
}

void val_free(struct val *v)
{
	if (!v)
		return;
	fden_dataset_free(v->rows);
	free(v->excluded);
	free(v->ide);
	free(v);
}
