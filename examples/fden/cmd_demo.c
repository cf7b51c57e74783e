/* fden demo: the whole pipeline within a time budget, on a many-class set by
 * default (the printed-glyph set of scripts/make-glyphs.py), Fashion-MNIST
 * one option away. Fit the host network (on the training classes, or on
 * every training-split image without labels), encode, train FDEN (latents
 * standardised inside the model), evaluate 5-way 1-shot, 5-way 5-shot and
 * 20-way 1-shot on the unseen classes against the strongest raw-latent
 * baseline, write zoomed translation grids, the training curves, the t-SNE
 * figure (when Python's scikit-learn and matplotlib are there) and
 * report.html. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "eval.h"
#include "grid.h"
#include "plot.h"
#include "report.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define GLYPHS_DIR "data/glyphs"
/* The host network of the demo (`--kind`): the convolutional autoencoder. */
#define DEMO_HOST "conv"
#define FEW_CLASSES 50 /* fewer training classes than this: the report warns */

/* Autoencoder epochs that fit in `share` of the budget (1..10), from one
 * timed epoch on a subset of the rows. */
static int auto_epochs(const char *cmd, const struct fden_dataset *train, struct fit_args *fa,
		       double budget, double share)
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
	pa.json = NULL;
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
	double e = share * 60 * budget / (epoch > 1e-3 ? epoch : 1e-3);
	fa->epochs = e < 1 ? 1 : e > 10 ? 10
					: (size_t)e;
	cli_info("fden: %s: the autoencoder takes about %.0f s an epoch here: %zu epochs", cmd,
		 epoch, fa->epochs);
	return 0;
}

/* The first test class of a generated set: the "train" rows of classes.tsv
 * (label, code point, char, name, block, faces, split); -1 when absent. */
static double split_from_tsv(const char *dir)
{
	char path[4096], line[1024];
	FILE *f = fopen(cli_path(path, sizeof path, dir, "classes.tsv"), "r");
	if (!f)
		return -1;
	double n = 0;
	int first = 1;
	while (fgets(line, sizeof line, f)) {
		if (first) { /* header */
			first = 0;
			continue;
		}
		char *tab = strrchr(line, '\t');
		if (tab && !strncmp(tab + 1, "train", 5))
			n++;
	}
	fclose(f);
	return n > 0 ? n : -1;
}

/* Start argv (NULL-terminated) with stdout and stderr to log_path; the
 * child's pid, or -1. */
