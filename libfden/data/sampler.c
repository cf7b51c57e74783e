/* Seeded C-way K-shot Q-query episode sampler. Per episode: `ways` distinct
 * classes among those with >= shots+queries rows (less any the caller
 * excludes), then shots+queries distinct rows of each, both by partial
 * Fisher-Yates on the sampler's own index arrays (uniform whatever order
 * earlier episodes left them in). The classes and rows are taken in label
 * order, then row order: excluding classes draws what a sampler of a copy
 * without them (fden_dataset_select) draws, with the same seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/sampler.h"
#include "kernels/rng.h"

struct fden_sampler {
	const struct fden_dataset *ds; /* borrowed */
	size_t ways, shots, queries;
	struct fd_rng rng;
	size_t n_classes;      /* eligible classes */
	int32_t *class_id;     /* n_classes original labels */
	size_t *start, *count; /* each class's slice of rows[] */
	size_t *rows;          /* row indices grouped by class */
	size_t *rows0;         /* their first arrangement (fden_sampler_reset) */
	size_t nrows;
	size_t *order; /* a permutation of 0..n_classes-1 */
	size_t *draw;  /* one episode's rows (fden_sampler_next) */
};

struct lab_row {
	int32_t label;
	size_t row;
};

static int cmp_lab_row(const void *a, const void *b)
{
	const struct lab_row *x = a, *y = b;

	if (x->label != y->label)
		return (x->label > y->label) - (x->label < y->label);
	return (x->row > y->row) - (x->row < y->row);
}

FDEN_EXPORT void fden_sampler_free(struct fden_sampler *s)
{
	if (!s)
		return;
	fd_free(NULL, s->class_id);
	fd_free(NULL, s->start);
	fd_free(NULL, s->count);
	fd_free(NULL, s->rows);
	fd_free(NULL, s->rows0);
	fd_free(NULL, s->order);
	fd_free(NULL, s->draw);
	fd_free(NULL, s);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* fden_sampler_new_except(); fn names the public call in messages, excl
 * (sorted) the n_excl labels never drawn. */
static int sampler_build(const char *fn, const struct fden_dataset *ds, size_t ways,
			 size_t shots, size_t queries, uint64_t seed, const int32_t *excl,
			 size_t n_excl, struct fden_sampler **out)
{
	struct fden_sampler *s = NULL;
	struct lab_row *lr = NULL;
	size_t per, ep, i, j, nc = 0, nr = 0, total_c = 0, gone = 0;
	int st;

	if (shots > SIZE_MAX - queries || fd_mul_overflow(ways, shots + queries, &ep))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: episode size overflows", fn);
	if (ds->n > UINT32_MAX)
		return fd_err_set(NULL, FDEN_E_UNSUPPORTED,
				  "%s: %zu rows (at most 2^32-1 supported)", fn, ds->n);
	per = shots + queries;
	lr = fd_malloc(NULL, ds->n * sizeof *lr);
	if (!lr)
		return fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory", fn);
	for (i = 0; i < ds->n; i++) {
		lr[i].label = ds->labels[i];
		lr[i].row = i;
	}
	qsort(lr, ds->n, sizeof *lr, cmp_lab_row);
	/* count eligible classes and their rows; an excluded class is a run
	 * of rows to skip, as one with too few rows is */
	for (i = 0; i < ds->n; i = j) {
		for (j = i; j < ds->n && lr[j].label == lr[i].label; j++)
			;
		total_c++;
		if (n_excl && bsearch(&lr[i].label, excl, n_excl, sizeof *excl, cmp_i32)) {
			gone++;
			continue;
		}
		if (j - i >= per) {
			nc++;
			nr += j - i;
		}
	}
	if (nc < ways) {
		char also[64] = "";
		if (gone)
			snprintf(also, sizeof also, " (%zu excluded)", gone);
		st = fd_err_set(NULL, FDEN_E_INVALID,
				"%s: %zu ways asked, but only %zu of %zu classes%s have %zu rows "
				"(shots + queries)",
				fn, ways, nc, total_c, also, per);
		goto fail;
	}
	s = fd_calloc(NULL, 1, sizeof *s);
	if (!s)
		goto nomem;
	s->class_id = fd_malloc(NULL, nc * sizeof *s->class_id);
	s->start = fd_malloc(NULL, nc * sizeof *s->start);
	s->count = fd_malloc(NULL, nc * sizeof *s->count);
	s->order = fd_malloc(NULL, nc * sizeof *s->order);
	s->rows = fd_malloc(NULL, nr * sizeof *s->rows);
	s->rows0 = fd_malloc(NULL, nr * sizeof *s->rows0);
	s->draw = fd_malloc(NULL, ep * sizeof *s->draw);
	if (!s->class_id || !s->start || !s->count || !s->order || !s->rows || !s->rows0 ||
	    !s->draw)
		goto nomem;
	nc = nr = 0;
	for (i = 0; i < ds->n; i = j) {
		for (j = i; j < ds->n && lr[j].label == lr[i].label; j++)
			;
		if (j - i < per ||
		    (n_excl && bsearch(&lr[i].label, excl, n_excl, sizeof *excl, cmp_i32)))
			continue; /* never drawn */
		s->class_id[nc] = lr[i].label;
		s->start[nc] = nr;
		s->count[nc] = j - i;
		s->order[nc] = nc;
		for (; i < j; i++)
			s->rows[nr++] = lr[i].row;
		nc++;
	}
	fd_free(NULL, lr);
	memcpy(s->rows0, s->rows, nr * sizeof *s->rows0);
	s->nrows = nr;
	s->ds = ds;
	s->ways = ways;
	s->shots = shots;
	s->queries = queries;
	s->n_classes = nc;
	fd_rng_seed(&s->rng, seed);
	*out = s;
	return FDEN_OK;
nomem:
	st = fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory", fn);
fail:
	fd_free(NULL, lr);
	fden_sampler_free(s);
	return st;
}

FDEN_EXPORT int fden_sampler_new(const struct fden_dataset *ds, size_t ways, size_t shots,
				 size_t queries, uint64_t seed, struct fden_sampler **out)
{
	if (!ds || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_sampler_new: ds or out is NULL");
	if (ways == 0 || shots == 0)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_sampler_new: ways (%zu) and shots (%zu) must be >= 1", ways,
				  shots);
	return sampler_build("fden_sampler_new", ds, ways, shots, queries, seed, NULL, 0, out);
}

FDEN_EXPORT int fden_sampler_new_except(const struct fden_dataset *ds, size_t ways,
					size_t shots, size_t queries, uint64_t seed,
					const int32_t *exclude, size_t n_exclude,
					struct fden_sampler **out)
{
	static const char fn[] = "fden_sampler_new_except";
	int32_t *excl = NULL;
	int st;

	if (!ds || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: ds or out is NULL", fn);
	if (!exclude && n_exclude)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: exclude is NULL but n_exclude is %zu",
				  fn, n_exclude);
	if (ways == 0 || shots == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: ways (%zu) and shots (%zu) must be >= 1",
				  fn, ways, shots);
	if (n_exclude) { /* a sorted copy: the caller's order and duplicates do not matter */
		if (fd_mul_overflow(n_exclude, sizeof *excl, &(size_t){ 0 }))
			return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: %zu excluded classes overflow",
					  fn, n_exclude);
		excl = fd_malloc(NULL, n_exclude * sizeof *excl);
		if (!excl)
			return fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory", fn);
		memcpy(excl, exclude, n_exclude * sizeof *excl);
		qsort(excl, n_exclude, sizeof *excl, cmp_i32);
	}
	st = sampler_build(fn, ds, ways, shots, queries, seed, excl, n_exclude, out);
	fd_free(NULL, excl);
	return st;
}

