/* Data options: which files hold the training and test rows, and which
 * classes go where. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void data_opts_init(struct data_opts *d)
{
	memset(d, 0, sizeof *d);
	d->split = -1;
	d->scale = -1;
}

const struct opt *data_opts_table(struct data_opts *d, unsigned parts)
{
	const struct {
		unsigned parts;
		struct opt o;
	} all[] = {
		{ DATA_TRAIN, { .name = "train-images", .type = OPT_STR, .ptr = &d->train_images, .arg = "FILE", .help = "training rows: IDX (.gz ok) or .npy; images, "
															 "or latents when no network is used" } },
		{ DATA_TRAIN, { .name = "train-labels", .type = OPT_STR, .ptr = &d->train_labels, .arg = "FILE", .help = "labels of --train-images" } },
		{ DATA_TEST, { .name = "test-images", .type = OPT_STR, .ptr = &d->test_images, .arg = "FILE", .help = "test rows (unseen classes)" } },
		{ DATA_TEST, { .name = "test-labels", .type = OPT_STR, .ptr = &d->test_labels, .arg = "FILE", .help = "labels of --test-images" } },
		{ DATA_BOTH, { .name = "images", .type = OPT_STR, .ptr = &d->images, .arg = "FILE", .help = "one set for both, divided by --split or class lists" } },
		{ DATA_BOTH, { .name = "labels", .type = OPT_STR, .ptr = &d->labels, .arg = "FILE", .help = "labels of --images" } },
		{ DATA_BOTH, { .name = "split", .type = OPT_DBL, .ptr = &d->split, .arg = "N", .help = "classes < N train, the others test", .def = "", .range = OPT_NONNEGATIVE } },
		{ DATA_BOTH, { .name = "train-classes", .type = OPT_STR, .ptr = &d->train_classes, .arg = "LIST", .help = "training classes, e.g. 0,1,2 or 0-4" } },
		{ DATA_BOTH, { .name = "test-classes", .type = OPT_STR, .ptr = &d->test_classes, .arg = "LIST", .help = "test classes", .def = "the ones not trained on" } },
		{ DATA_BOTH, { .name = "scale", .type = OPT_DBL, .ptr = &d->scale, .arg = "S", .help = "multiply IDX values by S", .def = "1/255 for IDX images, 1 for latents and .npy", .range = OPT_POSITIVE } },
	};
	size_t k = 0;
	_Static_assert(sizeof all / sizeof all[0] < sizeof d->table / sizeof d->table[0],
		       "struct data_opts: table too small");
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i].parts & parts)
			d->table[k++] = all[i].o;
	d->table[k] = (struct opt)OPT_END;
	return d->table;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int data_load_file(const char *x_path, const char *labels_path, double scale,
		   struct fden_dataset **out)
{
	if (ends_with(x_path, ".npy"))
		return fden_dataset_load_npy(x_path, labels_path, out);
	return fden_dataset_load_idx(x_path, labels_path, scale < 0 ? 1.0 / 255.0 : scale, out);
}

/* A class list "0,1,5-9" as ranges, never expanded: "0-2147483647" is one
 * range. At most one range per comma, so bounded by the text. */
struct class_range {
	int32_t lo, hi;
};

static int parse_ranges(const char *s, struct class_range **out, size_t *n)
{
	size_t k = 0, cap = 1;
	for (const char *q = s; *q; q++)
		cap += *q == ',';
	struct class_range *v = malloc(cap * sizeof *v);
	if (!v)
		return -1;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long a = strtol(p, &end, 10), b;
		if (end == p || errno || a < 0 || a > INT32_MAX)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || errno || b < a || b > INT32_MAX)
				goto bad;
			p = end;
		}
		if (k == cap)
			goto bad;
		v[k].lo = (int32_t)a;
		v[k].hi = (int32_t)b;
		k++;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	if (!k)
		goto bad;
	*out = v;
	*n = k;
	return 0;
bad:
	free(v);
	return -1;
}

static int in_ranges(int32_t c, const struct class_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c >= r[i].lo && c <= r[i].hi)
			return 1;
	return 0;
}

static int cmp_i32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

