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

/* The tasks as "5x1,5x5,20x1", for help. */
static void show_tasks(const void *ctx, char *buf, size_t n)
{
	const struct ev_options *o = ctx;
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < o->n_tasks && k < n; i++) {
		int w = snprintf(buf + k, n - k, "%s%zux%zu", i ? "," : "", o->tasks[i].ways,
				 o->tasks[i].shots);
		if (w < 0)
			break;
		k += (size_t)w;
	}
}

int eval_report(const char *cmd, const struct ev_report *r, const char *json_path,
		const char *txt_path)
{
	int json_stdout = json_path && !strcmp(json_path, "-");
	/* with --json -, standard output carries the JSON alone: the table goes
	 * to standard error */
	ev_print(json_stdout ? stderr : stdout, r);
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
		FILE *f = cli_open_output(cmd, json_path);
		if (!f)
			return EXIT_FILE;
		ev_write_json(f, r, NULL);
		int rc = cli_close_output(cmd, f, json_path);
		if (rc)
			return rc;
		if (!json_stdout)
			cli_info("fden: %s: wrote %s", cmd, json_path);
	}
	return 0;
}

int cmd_eval(int argc, char **argv)
{
	const char *model_path = NULL, *net_path = NULL, *json_path = NULL;
	struct ev_options o;
	struct data_opts d;
	ev_options_default(&o);
	data_opts_init(&d);
	const struct opt t[] = {
		OPT_MODEL(&model_path, "trained model (from 'fden train') (required)"),
		OPT_NET(&net_path, "encode image rows through this network; enables PSNR"),
		{ .name = "episodes", .type = OPT_SIZE, .ptr = &o.episodes, .arg = "N", .help = "episodes per task", .range = OPT_POSITIVE },
		{ .name = "queries", .type = OPT_SIZE, .ptr = &o.queries, .arg = "Q", .help = "queries per class and episode", .range = OPT_POSITIVE },
		{ .name = "tasks", .type = OPT_CALL, .arg = "LIST", .help = "WAYSxSHOTS list", .call = parse_tasks, .ctx = &o, .show = show_tasks },
		OPT_SEED(&o.seed, "episode seed: same seed, same episodes"),
		{ .name = "psnr-rows", .type = OPT_SIZE, .ptr = &o.psnr_rows, .arg = "N", .help = "test rows decoded for PSNR (0: all)" },
		{ .name = "nn-rows", .type = OPT_SIZE, .ptr = &o.nn_rows, .arg = "N", .help = "rows for leave-one-out 1-NN (0: all)" },
		OPT_JSON(&json_path, "also write the results as JSON"),
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "eval",
		.synopsis = "--model MODEL [--net NET] (--test-images F --test-labels F | --images F --labels F --split N) [options]",
		.desc = "Evaluate on classes never trained on, as the paper does: C-way K-shot over\n"
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
			"judging whether decode(E(f_ide A, f_sty B)) looks like A and whether it\n"
			"carries B's style (its residual from A's class mean against B's and A's\n"
			"own). Tasks needing more classes than the test set has are skipped.\n"
			"With --json -, the JSON goes to standard output and the table to\n"
			"standard error.",
		.opts = t,
		.data = data_opts_table(&d, DATA_BOTH),
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (!model_path)
		return cli_usage(cmd, "--model FILE is required (see 'fden eval --help')");
	if (!net_path && d.scale < 0)
		d.scale = 1;

	struct fden_model *model = NULL;
	struct fden_invnet *net = NULL;
	struct fden_dataset *test = NULL, *test_z = NULL, *train = NULL, *train_z = NULL;
	struct ev_report r;
	rc = fden_model_load(model_path, NULL, &model);
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
	{ /* every task skipped (too few classes): nothing was evaluated */
		size_t done = 0;
		for (size_t i = 0; i < r.n_tasks; i++)
			done += r.task[i].done != 0;
		if (!done) {
			fprintf(stderr, "fden: %s: no task can run: the test set has %zu classes, "
					"too few with enough rows for every task\n",
				cmd, r.n_classes);
			rc = EXIT_DATA;
			goto out;
		}
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
