/* fden translate: identity/style translation grids (the paper's Figure 4).
 *
 * pair-NNN.png, 5 columns x 6 rows of tiles:
 *   row 0: A, decode(z_A), decode(E(D(z_A))), decode(E(ide_A, sty_B)), decode(E(ide_B, sty_A))
 *   row 1: B, decode(z_B), decode(E(D(z_B))), -, -
 *   row 2: identity t*ide_A + (1-t)*ide_B with sty_A, t = 0, .25, .5, .75, 1
 *   row 3: the same with sty_B
 *   row 4: style t*sty_A + (1-t)*sty_B with ide_A
 *   row 5: the same with ide_B
 * swaps.png: one row per pair: A, B, decode(z_A), decode(E(D(z_A))),
 *   decode(E(ide_A, sty_B)), decode(E(ide_B, sty_A)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grid.h"

#define N_T 5
#define PER_PAIR 26 /* latents decoded per pair: z_A, z_B, 24 entangled */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void lerp(float *out, const float *a, const float *b, double t, size_t d)
{
	for (size_t j = 0; j < d; j++)
		out[j] = (float)(t * a[j] + (1 - t) * b[j]); /* t a + (1 - t) b */
}

static const char legend[] =
	"Translation grids written by `fden translate` (paper, Figure 4).\n\n"
	"pair-NNN.png: 5 columns x 6 rows of tiles, gray gaps (each image pixel drawn as\n"
	"  zoom x zoom pixels, --zoom):\n"
	"  row 1: A | host decode(z_A) | FDEN decode(E(D(z_A))) | decode(E(f_ide A, f_sty B)) | decode(E(f_ide B, f_sty A))\n"
	"  row 2: B | host decode(z_B) | FDEN decode(E(D(z_B))) | (empty) | (empty)\n"
	"  row 3: identity interpolation f_ide = t A + (1-t) B, style of A, t = 0, .25, .5, .75, 1\n"
	"  row 4: the same, style of B\n"
	"  row 5: style interpolation f_sty = t A + (1-t) B, identity of A, t = 0 .. 1\n"
	"  row 6: the same, identity of B\n"
	"swaps.png: one row per pair: A | B | decode(z_A) | decode(E(D(z_A))) | "
	"E(ide A, sty B) | E(ide B, sty A)\n";

int run_translate(const char *cmd, struct fden_model *model, struct fden_invnet *net,
		  const struct fden_dataset *test_z, const struct fden_dataset *test_x,
		  struct translate_args *a)
{
	size_t n = fden_dataset_size(test_z), d = fden_dataset_dim(test_z);
	size_t din = fden_invnet_input_dim(net), P = a->pairs, w = a->width, h = a->height;
	size_t di = fden_model_ide_dim(model), ds = fden_model_sty_dim(model);
	const float *Z = fden_dataset_data(test_z);
	const int32_t *y = fden_dataset_labels(test_z);
	size_t *pa = NULL, *pb = NULL;
	float *zab = NULL, *ide = NULL, *sty = NULL, *ei = NULL, *es = NULL, *zall = NULL,
	      *xall = NULL;
	struct grid g = { 0 }, sw = { 0 };
	char path[4096];
	int rc = 0;

