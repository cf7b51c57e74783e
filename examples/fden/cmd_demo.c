/* fden demo: the whole pipeline on Fashion-MNIST within a time budget.
 * Fit an autoencoder on the 5 training classes' images, encode, train FDEN
 * (latents standardised inside the model), evaluate 5-way 1-shot and 5-shot
 * (and 20-way 1-shot with 20 or more unseen classes) on the unseen classes,
 * write translation grids. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eval.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* Autoencoder epochs that fit in 30% of the budget (1..10), from one timed
 * epoch on a subset of the rows. */
static int auto_epochs(const char *cmd, const struct fden_dataset *train, struct fit_args *fa,
		       double budget)
{
	size_t n = fden_dataset_size(train), d = fden_dataset_dim(train);
	size_t m = n < 3000 ? n : 3000;
	struct fden_dataset *sub = NULL;
	struct fden_invnet *probe = NULL;
	struct fit_args pa = *fa;
	int rc = fden_dataset_new(fden_dataset_data(train), fden_dataset_labels(train), m, d, &sub);
	if (rc)
		return cli_fail(cmd, rc, "timing the autoencoder");
	pa.epochs = 1;
	pa.out = NULL;
	int q = cli_quiet;
	cli_quiet = 1;
	double t = cli_now();
	rc = run_fit(cmd, sub, &pa, &probe);
	t = cli_now() - t;
	cli_quiet = q;
	fden_invnet_free(probe);
	fden_dataset_free(sub);
	if (rc)
		return rc;
	double epoch = t * (double)n / (double)m; /* seconds per full epoch */
	double e = 0.3 * 60 * budget / (epoch > 1e-3 ? epoch : 1e-3);
	fa->epochs = e < 1 ? 1 : e > 10 ? 10 : (size_t)e;
	cli_info("fden: %s: the autoencoder takes about %.0f s an epoch here: %zu epochs", cmd,
		 epoch, fa->epochs);
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	const char *out = "out/demo", *data = DEFAULT_DATA;
	double budget = 13.0, split = 5, reserve = 1.0; /* minutes kept for eval, grids */
	size_t threads = 1; /* OpenMP BLIS with 2 threads on a busy machine: 4-5x slower */
	struct fit_args fa;
	struct train_args ta;
	struct ev_options eo;
	struct translate_args xa = { .pairs = 8, .seed = 1 };
	fit_args_default(&fa);
	fa.epochs = 0; /* auto */
	train_args_default(&ta);
	ev_options_default(&eo);
	ta.minutes = -1;
	const struct opt t[] = {
		{ .name = "out", .type = OPT_STR, .ptr = &out, .arg = "DIR",
		  .help = "where everything goes" },
		{ .name = "data", .type = OPT_STR, .ptr = &data, .arg = "DIR",
		  .help = "Fashion-MNIST IDX files" },
		{ .name = "split", .type = OPT_DBL, .ptr = &split, .arg = "N",
		  .help = "classes < N train, the rest are unseen" },
		{ .name = "budget", .type = OPT_DBL, .ptr = &budget, .arg = "M",
		  .help = "minutes for the whole run; FDEN trains for what is left" },
		{ .name = "minutes", .type = OPT_DBL, .ptr = &ta.minutes, .arg = "M",
		  .help = "FDEN training minutes", .def = "what the budget leaves" },
		{ .name = "steps", .type = OPT_U64, .ptr = &ta.steps, .arg = "N",
		  .help = "also stop FDEN training at N steps (0: no limit)" },
		{ .name = "kind", .type = OPT_STR, .ptr = &fa.kind, .arg = "ae|pca",
		  .help = "invertible network" },
		{ .name = "latent", .type = OPT_SIZE, .ptr = &fa.latent, .arg = "N",
		  .help = "latent width Dim" },
		{ .name = "hidden", .type = OPT_SIZE, .ptr = &fa.hidden, .arg = "N",
		  .help = "autoencoder hidden width" },
		{ .name = "ae-epochs", .type = OPT_SIZE, .ptr = &fa.epochs, .arg = "N",
		  .help = "autoencoder epochs",
		  .def = "as many as fit in 30% of the budget, at most 10" },
		{ .name = "preset", .type = OPT_STR, .ptr = &ta.preset, .arg = "NAME",
		  .help = "FDEN configuration: default or paper" },
		{ .name = "set", .type = OPT_CALL, .arg = "KEY=VALUE",
		  .help = "FDEN configuration key (repeatable)", .call = train_args_add_set,
		  .ctx = &ta },
		{ .name = "ways", .type = OPT_SIZE, .ptr = &ta.ways, .arg = "C",
		  .help = "training episode classes (0: " OPT_STRINGIFY(TRAIN_AUTO_WAYS)
			  ", or all when fewer)" },
		{ .name = "shots", .type = OPT_SIZE, .ptr = &ta.shots, .arg = "K",
		  .help = "training episode shots" },
		{ .name = "queries", .type = OPT_SIZE, .ptr = &ta.queries, .arg = "Q",
		  .help = "training episode queries per class" },
		{ .name = "eval-episodes", .type = OPT_SIZE, .ptr = &eo.episodes, .arg = "N",
		  .help = "evaluation episodes per task" },
		{ .name = "pairs", .type = OPT_SIZE, .ptr = &xa.pairs, .arg = "N",
		  .help = "translation grids" },
		OPT_SEED(&ta.seed, "seed of everything"),
		OPT_THREADS(&threads, "BLIS threads (2 helps only on an idle machine)"),
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "demo",
		.synopsis = "[options]",
		.desc = "The whole pipeline on Fashion-MNIST (Debian package dataset-fashion-mnist):\n"
			"fit an autoencoder on the images of the training classes, encode, train FDEN\n"
			"on their latents (standardised per dimension), evaluate 5-way 1-shot,\n"
			"5-way 5-shot and (with 20 or more unseen classes) 20-way 1-shot on the\n"
			"unseen classes of the test split (table, eval.json), write\n"
			"translation grids (grids/). With the defaults it finishes in under 15\n"
			"minutes on 2 cores.\n\n"
			"Outputs in DIR: net.fden (autoencoder), model.fden (FDEN), train-log.csv,\n"
			"eval.txt, eval.json, grids/*.png, summary.txt.\n\n"
			"Any IDX data set laid out the same way works: --data DIR with\n"
			"train-images/-labels and t10k- (or test-) images/labels, --split N. The\n"
			"glyph set of scripts/make-glyphs.py: --data data/glyphs --split 1106.",
		.opts = t,
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	double t0 = cli_now();
	char p_net[4096], p_model[4096], p_csv[4096], p_json[4096], p_txt[4096], p_grid[4096],
		p_sum[4096];
	char f_tri[4096], f_trl[4096], f_tei[4096], f_tel[4096];
	if (cli_mkdirs(out)) {
		fprintf(stderr, "fden: %s: cannot create '%s': %s\n", cmd, out, strerror(errno));
		return EXIT_FILE;
	}
	struct data_opts d;
	data_opts_init(&d);
	d.train_images = cli_path(f_tri, sizeof f_tri, data, "train-images-idx3-ubyte.gz");
	d.train_labels = cli_path(f_trl, sizeof f_trl, data, "train-labels-idx1-ubyte.gz");
	d.test_images = cli_path(f_tei, sizeof f_tei, data, "t10k-images-idx3-ubyte.gz");
	d.test_labels = cli_path(f_tel, sizeof f_tel, data, "t10k-labels-idx1-ubyte.gz");
	if (access(d.test_images, F_OK) != 0) { /* scripts/make-glyphs.py names them test-* */
		d.test_images = cli_path(f_tei, sizeof f_tei, data, "test-images-idx3-ubyte.gz");
		d.test_labels = cli_path(f_tel, sizeof f_tel, data, "test-labels-idx1-ubyte.gz");
	}
	d.split = split;
	fa.seed = ta.seed;
	fa.threads = ta.threads = threads;
	fa.out = cli_path(p_net, sizeof p_net, out, "net.fden");
	ta.out = cli_path(p_model, sizeof p_model, out, "model.fden");
	ta.log_csv = cli_path(p_csv, sizeof p_csv, out, "train-log.csv");
	eo.seed = ta.seed;
	xa.seed = ta.seed;
	xa.out_dir = cli_path(p_grid, sizeof p_grid, out, "grids");

	struct fden_dataset *train = NULL, *test = NULL, *train_z = NULL, *test_z = NULL;
	struct fden_invnet *net = NULL;
	struct fden_model *model = NULL;
	struct ev_report r;
	double t_fit = 0, t_train = 0, t_eval = 0, t_tr = 0, ts;

	cli_info("fden: %s: [1/5] loading Fashion-MNIST from %s", cmd, data);
	if ((rc = data_load(cmd, &d, &train, &test))) {
		if (rc == EXIT_FILE)
			fprintf(stderr, "fden: %s: install the data with: apt-get install "
					"dataset-fashion-mnist (or give --data DIR)\n", cmd);
		return rc;
	}
	cli_info("fden: %s: %zu training rows (classes < %g), %zu test rows of unseen classes", cmd,
		 fden_dataset_size(train), split, fden_dataset_size(test));
	cli_info("fden: %s: [2/5] fitting the invertible network on the training classes", cmd);
	ts = cli_now();
	if (!strcmp(fa.kind, "ae") && !fa.epochs && (rc = auto_epochs(cmd, train, &fa, budget)))
		goto out;
	if ((rc = run_fit(cmd, train, &fa, &net)))
		goto out;
	t_fit = cli_now() - ts;
	if ((rc = data_encode(cmd, net, train, &train_z)) ||
	    (rc = data_encode(cmd, net, test, &test_z)))
		goto out;
	if (ta.minutes < 0) {
		double left = budget - (cli_now() - t0) / 60 - reserve;
		ta.minutes = left > 0.5 ? left : 0.5;
	}
	cli_info("fden: %s: [3/5] training FDEN for %.1f minutes", cmd, ta.minutes);
	ts = cli_now();
	if ((rc = run_train(cmd, train_z, &ta, &model)))
		goto out;
	t_train = cli_now() - ts;
	cli_info("fden: %s: [4/5] evaluating on the unseen classes", cmd);
	ts = cli_now();
	eo.train_z = train_z;
	rc = ev_run(model, net, test_z, test, &eo, &r);
	if (rc) {
		fprintf(stderr, "fden: %s: evaluation: %s\n", cmd, ev_last_error());
		rc = cli_exit_code(rc);
		goto out;
	}
	t_eval = cli_now() - ts;
	if ((rc = eval_report(cmd, &r, cli_path(p_json, sizeof p_json, out, "eval.json"),
			      cli_path(p_txt, sizeof p_txt, out, "eval.txt"))))
		goto out;
	cli_info("fden: %s: [5/5] translation grids", cmd);
	ts = cli_now();
	if ((rc = run_translate(cmd, model, net, test_z, test, &xa)))
		goto out;
	t_tr = cli_now() - ts;
	FILE *f = fopen(cli_path(p_sum, sizeof p_sum, out, "summary.txt"), "w");
	for (int k = 0; k < 2; k++) {
		FILE *o = k ? f : stdout;
		if (!o)
			continue;
		fprintf(o, "\nfden demo: total %.1f min (fit %.1f s, FDEN training %.1f s for %llu "
			   "steps, evaluation %.1f s, grids %.1f s), %zu BLIS threads\n",
			(cli_now() - t0) / 60, t_fit, t_train,
			(unsigned long long)fden_model_step(model), t_eval, t_tr, threads);
		fprintf(o, "outputs in %s: net.fden model.fden train-log.csv eval.txt eval.json "
			   "grids/ summary.txt\n", out);
	}
	if (!f || fclose(f)) {
		fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, p_sum);
		rc = EXIT_FILE;
	}
out:
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(train_z);
	fden_dataset_free(test_z);
	fden_invnet_free(net);
	fden_model_free(model);
	return rc;
}
