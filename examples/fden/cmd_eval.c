/* fden eval: few-shot evaluation on unseen classes plus fidelity and
 * independence measures (eval.c), as a table and JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval.h"

/* "5x1,5x5,20x1" -> tasks. */
static int parse_tasks(void *ctx, const char *s)
{
	struct ev_options *o = ctx;
	size_t n = 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		unsigned long w = strtoul(p, &end, 10);
		if (end == p || *end != 'x' || errno)
			return -1;
		p = end + 1;
		unsigned long k = strtoul(p, &end, 10);
		if (end == p || errno || w < 2 || k < 1 || n >= EV_MAX_TASKS)
			return -1;
		o->tasks[n].ways = w;
		o->tasks[n].shots = k;
		n++;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	if (!n)
		return -1;
	o->n_tasks = n;
	return 0;
}

int eval_report(const char *cmd, const struct ev_report *r, const char *json_path,
		const char *txt_path)
{
	ev_print(stdout, r);
	fflush(stdout);
	if (txt_path) {
		FILE *f = fopen(txt_path, "w");
		if (!f) {
			fprintf(stderr, "fden: %s: opening '%s': %s\n", cmd, txt_path, strerror(errno));
			return EXIT_FILE;
		}
		ev_print(f, r);
		if (fclose(f)) {
			fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, txt_path);
			return EXIT_FILE;
		}
	}
	if (json_path) {
		FILE *f = fopen(json_path, "w");
		if (!f) {
			fprintf(stderr, "fden: %s: opening '%s': %s\n", cmd, json_path, strerror(errno));
			return EXIT_FILE;
		}
		ev_write_json(f, r, NULL);
		if (fclose(f)) {
			fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd, json_path);
			return EXIT_FILE;
		}
		cli_info("fden: %s: wrote %s", cmd, json_path);
	}
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	const char *cmd = "eval";
	const char *model_path = NULL, *net_path = NULL, *json_path = NULL;
	struct ev_options o;
	struct data_opts d;
	int help = 0, quiet = 0;
	ev_options_default(&o);
	data_opts_init(&d);
	struct opt t[40] = {
		{ "model", OPT_STR, &model_path, "FILE", "trained model (from 'fden train') (required)", NULL, NULL },
		{ "net", OPT_STR, &net_path, "FILE", "encode image rows through this network; enables PSNR", NULL, NULL },
		{ "episodes", OPT_SIZE, &o.episodes, "N", "episodes per task (default 1000)", NULL, NULL },
		{ "queries", OPT_SIZE, &o.queries, "Q", "queries per class and episode (default 15)", NULL, NULL },
		{ "tasks", OPT_CALL, NULL, "LIST", "WAYSxSHOTS list (default 5x1,5x5,20x1)", parse_tasks, &o },
		{ "seed", OPT_U64, &o.seed, "N", "episode seed: same seed, same episodes (default 1)", NULL, NULL },
		{ "psnr-rows", OPT_SIZE, &o.psnr_rows, "N", "test rows decoded for PSNR (2000; 0: all)", NULL, NULL },
		{ "nn-rows", OPT_SIZE, &o.nn_rows, "N", "rows for leave-one-out 1-NN (2000; 0: all)", NULL, NULL },
		{ "json", OPT_STR, &json_path, "FILE", "also write the results as JSON", NULL, NULL },
		{ "quiet", OPT_FLAG, &quiet, NULL, "no information lines", NULL, NULL },
	};
	size_t n = 10;
	data_opts_add(&d, t, &n);
	if (opt_parse(cmd, t, argc, argv, &help))
		return EXIT_USAGE;
	if (help) {
		opt_help(stdout, cmd, "--model MODEL [--net NET] (--test-images F --test-labels F | --images F --labels F --split N) [options]",
			 "Evaluate on classes never trained on, as the paper does: C-way K-shot over\n"
			 "seeded episodes (the same episodes for every row), mean accuracy and 95%\n"
			 "confidence interval (1.96 std / sqrt(episodes)) for f_ide, f_sty, the raw\n"
			 "latent (prototypical, matching, SimpleShot) and FDEN's alignment head;\n"
			 "SimpleShot centres on the training rows' mean (give --train-images or\n"
			 "--images with --split), else on the test rows'. The summary compares f_ide\n"
			 "with the strongest raw-z row. Also: PSNR of decode(E(D(z))) vs decode(z)\n"
			 "(with --net), identity retention of swapped latents, canonical correlations\n"
			 "of f_ide and f_sty, class from f_sty by leave-one-out 1-NN, and outside\n"
			 "judges: a logistic-regression leakage probe (half of each unseen class's\n"
			 "rows train it), an HSIC independence test of f_ide and f_sty with a\n"
			 "permutation p-value, and (with --net and images) pixel-space class means\n"
			 "judging whether decode(E(f_ide A, f_sty B)) looks like A. Tasks needing\n"
			 "more classes than the test set has are skipped.",
			 t, NULL);
		return 0;
	}
	cli_quiet = quiet;
	if (!model_path)
		return cli_usage(cmd, "--model FILE is required (see 'fden eval --help')");
	if (!net_path && d.scale < 0)
		d.scale = 1;

	struct fden_model *model = NULL;
	struct fden_invnet *net = NULL;
	struct fden_dataset *test = NULL, *test_z = NULL, *train = NULL, *train_z = NULL;
	struct ev_report r;
	int rc = fden_model_load(model_path, NULL, &model);
	if (rc)
		return cli_fail(cmd, rc, "loading model '%s'", model_path);
	if (net_path && (rc = fden_invnet_load(net_path, &net))) {
		rc = cli_fail(cmd, rc, "loading network '%s'", net_path);
		goto out;
	}
	/* training rows (optional): SimpleShot centres on their mean */
	int have_train = d.images || d.train_images;
	if ((rc = data_load(cmd, &d, have_train ? &train : NULL, &test)))
		goto out;
	if (net && (rc = data_encode(cmd, net, test, &test_z)))
		goto out;
	if (net && train && (rc = data_encode(cmd, net, train, &train_z)))
		goto out;
	o.train_z = train_z ? train_z : train;
	cli_info("fden: %s: %zu test rows, %zu classes", cmd, fden_dataset_size(test),
		 data_n_classes(test));
	rc = ev_run(model, net, test_z ? test_z : test, test_z ? test : NULL, &o, &r);
	if (rc) {
		fprintf(stderr, "fden: %s: %s\n", cmd, ev_last_error());
		rc = cli_exit_code(rc);
		goto out;
	}
	rc = eval_report(cmd, &r, json_path, NULL);
out:
	fden_dataset_free(test);
	fden_dataset_free(test_z);
	fden_dataset_free(train);
	fden_dataset_free(train_z);
	fden_invnet_free(net);
	fden_model_free(model);
	return rc;
}