	if (!P)
		return 0;
	if (!w && !h) {
		w = h = (size_t)llround(sqrt((double)din));
		if (w * h != din)
			return cli_usage(cmd, "inputs are %zu wide, not square: give --width and --height",
					 din);
	} else if (w * h != din) {
		return cli_usage(cmd, "--width x --height must be %zu", din);
	}
	size_t zoom = a->zoom ? a->zoom : grid_auto_zoom(w, h);
	a->tile_px = w * zoom;
	a->gap_px = zoom > 1 ? 2 : 1;
	if (d != fden_model_dim(model) || d != fden_invnet_latent_dim(net)) {
		fprintf(stderr, "fden: %s: latent widths differ: data %zu, model %zu, network %zu\n",
			cmd, d, fden_model_dim(model), fden_invnet_latent_dim(net));
		return EXIT_DATA;
	}
	if (data_n_classes(test_z) < 2) {
		fprintf(stderr, "fden: %s: need test rows from at least 2 classes\n", cmd);
		return EXIT_DATA;
	}
	if (cli_mkdirs(a->out_dir)) {
		fprintf(stderr, "fden: %s: cannot create '%s'\n", cmd, a->out_dir);
		return EXIT_FILE;
	}
	pa = malloc(P * sizeof *pa);
	pb = malloc(P * sizeof *pb);
	zab = malloc(2 * P * d * sizeof *zab);
	ide = malloc(2 * P * di * sizeof *ide);
	sty = malloc(2 * P * ds * sizeof *sty);
	ei = malloc(P * 24 * di * sizeof *ei);
	es = malloc(P * 24 * ds * sizeof *es);
	zall = malloc(P * PER_PAIR * d * sizeof *zall);
	xall = malloc(P * PER_PAIR * din * sizeof *xall);
	if (!pa || !pb || !zab || !ide || !sty || !ei || !es || !zall || !xall ||
	    grid_init_zoom(&g, N_T, 6, w, h, zoom) || grid_init_zoom(&sw, 6, P, w, h, zoom)) {
		rc = cli_fail(cmd, FDEN_E_NOMEM, "translation buffers");
		goto out;
	}
	/* pairs from different classes, seeded */
	uint64_t s = a->seed ^ 0x7a11e5ULL;
	for (size_t p = 0; p < P; p++) {
		pa[p] = rng_next(&s) % n;
		do
			pb[p] = rng_next(&s) % n;
		while (y[pb[p]] == y[pa[p]]);
		memcpy(zab + (2 * p) * d, Z + pa[p] * d, d * sizeof *zab);
		memcpy(zab + (2 * p + 1) * d, Z + pb[p] * d, d * sizeof *zab);
	}
	rc = fden_disentangle(model, zab, 2 * P, ide, sty);
	if (rc) {
		rc = cli_fail(cmd, rc, "disentangling");
		goto out;
	}
	/* the 24 entangled latents of each pair */
	for (size_t p = 0; p < P; p++) {
		const float *iA = ide + 2 * p * di, *iB = iA + di, *sA = sty + 2 * p * ds, *sB = sA + ds;
		float *I = ei + p * 24 * di, *S = es + p * 24 * ds;
		size_t k = 0;
#define PUT(i_, s_) (memcpy(I + k * di, i_, di * sizeof *I), memcpy(S + k * ds, s_, ds * sizeof *S), k++)
		PUT(iA, sA);
		PUT(iB, sB);
		PUT(iA, sB);
		PUT(iB, sA);
#undef PUT
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < N_T; c++, k++) {
				double t = 0.25 * c;
				if (r < 2) { /* identity interpolation, style of A (r=0) or B (r=1) */
					lerp(I + k * di, iA, iB, t, di);
					memcpy(S + k * ds, r ? sB : sA, ds * sizeof *S);
				} else { /* style interpolation, identity of A or B */
					memcpy(I + k * di, r == 3 ? iB : iA, di * sizeof *I);
					lerp(S + k * ds, sA, sB, t, ds);
				}
			}
	}
	for (size_t p = 0; p < P; p++) {
		memcpy(zall + p * PER_PAIR * d, zab + 2 * p * d, 2 * d * sizeof *zall);
		rc = fden_entangle(model, ei + p * 24 * di, es + p * 24 * ds, 24,
				   zall + (p * PER_PAIR + 2) * d);
		if (rc) {
			rc = cli_fail(cmd, rc, "entangling");
			goto out;
		}
	}
	rc = fden_invnet_decode(net, zall, P * PER_PAIR, xall);
	if (rc) {
		rc = cli_fail(cmd, rc, "decoding through the network");
		goto out;
	}
	for (size_t p = 0; p < P; p++) {
		const float *X = xall + p * PER_PAIR * din;
		const float *inA = X, *inB = X + din; /* decode(z) unless the images are given */
		if (test_x && fden_dataset_size(test_x) == n && fden_dataset_dim(test_x) == din) {
			inA = fden_dataset_data(test_x) + pa[p] * din;
			inB = fden_dataset_data(test_x) + pb[p] * din;
		}
		const float *E = X + 2 * din; /* entangled: A, B, swap AB, swap BA, 20 interps */
		grid_clear(&g);
		grid_put(&g, 0, 0, inA);
		grid_put(&g, 1, 0, X);
		grid_put(&g, 2, 0, E);
		grid_put(&g, 3, 0, E + 2 * din);
		grid_put(&g, 4, 0, E + 3 * din);
		grid_put(&g, 0, 1, inB);
		grid_put(&g, 1, 1, X + din);
		grid_put(&g, 2, 1, E + din);
		for (size_t r = 0; r < 4; r++)
			for (size_t c = 0; c < N_T; c++)
				grid_put(&g, c, 2 + r, E + (4 + r * N_T + c) * din);
		char name[64];
		snprintf(name, sizeof name, "pair-%03zu.png", p);
		rc = grid_save(&g, cli_path(path, sizeof path, a->out_dir, name));
		if (rc) {
			rc = cli_fail(cmd, rc, "writing '%s'", path);
			goto out;
		}
		grid_put(&sw, 0, p, inA);
		grid_put(&sw, 1, p, inB);
		grid_put(&sw, 2, p, X);
		grid_put(&sw, 3, p, E);
		grid_put(&sw, 4, p, E + 2 * din);
		grid_put(&sw, 5, p, E + 3 * din);
	}
	rc = grid_save(&sw, cli_path(path, sizeof path, a->out_dir, "swaps.png"));
	if (rc) {
		rc = cli_fail(cmd, rc, "writing '%s'", path);
		goto out;
	}
	FILE *f = fopen(cli_path(path, sizeof path, a->out_dir, "README.txt"), "w");
	if (!f || fputs(legend, f) < 0 || fclose(f)) {
		fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, path);
		rc = EXIT_FILE;
		goto out;
	}
	cli_info("fden: %s: %zu grids and swaps.png in %s", cmd, P, a->out_dir);