int data_unique_labels(const struct fden_dataset *ds, int32_t **u_out, size_t **cnt_out,
		       size_t *n_out)
{
	size_t n = fden_dataset_size(ds), k = 0;
	int32_t *u = malloc((n ? n : 1) * sizeof *u);
	size_t *cnt = malloc((n ? n : 1) * sizeof *cnt);
	if (!u || !cnt) {
		free(u);
		free(cnt);
		return -1;
	}
	if (n)
		memcpy(u, fden_dataset_labels(ds), n * sizeof *u);
	qsort(u, n, sizeof *u, cmp_i32);
	for (size_t i = 0; i < n; i++) {
		if (!k || u[k - 1] != u[i]) {
			u[k] = u[i];
			cnt[k++] = 0;
		}
		cnt[k - 1]++;
	}
	*u_out = u;
	*n_out = k;
	if (cnt_out)
		*cnt_out = cnt;
	else
		free(cnt);
	return 0;
}

size_t data_classes_with(const struct fden_dataset *ds, size_t need)
{
	int32_t *u;
	size_t *cnt, n, k = 0;
	if (data_unique_labels(ds, &u, &cnt, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		k += u[i] >= 0 && cnt[i] >= need;
	free(u);
	free(cnt);
	return k;
}

size_t data_n_classes(const struct fden_dataset *ds)
{
	return data_classes_with(ds, 1);
}

/* The classes present in ds that are (keep = 1) or are not (keep = 0) in
 * the ranges: at most one per distinct label of the data. */
static int classes_of(const struct fden_dataset *ds, const struct class_range *r, size_t nr,
		      int keep, int32_t **out, size_t *n_out)
{
	int32_t *u;
	size_t n, k = 0;
	if (data_unique_labels(ds, &u, NULL, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (u[i] >= 0 && in_ranges(u[i], r, nr) == keep)
			u[k++] = u[i];
	*out = u;
	*n_out = k;
	return 0;
}

/* Keep the rows of *ds whose classes the options give for `which`
 * (0 train, 1 test). */
static int restrict_rows(const char *cmd, const struct data_opts *d, int which,
			 struct fden_dataset **ds)
{
	const char *list = which ? d->test_classes : d->train_classes;
	const char *other = which ? d->train_classes : d->test_classes;
	int32_t *cls = NULL;
	size_t n_cls = 0;
	struct fden_dataset *sel = NULL;
	int rc;

	if (list || (other && d->split < 0)) {
		const char *text = list ? list : other;
		struct class_range *r;
		size_t nr;
		if (parse_ranges(text, &r, &nr))
			return cli_usage(cmd, "bad class list '%s' (use e.g. 0,1,2 or 0-4)", text);
		rc = classes_of(*ds, r, nr, list != NULL, &cls, &n_cls);
		free(r);
		if (rc)
			return cli_fail(cmd, FDEN_E_NOMEM, "class list");
		if (!n_cls) {
			free(cls);
			fprintf(stderr, "fden: %s: no %s rows: the data have no class %s '%s'\n", cmd,
				which ? "test" : "training", list ? "in" : "outside", text);
			return EXIT_DATA;
		}
	} else if (d->split >= 0) {
		struct fden_dataset *a = NULL, *b = NULL;
		if (d->split != floor(d->split) || d->split > INT32_MAX)
			return cli_usage(cmd, "--split needs a whole number");
		{ /* separate files already on the wanted side (the glyph set): keep them */
			const int32_t *l = fden_dataset_labels(*ds);
			size_t nr = fden_dataset_size(*ds), i;
			for (i = 0; i < nr && (which ? l[i] >= d->split : l[i] < d->split); i++)
				;
			if (i == nr)
				goto check;
		}
		rc = fden_dataset_split(*ds, (int32_t)d->split, &a, &b);
		if (rc)
			return cli_fail(cmd, rc, "splitting classes at %g", d->split);
		fden_dataset_free(*ds);
		if (which) {
			fden_dataset_free(a);
			*ds = b;
		} else {
			fden_dataset_free(b);
			*ds = a;
		}
		goto check;
	} else {
		return 0; /* all rows */
	}
	rc = fden_dataset_select(*ds, cls, n_cls, &sel);
	free(cls);
	if (rc)
		return cli_fail(cmd, rc, "selecting %s classes", which ? "test" : "training");
	fden_dataset_free(*ds);
	*ds = sel;
check:
	if (fden_dataset_size(*ds) == 0)
		return cli_usage(cmd, "no %s rows left after the class split",
				 which ? "test" : "training");
	return 0;
}

static int load_part(const char *cmd, const struct data_opts *d, int which,
		     struct fden_dataset **out)
{
	const char *x = which ? d->test_images : d->train_images;
	const char *y = which ? d->test_labels : d->train_labels;
	int one_set = d->images != NULL;
	int rc;

	if (one_set) {
		x = d->images;
		y = d->labels;
		if (d->split < 0 && !d->train_classes && !d->test_classes)
			return cli_usage(cmd, "--images needs --split N or --train-classes/--test-classes");
	}
	if (!x)
		return cli_usage(cmd, "no %s data: give --%s-images (or --images with --split)",
				 which ? "test" : "training", which ? "test" : "train");
	if (!y)
		return cli_usage(cmd, "no labels for '%s': give --%s", x,
				 one_set ? "labels" : which ? "test-labels"
							    : "train-labels");
	rc = data_load_file(x, y, d->scale, out);
	if (rc)
		return cli_fail(cmd, rc, "loading '%s'", x);
	rc = data_check_finite(cmd, x, *out);
	if (!rc)
		rc = restrict_rows(cmd, d, which, out);
	if (rc) {
		fden_dataset_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Index of the first value of x[0..n) that is not finite, or n. Each block's
 * exponents are OR-ed without a branch (the compiler vectorises it; a 2.4 GB
 * set scans at memory speed), a block with a hit is searched. */
static size_t first_nonfinite(const float *x, size_t n)
{
	const size_t block = 4096;
	for (size_t i = 0; i < n; i += block) {
		size_t b = n - i < block ? n - i : block;
		uint32_t hit = 0;
		for (size_t k = 0; k < b; k++) {
			uint32_t u;
			memcpy(&u, x + i + k, sizeof u);
			hit |= (u & 0x7f800000u) == 0x7f800000u; /* exponent all ones: inf or NaN */
		}
		for (size_t k = 0; hit && k < b; k++)
			if (!isfinite(x[i + k]))
				return i + k;
	}
	return n;
}

int data_check_finite(const char *cmd, const char *what, const struct fden_dataset *ds)
{
	size_t n = fden_dataset_size(ds), dim = fden_dataset_dim(ds);
	const float *x = fden_dataset_data(ds);
	size_t i = first_nonfinite(x, n * dim);
	if (i == n * dim)
		return 0;
	fprintf(stderr, "fden: %s: '%s': row %zu, column %zu is %s (the data must be finite)\n",
		cmd, what, i / dim, i % dim, isnan(x[i]) ? "NaN" : "infinite");
	return EXIT_DATA;
}

int data_load(const char *cmd, const struct data_opts *d, struct fden_dataset **train,
	      struct fden_dataset **test)
{
	int rc;
	if (d->images && (d->train_images || d->test_images))
		return cli_usage(cmd, "give either --images or --train-images/--test-images, not both");
	if (train) {
		*train = NULL;
		if ((rc = load_part(cmd, d, 0, train)))
			return rc;
	}
	if (test) {
		*test = NULL;
		if ((rc = load_part(cmd, d, 1, test))) {
			if (train) {
				fden_dataset_free(*train);
				*train = NULL;
			}
			return rc;
		}
	}
	return 0;
}

int data_encode(const char *cmd, struct fden_invnet *net, const struct fden_dataset *images,
		struct fden_dataset **out)
{
	size_t n = fden_dataset_size(images), din = fden_dataset_dim(images);
	size_t dz = fden_invnet_latent_dim(net);
	const float *x = fden_dataset_data(images);
	int rc;

	if (din != fden_invnet_input_dim(net)) {
		fprintf(stderr, "fden: %s: encoding: rows are %zu wide but the network takes %zu\n",
			cmd, din, fden_invnet_input_dim(net));
		return EXIT_DATA;
	}
	float *z = malloc(n * dz * sizeof *z + 1);
	if (!z)
		return cli_fail(cmd, FDEN_E_NOMEM, "encoding %zu rows", n);
	for (size_t i = 0; i < n; i += 1024) {
		size_t m = n - i < 1024 ? n - i : 1024;
		rc = fden_invnet_encode(net, x + i * din, m, z + i * dz);
		if (rc) {
			free(z);
			return cli_fail(cmd, rc, "encoding rows %zu..%zu", i, i + m);
		}
	}
	rc = fden_dataset_new(z, fden_dataset_labels(images), n, dz, out);
	free(z);
	if (rc)
		return cli_fail(cmd, rc, "latent data set");
	rc = data_check_finite(cmd, "the network's latents", *out);
	if (rc) {
		fden_dataset_free(*out);
		*out = NULL;
	}
	return rc;
}
