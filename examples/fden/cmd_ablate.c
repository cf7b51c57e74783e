/* fden ablate: train and evaluate a list of configurations on the same
 * data, seeds and time budget, and print one table (issue 8's harness).
 * Each --config is NAME:SETTING,SETTING,... where a setting is any model
 * key=value (as `fden train --set`), preset=paper|default, or one of the
 * episode keys ways=, shots=, queries=, episodes=. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval.h"

#define ABLATE_MAX 32

struct ablate_cfgs {
	const char *spec[ABLATE_MAX];
	size_t n;
};

static int add_config(void *ctx, const char *value)
{
	struct ablate_cfgs *c = ctx;

	if (c->n >= ABLATE_MAX || !strchr(value, ':') || value[0] == ':')
		return 1;
	c->spec[c->n++] = value;
	return 0;
}

/* Split "NAME:a=1,b=2" into the train arguments; buf keeps the strings. */
static int parse_spec(const char *cmd, const char *spec, char *buf, size_t len,
		      struct train_args *ta, char *name, size_t nlen)
{
	const char *colon = strchr(spec, ':');
	char *tok, *save = NULL;

	snprintf(name, nlen, "%.*s", (int)(colon - spec), spec);
	snprintf(buf, len, "%s", colon + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		size_t *ep = NULL;

		if (!eq)
			return cli_usage(cmd, "config '%s': setting '%s' is not key=value", name, tok);
		*eq = '\0';
		if (!strcmp(tok, "preset")) {
			ta->preset = eq + 1;
			continue;
		}
		if (!strcmp(tok, "ways"))
			ep = &ta->ways;
		else if (!strcmp(tok, "shots"))
			ep = &ta->shots;
		else if (!strcmp(tok, "queries"))
			ep = &ta->queries;
		else if (!strcmp(tok, "episodes"))
			ep = &ta->episodes;
		if (ep) {
			char *end;
			unsigned long v = strtoul(eq + 1, &end, 10);
			if (*end || (!v && ep != &ta->ways))
				return cli_usage(cmd, "config '%s': %s=%s is not a positive count", name,
						 tok, eq + 1);
			*ep = v;
			continue;
		}
		*eq = '=';
		if (ta->n_sets >= TRAIN_MAX_SETS)
			return cli_usage(cmd, "config '%s': too many settings", name);
		ta->sets[ta->n_sets++] = tok;
	}
	return 0;
}