static pid_t start_child(char *const *argv, const char *log_path)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *l = log_path ? freopen(log_path, "w", stdout) : NULL;
		if (l)
			dup2(fileno(stdout), 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Its exit status, or -1. */
static int wait_child(pid_t pid)
{
	int st = 0;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The Python interpreter for the t-SNE figure: $FDEN_PYTHON, else Debian's
 * /usr/bin/python3 (where python3-sklearn installs), else python3. */
static const char *python(void)
{
	const char *p = getenv("FDEN_PYTHON");
	if (p && *p)
		return p;
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

#define TSNE_NO_MODULES 3 /* the child's exit status when an import fails */

/* The t-SNE figure: examples/python/tsne_figure.py started in the
 * background (it runs while the evaluation does); -1 with the reason in why
 * when it cannot start. */
static pid_t tsne_start(const char *script, const char *out, const struct data_opts *d,
			int glyphs, char *why, size_t n)
{
	static char model[4096], net[4096], png[4096], log[4096], code[256];
	const char *py = python();
	if (!script || access(script, R_OK) != 0) {
		snprintf(why, n, "the script %.300s is not here (run from the source tree, or give "
				 "--tsne-script)",
			 script ? script : "examples/python/tsne_figure.py");
		return -1;
	}
	/* the Python package finds the library this program runs on */
	Dl_info info;
	if (!getenv("FDEN_LIBRARY") && dladdr((void *)fden_model_load, &info) && info.dli_fname &&
	    strchr(info.dli_fname, '/'))
		setenv("FDEN_LIBRARY", info.dli_fname, 1);
	snprintf(code, sizeof code,
		 "import runpy, sys\n"
		 "try:\n    import numpy, sklearn, matplotlib\n"
		 "except ImportError as e:\n    print(e)\n    sys.exit(%d)\n"
		 "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n",
		 TSNE_NO_MODULES);
	char *argv[] = { (char *)py, "-c", code, (char *)script,
			 "--model", (char *)cli_path(model, sizeof model, out, "model.fden"),
			 "--invnet", (char *)cli_path(net, sizeof net, out, "net.fden"),
			 "--images", (char *)d->test_images, "--labels", (char *)d->test_labels,
			 "--names", glyphs ? "numbers" : "fashion-mnist",
			 "--out", (char *)cli_path(png, sizeof png, out, "tsne.png"), NULL };
	pid_t pid = start_child(argv, cli_path(log, sizeof log, out, "tsne.log"));
	if (pid < 0)
		snprintf(why, n, "cannot start %.200s: %s", py, strerror(errno));
	return pid;
}

/* 0 when the figure was made, else -1 with the reason in why. */
static int tsne_wait(pid_t pid, const char *out, char *why, size_t n)
{
	char log[4096];
	if (pid < 0)
		return -1;
	int rc = wait_child(pid);
	cli_path(log, sizeof log, out, "tsne.log");
	if (rc == TSNE_NO_MODULES)
		snprintf(why, n, "%.200s cannot import numpy, scikit-learn and matplotlib (Debian: "
				 "python3-sklearn python3-matplotlib; scripts/install-deps.sh --demo)",
			 python());
	else if (rc == 127)
		snprintf(why, n, "no %.200s to run", python());
	else if (rc != 0)
		snprintf(why, n, "the t-SNE script failed (exit %d; see %.300s)", rc, log);
	return rc == 0 ? 0 : -1;
}

static const char *const fit_modes[] = { "train-classes", "all-train" };

int cmd_demo(int argc, char **argv)
{
	const char *out = "out/demo", *data = "glyphs", *host_fit = "train-classes";
	const char *tsne_mode = "auto", *tsne_script = "examples/python/tsne_figure.py";
	double budget = -1, split = -1, reserve = -1; /* minutes kept for eval, grids, report */
	size_t threads = 1;                           /* OpenMP BLIS with 2 threads on a busy machine: 4-5x slower */
	int quick = 0;
	struct fit_args fa;
	struct train_args ta;
	struct ev_options eo;
	struct translate_args xa = { .pairs = 0, .seed = 1 }; /* 0 until parsed: 8, 4 quick */
	fit_args_default(&fa);
	fa.kind = DEMO_HOST;
	fa.epochs = 0; /* auto */
	train_args_default(&ta);
	ev_options_default(&eo);
	eo.episodes = 0; /* until parsed: 1000, 300 with --quick */
	ta.minutes = -1;
	const struct opt t[] = {
		{ .name = "out", .type = OPT_STR, .ptr = &out, .arg = "DIR", .help = "where everything goes" },
		{ .name = "data", .type = OPT_STR, .ptr = &data, .arg = "glyphs|fashion|DIR", .help = "glyphs: " GLYPHS_DIR " (scripts/make-glyphs.py); fashion: " FASHION_DIR "; or a directory of IDX files" },
		{ .name = "split", .type = OPT_DBL, .ptr = &split, .arg = "N", .help = "classes < N train, the rest are unseen", .def = "the train rows of DIR/classes.tsv; 5 for fashion", .range = OPT_POSITIVE },
		{ .name = "quick", .type = OPT_FLAG, .ptr = &quick, .help = "a first look: the same pipeline in 3 minutes (budget 3, 300 evaluation "
									    "episodes, 4 grids)" },
		{ .name = "budget", .type = OPT_DBL, .ptr = &budget, .arg = "M", .help = "minutes for the whole run; FDEN trains for what is left", .def = "13; 3 with --quick", .range = OPT_POSITIVE },
		{ .name = "minutes", .type = OPT_DBL, .ptr = &ta.minutes, .arg = "M", .help = "FDEN training minutes (the lr schedule decays over the steps they allow, as in 'fden train')", .def = "what the budget leaves", .range = OPT_POSITIVE },
		{ .name = "steps", .type = OPT_U64, .ptr = &ta.steps, .arg = "N", .help = "also stop FDEN training at N steps (0: no limit)" },
		{ .name = "kind", .type = OPT_STR, .ptr = &fa.kind, .arg = "KIND", .help = "host network, as for 'fden fit --kind'" },
		{ .name = "host-fit", .type = OPT_STR, .ptr = &host_fit, .arg = "train-classes|all-train", .help = "fit the host on the training classes only (strict), or on every "
														   "training-split image without labels (FDEN still sees only the training "
														   "classes)" },
		{ .name = "latent", .type = OPT_SIZE, .ptr = &fa.latent, .arg = "N", .help = "latent width Dim", .range = OPT_POSITIVE },
		{ .name = "hidden", .type = OPT_SIZE, .ptr = &fa.hidden, .arg = "N", .help = "autoencoder hidden width", .range = OPT_POSITIVE },
		{ .name = "contrast", .type = OPT_DBL, .ptr = &fa.contrast, .arg = "W", .help = "conv host: weight of the contrastive term, as for 'fden fit' (0: off)", .def = "0.1", .range = OPT_NONNEGATIVE },
		{ .name = "ae-epochs", .type = OPT_SIZE, .ptr = &fa.epochs, .arg = "N", .help = "host network epochs (ae, conv)", .def = "ae: as many as fit in 30% of the budget, at most 10; conv: as many as fit in 25% of it, at most 3 minutes", .range = OPT_POSITIVE },
		{ .name = "preset", .type = OPT_STR, .ptr = &ta.preset, .arg = "NAME", .help = "FDEN configuration: default or paper" },
		{ .name = "set", .type = OPT_CALL, .arg = "KEY=VALUE", .help = "FDEN configuration key (repeatable)", .call = train_args_add_set, .ctx = &ta },
		{ .name = "ways", .type = OPT_SIZE, .ptr = &ta.ways, .arg = "C", .help = "training episode classes (0: " OPT_STRINGIFY(TRAIN_AUTO_WAYS) ", or all when fewer)" },
		OPT_VALIDATION(&ta),
		{ .name = "shots", .type = OPT_SIZE, .ptr = &ta.shots, .arg = "K", .help = "training episode shots", .range = OPT_POSITIVE },
		{ .name = "queries", .type = OPT_SIZE, .ptr = &ta.queries, .arg = "Q", .help = "training episode queries per class", .range = OPT_POSITIVE },
		{ .name = "eval-episodes", .type = OPT_SIZE, .ptr = &eo.episodes, .arg = "N", .help = "evaluation episodes per task", .def = "1000; 300 with --quick", .range = OPT_POSITIVE },
		{ .name = "pairs", .type = OPT_SIZE, .ptr = &xa.pairs, .arg = "N", .help = "translation grids", .def = "8; 4 with --quick", .range = OPT_POSITIVE },
		{ .name = "zoom", .type = OPT_SIZE, .ptr = &xa.zoom, .arg = "N", .help = "grid pixels per image pixel", .def = "a tile of at least " OPT_STRINGIFY(GRID_MIN_TILE) " pixels", .range = OPT_POSITIVE },
		{ .name = "tsne", .type = OPT_STR, .ptr = &tsne_mode, .arg = "auto|off", .help = "the t-SNE figure (auto: when Python has scikit-learn and matplotlib)" },
		{ .name = "tsne-script", .type = OPT_STR, .ptr = &tsne_script, .arg = "FILE", .help = "the figure's script" },
		OPT_SEED(&ta.seed, "seed of everything"),
		OPT_THREADS(&threads, "BLIS threads (2 helps only on an idle machine)"),
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "demo",
		.synopsis = "[options]",
		.desc = "The whole pipeline on a set with many classes (by default the printed\n"
			"glyphs of scripts/make-glyphs.py; ./scripts/demo.sh makes them when missing):\n"
			"fit the host network (--kind) on the training classes' images (or, with\n"
			"--host-fit all-train, on every training-split image without labels), encode,\n"
			"train FDEN on the latents of the training classes, evaluate 5-way 1-shot,\n"
			"5-way 5-shot and 20-way 1-shot on the unseen classes against the strongest\n"
			"raw-latent baseline (SimpleShot among them) and the outside judges (table,\n"
			"eval.json), write zoomed translation grids (grids/), the training curves\n"
			"(curves.png), the t-SNE figure (tsne.png) and report.html. With the defaults\n"
			"it finishes in under 15 minutes on 2 cores; --quick in 3.\n\n"
			"Outputs in DIR: report.html, net.fden (host), model.fden (FDEN),\n"
			"train-log.csv, curves.png, eval.txt, eval.json, grids/*.png, tsne.png,\n"
			"summary.txt.\n\n"
			"Fashion-MNIST (--data fashion) has only 5 training classes: too few to learn\n"
			"identity from, and the report says so. Any IDX set laid out the same way\n"
			"works: --data DIR with train-images/-labels and t10k- (or test-) images/labels\n"
			"(-idx3-ubyte.gz, -idx1-ubyte.gz), --split N.",
		.opts = t,
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (budget < 0)
		budget = quick ? 3.0 : 13.0;
	reserve = quick ? 0.75 : 1.25;
	if (!eo.episodes) /* not given: a typed 1000 or 8 stays what it says */
		eo.episodes = quick ? 300 : 1000;
	if (!xa.pairs)
		xa.pairs = quick ? 4 : 8;
	int fit_all = 0;
	if (!strcmp(host_fit, fit_modes[1]))
		fit_all = 1;
	else if (strcmp(host_fit, fit_modes[0]))
		return cli_usage(cmd, "--host-fit must be train-classes or all-train, not '%s'",
				 host_fit);
	if (strcmp(tsne_mode, "auto") && strcmp(tsne_mode, "off"))
		return cli_usage(cmd, "--tsne must be auto or off, not '%s'", tsne_mode);
	int glyphs = !strcmp(data, "glyphs"), fashion = !strcmp(data, "fashion");
	const char *dir = glyphs ? GLYPHS_DIR : fashion ? FASHION_DIR
							: data;
	if (split < 0)
		split = split_from_tsv(dir);
	if (split < 0)
		split = 5; /* Fashion-MNIST's, and any set without classes.tsv */
	if (!glyphs && !fashion && split_from_tsv(dir) > 0)
		glyphs = 1; /* a generated glyph set elsewhere */

	double t0 = cli_now();
	char p_net[4096], p_model[4096], p_csv[4096], p_json[4096], p_txt[4096], p_grid[4096],
		p_sum[4096], p_curves[4096], p_report[4096], p_tsne[4096];
	char f_tri[4096], f_trl[4096], f_tei[4096], f_tel[4096];
	if (cli_mkdirs(out)) {
		fprintf(stderr, "fden: %s: cannot create '%s': %s\n", cmd, out, strerror(errno));
		return EXIT_FILE;
	}
	struct data_opts d;
	data_opts_init(&d);
	d.train_images = cli_path(f_tri, sizeof f_tri, dir, "train-images-idx3-ubyte.gz");
	d.train_labels = cli_path(f_trl, sizeof f_trl, dir, "train-labels-idx1-ubyte.gz");
	d.test_images = cli_path(f_tei, sizeof f_tei, dir, "t10k-images-idx3-ubyte.gz");
	d.test_labels = cli_path(f_tel, sizeof f_tel, dir, "t10k-labels-idx1-ubyte.gz");
	if (access(d.test_images, F_OK) != 0) { /* scripts/make-glyphs.py names them test-* */
		d.test_images = cli_path(f_tei, sizeof f_tei, dir, "test-images-idx3-ubyte.gz");
		d.test_labels = cli_path(f_tel, sizeof f_tel, dir, "test-labels-idx1-ubyte.gz");
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

	struct fden_dataset *train = NULL, *test = NULL, *train_z = NULL, *test_z = NULL,
			    *all = NULL;
	struct fden_invnet *net = NULL;
	struct fden_model *model = NULL;
	struct ev_report r;
	double t_fit = 0, t_train = 0, t_eval = 0, t_tr = 0, ts;
	char tsne_why[512] = "";
	pid_t tsne_pid = -1;
	const char *what = glyphs ? "the printed-glyph set" : fashion ? "Fashion-MNIST"
								      : "the data";

	cli_info("fden: %s: [1/6] loading %s from %s", cmd, what, dir);
	if ((rc = data_load(cmd, &d, &train, &test))) {
		if (rc == EXIT_FILE)
			fprintf(stderr, "fden: %s: the glyph set (--data glyphs) is made by "
					"./scripts/demo.sh, or by: /usr/bin/python3 scripts/make-glyphs.py " GLYPHS_DIR "; Fashion-MNIST (--data fashion): apt-get install "
					"dataset-fashion-mnist; or give --data DIR\n",
				cmd);
		return rc;
	}
	size_t n_train_cls = data_n_classes(train), n_test_cls = data_n_classes(test);
	cli_info("fden: %s: %zu training rows of %zu classes (< %g), %zu test rows of %zu unseen "
		 "classes",
		 cmd, fden_dataset_size(train), n_train_cls, split,
		 fden_dataset_size(test), n_test_cls);
	const struct fden_dataset *host_rows = train;
	if (fit_all) { /* every training-split image, labels unused */
		if ((rc = data_load_file(d.train_images, d.train_labels, -1, &all))) {
			rc = cli_fail(cmd, rc, "loading '%s'", d.train_images);
			goto out;
		}
		host_rows = all;
	}
	cli_info("fden: %s: [2/6] fitting the host network (%s) on %zu images: %s", cmd, fa.kind,
		 fden_dataset_size(host_rows),
		 fit_all ? "every training-split image, without labels" : "the training classes only");
	ts = cli_now();
	if (!strcmp(fa.kind, "ae") && !fa.epochs &&
	    (rc = auto_epochs(cmd, host_rows, &fa, budget, quick ? 0.2 : 0.3)))
		goto out;
	if (!strcmp(fa.kind, "conv")) {
		fa.batch = 0; /* conv's own minibatch and rate, not the autoencoder's */
		fa.lr = 0;
		if (!fa.epochs) { /* time-boxed: 25% of the budget, at most 3 minutes */
			fa.epochs = 1000;
			fa.time = 0.25 * 60 * budget < 180 ? 0.25 * 60 * budget : 180;
		}
	}
	if ((rc = run_fit(cmd, host_rows, &fa, &net)))
		goto out;
	t_fit = cli_now() - ts;
	if ((rc = data_encode(cmd, net, train, &train_z)) ||
	    (rc = data_encode(cmd, net, test, &test_z)))
		goto out;
	if (ta.minutes < 0) {
		double left = budget - (cli_now() - t0) / 60 - reserve;
		ta.minutes = left > 0.5 ? left : 0.5;
	}
	cli_info("fden: %s: [3/6] training FDEN for %.1f minutes", cmd, ta.minutes);
	ts = cli_now();
	struct train_outcome to = { 0 };
	ta.outcome = &to;
	if ((rc = run_train(cmd, train_z, &ta, &model)))
		goto out;
	t_train = cli_now() - ts;
	cli_path(p_tsne, sizeof p_tsne, out, "tsne.png");
	remove(p_tsne); /* never an old run's figure */
	if (!strcmp(tsne_mode, "off"))
		snprintf(tsne_why, sizeof tsne_why, "--tsne off");
	else
		tsne_pid = tsne_start(tsne_script, out, &d, glyphs, tsne_why, sizeof tsne_why);
	cli_info("fden: %s: [4/6] evaluating on the unseen classes%s", cmd,
		 tsne_pid > 0 ? " (the t-SNE figure in the background)" : "");
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
	cli_info("fden: %s: [5/6] translation grids", cmd);
	ts = cli_now();
	if ((rc = run_translate(cmd, model, net, test_z, test, &xa)))
		goto out;
	t_tr = cli_now() - ts;

	cli_info("fden: %s: [6/6] training curves, t-SNE figure, report", cmd);
	char curves_why[512] = "";
	int curves = plot_training_log(p_csv, cli_path(p_curves, sizeof p_curves, out, "curves.png"),
				       curves_why, sizeof curves_why) == 0;
	int fig = tsne_wait(tsne_pid, out, tsne_why, sizeof tsne_why) == 0;
	tsne_pid = -1;
	if (!fig)
		cli_info("fden: %s: no t-SNE figure: %s", cmd, tsne_why);

	/* the summary: what ran, the comparison, and a warning for few classes */
	char host[512], data_s[512], note[1024], cmdline[2048];
	size_t o = 0;
	for (int i = 0; i < argc && o + 2 < sizeof cmdline; i++) {
		int w = snprintf(cmdline + o, sizeof cmdline - o, "%s%s", i ? " " : "fden ",
				 argv[i]);
		o += w > 0 ? (size_t)w : 0;
	}
	if (o >= sizeof cmdline)
		cmdline[sizeof cmdline - 1] = '\0';
	snprintf(host, sizeof host,
		 "Host network: %s %zu -> %zu (%s), fitted on %s (--host-fit %s); FDEN trained on the "
		 "training classes' latents only.",
		 !strcmp(fa.kind, "ae")     ? "MLP autoencoder"
		 : !strcmp(fa.kind, "conv") ? "convolutional autoencoder"
					    : fa.kind,
		 fden_invnet_input_dim(net), fden_invnet_latent_dim(net), fa.kind,
		 fit_all ? "every training-split image without labels"
			 : "the training classes' images only (strict)",
		 host_fit);
	snprintf(data_s, sizeof data_s,
		 "Data: %s (%s): %zu training rows of %zu classes, %zu test rows of %zu unseen "
		 "classes.",
		 what, dir, fden_dataset_size(train), n_train_cls,
		 fden_dataset_size(test), n_test_cls);
	double best = NAN;
	int brow = EV_Z_PROTO;
	if (r.n_tasks && r.task[0].done)
		brow = ev_best_raw(&r.task[0], &best);
	note[0] = '\0';
	if (n_train_cls < FEW_CLASSES && r.n_tasks && r.task[0].done)
		snprintf(note, sizeof note,
			 "Only %zu training classes: too few for any few-shot learner to learn what "
			 "identity is (the paper's sets have hundreds to thousands of classes; "
			 "./scripts/demo.sh without --data runs the 1106-class glyph set). Here the "
			 "strongest raw-latent baseline (%s) reaches %.1f%% at %zu-way %zu-shot and "
			 "f_ide %.1f%%: read f_ide against that baseline, not against chance.",
			 n_train_cls, ev_row_titles[brow], 100 * best, r.task[0].ways,
			 r.task[0].shots, 100 * r.task[0].mean[EV_IDE]);
	double total = cli_now() - t0;
	unsigned long long steps = (unsigned long long)fden_model_step(model);
	struct report_info ri = {
		.title = glyphs    ? "libfden demo: FDEN on printed glyphs"
			 : fashion ? "libfden demo: FDEN on Fashion-MNIST"
				   : "libfden demo",
		.command = cmdline,
		.data = data_s,
		.host = host,
		.note = note[0] ? note : NULL,
		.ev = &r,
		.seconds_fit = t_fit,
		.seconds_train = t_train,
		.seconds_eval = t_eval,
		.seconds_grids = t_tr,
		.steps = steps,
		.threads = threads,
		.curves_png = curves ? "curves.png" : NULL,
		.curves_note = curves_why,
		.grid_dir = "grids",
		.pairs = xa.pairs,
		.tile_px = xa.tile_px,
		.gap_px = xa.gap_px,
		.tsne_png = fig ? "tsne.png" : NULL,
		.tsne_note = tsne_why,
	};
	ri.seconds_total = cli_now() - t0;
	char err[512];
	if (report_write(cli_path(p_report, sizeof p_report, out, "report.html"), &ri, err,
			 sizeof err)) {
		fprintf(stderr, "fden: %s: %s\n", cmd, err);
		rc = EXIT_FILE;
		goto out;
	}
	total = cli_now() - t0;
	FILE *f = fopen(cli_path(p_sum, sizeof p_sum, out, "summary.txt"), "w");
	for (int k = 0; k < 2; k++) {
		FILE *s = k ? f : stdout;
		if (!s)
			continue;
		fprintf(s, "\n%s\n%s\n", data_s, host);
		for (size_t i = 0; i < r.n_tasks; i++)
			if (r.task[i].done) {
				double b;
				int row = ev_best_raw(&r.task[i], &b);
				fprintf(s, "%zu-way %zu-shot: f_ide %.1f%% against the strongest raw-z "
					   "baseline (%s) %.1f%%: %+.1f points\n",
					r.task[i].ways, r.task[i].shots, 100 * r.task[i].mean[EV_IDE],
					ev_row_titles[row], 100 * b, 100 * (r.task[i].mean[EV_IDE] - b));
			}
		if (note[0])
			fprintf(s, "NOTE: %s\n", note);
		char kept[160] = "";
		if (to.restored)
			snprintf(kept, sizeof kept,
				 " (kept step %llu, the best on %zu validation classes%s)", steps,
				 to.val_classes, to.stopped_early ? "; stopped early" : "");
		fprintf(s, "fden demo: total %.1f min (host fit %.1f s, FDEN training %.1f s for %llu "
			   "steps%s, evaluation %.1f s, grids %.1f s), %zu BLIS thread%s\n",
			total / 60, t_fit, t_train, (unsigned long long)to.steps_run, kept, t_eval,
			t_tr, threads, threads == 1 ? "" : "s");
		fprintf(s, "outputs in %s: report.html net.fden model.fden train-log.csv %s"
			   "eval.txt eval.json grids/ %ssummary.txt\n",
			out, curves ? "curves.png " : "", fig ? "tsne.png " : "");
	}
	if (!f || fclose(f)) {
		fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, p_sum);
		rc = EXIT_FILE;
	}
out:
	if (tsne_pid > 0)
		wait_child(tsne_pid);
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(all);
	fden_dataset_free(train_z);
	fden_dataset_free(test_z);
	fden_invnet_free(net);
	fden_model_free(model);
	return rc;
}