out:
	grid_free(&g);
	grid_free(&sw);
	free(pa);
	free(pb);
	free(zab);
	free(ide);
	free(sty);
	free(ei);
	free(es);
	free(zall);
	free(xall);
	return rc;
}

int cmd_translate(int argc, char **argv)
{
	const char *model_path = NULL, *net_path = NULL;
	struct translate_args a = { .pairs = 8, .seed = 1, .out_dir = NULL };
	struct data_opts d;
	data_opts_init(&d);
	const struct opt t[] = {
		OPT_MODEL(&model_path, "trained model (required)"),
		OPT_NET(&net_path, "the network the model was trained on (required)"),
		{ .name = "out", .type = OPT_STR, .ptr = &a.out_dir, .arg = "DIR", .help = "output directory (required)" },
		{ .name = "pairs", .type = OPT_SIZE, .ptr = &a.pairs, .arg = "N", .help = "pairs of test images, one grid each", .range = OPT_POSITIVE },
		OPT_SEED(&a.seed, "which pairs"),
		{ .name = "width", .type = OPT_SIZE, .ptr = &a.width, .arg = "W", .help = "image width", .def = "square images", .range = OPT_POSITIVE },
		{ .name = "height", .type = OPT_SIZE, .ptr = &a.height, .arg = "H", .help = "image height", .def = "square images", .range = OPT_POSITIVE },
		{ .name = "zoom", .type = OPT_SIZE, .ptr = &a.zoom, .arg = "N", .help = "draw each image pixel as N x N pixels", .def = "the smallest that makes a tile at least " OPT_STRINGIFY(GRID_MIN_TILE) " pixels", .range = OPT_POSITIVE },
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "translate",
		.synopsis = "--model MODEL --net NET --out DIR (--test-images F --test-labels F | --images F --labels F --split N) [options]",
		.desc = "Write translation grids for pairs (A, B) of test images from different\n"
			"classes: the inputs, the host's and FDEN's reconstructions, swapped factors,\n"
			"and identity and style interpolated as t*f_A + (1-t)*f_B. Grid layout in\n"
			"DIR/README.txt.",
		.opts = t,
		.data = data_opts_table(&d, DATA_TEST),
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (!model_path || !net_path || !a.out_dir)
		return cli_usage(cmd, "--model, --net and --out are required (see 'fden translate --help')");

	struct fden_model *model = NULL;
	struct fden_invnet *net = NULL;
	struct fden_dataset *test = NULL, *test_z = NULL;
	rc = fden_model_load(model_path, NULL, &model);
	if (rc)
		return cli_fail(cmd, rc, "loading model '%s'", model_path);
	if ((rc = fden_invnet_load(net_path, &net))) {
		rc = cli_fail(cmd, rc, "loading network '%s'", net_path);
		goto out;
	}
	if ((rc = data_load(cmd, &d, NULL, &test)))
		goto out;
	if ((rc = data_encode(cmd, net, test, &test_z)))
		goto out;
	rc = run_translate(cmd, model, net, test_z, test, &a);
out:
	fden_dataset_free(test);
	fden_dataset_free(test_z);
	fden_invnet_free(net);
	fden_model_free(model);
	return rc;
}