int cmd_ablate(int argc, char **argv)
{
	const char *net_path = NULL, *json_dir = NULL;
	struct ablate_cfgs cfgs = { { 0 }, 0 };
	struct train_args base;
	struct ev_options o;
	struct data_opts d;
	double minutes = 2;
	uint64_t steps = 0, seed = 1;
	size_t threads = 1;

	ev_options_default(&o);
	data_opts_init(&d);
	train_args_default(&base);
	const struct opt t[] = {
		OPT_NET(&net_path, "encode image rows through this saved network (enables PSNR)"),
		{ .name = "config", .type = OPT_CALL, .arg = "NAME:K=V,..", .help = "a configuration to run (repeatable, in order)", .call = add_config, .ctx = &cfgs },
		{ .name = "minutes", .type = OPT_DBL, .ptr = &minutes, .arg = "M", .help = "training time of each configuration (the lr schedule decays over the steps it allows, as in 'fden train')", .range = OPT_POSITIVE },
		{ .name = "steps", .type = OPT_U64, .ptr = &steps, .arg = "N", .help = "or a step budget instead (0: time only)" },
		OPT_SEED(&seed, "model, episode and evaluation seed"),
		OPT_THREADS(&threads, "BLIS threads"),
		{ .name = "episodes", .type = OPT_SIZE, .ptr = &o.episodes, .arg = "N", .help = "evaluation episodes per task", .range = OPT_POSITIVE },
		{ .name = "json-dir", .type = OPT_STR, .ptr = &json_dir, .arg = "DIR", .help = "write NAME.json per configuration here" },
		OPT_VALIDATION(&base),
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "ablate",
		.synopsis = "--config NAME:K=V,.. [--config ...] [--net NET] (--train-images F --train-labels F --test-images F --test-labels F | --images F --labels F --split N) [options]",
		.desc = "Train each configuration on the training classes for the same time (or\n"
			"steps) with the same seeds, evaluate it on the unseen classes exactly as\n"
			"'fden eval' does, and print one table: few-shot accuracy of f_ide, f_sty\n"
			"and the strongest raw-z row (zbest), identity retention, decode PSNR, top\n"
			"canonical correlation of the factors, class from f_sty by 1-NN, the\n"
			"leakage probe from f_sty and f_ide (prb:), the HSIC p-value, the pixel\n"
			"swap judge, the style judge (swap residual nearer B's), steps\n"
			"trained. Settings: any model\n"
			"key (see 'fden train --list-keys'), preset=paper|default, and the training\n"
			"episode shape ways=, shots=, queries=, episodes=.",
		.footer = "Example:\n"
			  "  fden ablate --net net.fden --train-images tr.gz --train-labels trl.gz \\\n"
			  "              --test-images te.gz --test-labels tel.gz --minutes 3 \\\n"
			  "              --config paper:preset=paper --config default:preset=default\n",
		.opts = t,
		.data = data_opts_table(&d, DATA_BOTH),
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (!cfgs.n)
		return cli_usage(cmd, "give at least one --config NAME:K=V,... (see 'fden ablate --help')");
	if (!net_path && d.scale < 0)
		d.scale = 1;
	o.seed = seed;

	struct fden_invnet *net = NULL;
	struct fden_dataset *train = NULL, *test = NULL, *train_z = NULL, *test_z = NULL;
	int header = 0;

	if (net_path && (rc = fden_invnet_load(net_path, &net))) {
		rc = cli_fail(cmd, rc, "loading network '%s'", net_path);
		goto out;
	}
	if ((rc = data_load(cmd, &d, &train, &test)))
		goto out;
	if (net && ((rc = data_encode(cmd, net, train, &train_z)) ||
		    (rc = data_encode(cmd, net, test, &test_z))))
		goto out;
	o.train_z = train_z ? train_z : train;
	if (json_dir && cli_mkdirs(json_dir)) {
		rc = cli_fail(cmd, FDEN_E_IO, "creating '%s'", json_dir);
		goto out;
	}
	for (size_t c = 0; c < cfgs.n; c++) {
		struct train_args ta = base;
		struct fden_model *model = NULL;
		struct ev_report r;
		char buf[1024], name[64];

		ta.minutes = steps ? 0 : minutes;
		ta.steps = steps;
		ta.seed = seed;
		ta.threads = threads;
		ta.out = NULL;
		ta.checkpoint_every = 0;
		ta.progress_every = 1e9;
		if ((rc = parse_spec(cmd, cfgs.spec[c], buf, sizeof buf, &ta, name, sizeof name)))
			goto out;
		cli_info("fden: %s: [%zu/%zu] %s: training", cmd, c + 1, cfgs.n, name);
		rc = run_train(cmd, train_z ? train_z : train, &ta, &model);
		if (rc) {
			fden_model_free(model);
			goto out;
		}
		rc = ev_run(model, net, test_z ? test_z : test, test_z ? test : NULL, &o, &r);
		fden_model_free(model);
		if (rc) {
			fprintf(stderr, "fden: %s: %s: %s\n", cmd, name, ev_last_error());
			rc = cli_exit_code(rc);
			goto out;
		}
		if (!header++)
			ev_print_compact_header(stdout, &r);
		ev_print_compact(stdout, name, &r);
		fflush(stdout);
		if (json_dir) {
			char path[4096], file[80];
			FILE *f;
			snprintf(file, sizeof file, "%s.json", name);
			f = fopen(cli_path(path, sizeof path, json_dir, file), "w");
			if (!f) {
				rc = cli_fail(cmd, FDEN_E_IO, "writing '%s'", path);
				goto out;
			}
			ev_write_json(f, &r, name);
			if (fclose(f)) {
				rc = cli_fail(cmd, FDEN_E_IO, "writing '%s'", path);
				goto out;
			}
		}
	}
out:
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(train_z);
	fden_dataset_free(test_z);
	fden_invnet_free(net);
	return rc;
}