FDEN_EXPORT int fden_sampler_reset(struct fden_sampler *s, uint64_t seed)
{
	if (!s)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_sampler_reset: sampler is NULL");
	/* the draws permute order[] and rows[] in place: undo that, then reseed */
	for (size_t c = 0; c < s->n_classes; c++)
		s->order[c] = c;
	memcpy(s->rows, s->rows0, s->nrows * sizeof *s->rows);
	fd_rng_seed(&s->rng, seed);
	return FDEN_OK;
}

/* Swap a[k] with a uniformly chosen a[k..n). */
static void fy_step(struct fd_rng *r, size_t *a, size_t k, size_t n)
{
	size_t j = k + fd_rng_below(r, (uint32_t)(n - k)), t = a[k];

	a[k] = a[j];
	a[j] = t;
}

void fd_sampler_draw_rows(struct fden_sampler *s, size_t *rows, int32_t *classes)
{
	size_t per = s->shots + s->queries;

	for (size_t c = 0; c < s->ways; c++)
		fy_step(&s->rng, s->order, c, s->n_classes); /* class c of the episode */
	for (size_t c = 0; c < s->ways; c++) {
		size_t k = s->order[c];
		size_t *r = s->rows + s->start[k];

		if (classes)
			classes[c] = s->class_id[k];
		for (size_t t = 0; t < per; t++) {
			fy_step(&s->rng, r, t, s->count[k]); /* row t of class c */
			rows[t < s->shots ? c * s->shots + t /* support block */
					  : s->ways * s->shots + c * s->queries + (t - s->shots)] = r[t];
		}
	}
}

size_t fd_sampler_classes(const struct fden_sampler *s)
{
	return s->n_classes;
}

FDEN_EXPORT int fden_sampler_next(struct fden_sampler *s, size_t n_episodes, float *x,
				  int32_t *labels, int32_t *classes)
{
	size_t e, c, t, rows_ep, dim, n;
	size_t *rows = s ? s->draw : NULL;

	if (!s || !x || !labels)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_sampler_next: NULL argument");
	if (n_episodes == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_sampler_next: n_episodes is 0");
	rows_ep = s->ways * (s->shots + s->queries);
	dim = s->ds->dim;
	if (fd_mul_overflow(n_episodes, rows_ep, &n) || fd_mul_overflow(n, dim, &n))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_sampler_next: %zu episodes overflow",
				  n_episodes);
	for (e = 0; e < n_episodes; e++) {
		float *xe = x + e * rows_ep * dim;
		int32_t *le = labels + e * rows_ep;

		fd_sampler_draw_rows(s, rows, classes ? classes + e * s->ways : NULL);
		for (t = 0; t < rows_ep; t++) {
			memcpy(xe + t * dim, s->ds->x + rows[t] * dim, dim * sizeof *x);
			/* support block first (class c at c*shots..), then the queries */
			c = t < s->ways * s->shots ? t / s->shots
						   : (t - s->ways * s->shots) / (s->queries ? s->queries : 1);
			le[t] = (int32_t)c;
		}
	}
	return FDEN_OK;
}
