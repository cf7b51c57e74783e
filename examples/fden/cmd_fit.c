/* fden fit: fit a built-in invertible network (PCA or MLP autoencoder) on
 * the images of the training classes and save it. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

void fit_args_default(struct fit_args *a)
{
	struct fden_ae_options ae;
	fden_ae_options_default(&ae);
	memset(a, 0, sizeof *a);
	a->kind = "ae";
	a->latent = 64;
	a->hidden = ae.hidden ? ae.hidden : 512;
	a->epochs = ae.epochs ? ae.epochs : 10;
	a->batch = ae.batch ? ae.batch : 128;
	a->lr = ae.lr > 0 ? ae.lr : 1e-3;
	a->seed = 1;
	a->threads = 1;
}

static void ae_log(void *user_data, int level, const char *format, va_list args)
{
	(void)user_data;
	if (cli_quiet || level > FDEN_LOG_INFO)
		return;
	fputs("fden: autoencoder: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

int run_fit(const char *cmd, const struct fden_dataset *images, const struct fit_args *a,
	    struct fden_invnet **out)
{
	struct fden_invnet *net = NULL;
	size_t n = fden_dataset_size(images), d = fden_dataset_dim(images);
	const float *x = fden_dataset_data(images);
	double t0 = cli_now();
	int rc;

	if (!a->latent || a->latent > d)
		return cli_usage(cmd, "--latent must be in 1..%zu (the input width)", d);
	if (!strcmp(a->kind, "pca")) {
		cli_info("fden: %s: PCA, %zu rows x %zu -> %zu", cmd, n, d, a->latent);
		rc = fden_invnet_fit_pca(x, n, d, a->latent, a->seed, &net);
	} else if (!strcmp(a->kind, "ae")) {
		struct fden_ae_options o;
		fden_ae_options_default(&o);
		o.hidden = a->hidden;
		o.epochs = a->epochs;
		o.batch = a->batch;
		o.lr = a->lr;
		o.seed = a->seed;
		o.threads = (int)a->threads;
		o.log = ae_log;
		cli_info("fden: %s: autoencoder %zu-%zu-%zu, %zu rows, %zu epochs", cmd, d, a->hidden,
			 a->latent, n, a->epochs);
		rc = fden_invnet_fit_autoencoder(x, n, d, a->latent, &o, &net);
	} else {
		return cli_usage(cmd, "--kind must be 'ae' or 'pca', not '%s'", a->kind);
	}
	if (rc)
		return cli_fail(cmd, rc, "fitting the %s", a->kind);
	cli_info("fden: %s: fitted in %.1f s", cmd, cli_now() - t0);
	if (a->out) {
		rc = fden_invnet_save(net, a->out);
		if (rc) {
			fden_invnet_free(net);
			return cli_fail(cmd, rc, "saving '%s'", a->out);
		}
		cli_info("fden: %s: saved %s", cmd, a->out);
	}
	if (out)
		*out = net;
	else
		fden_invnet_free(net);
	return 0;
}

int cmd_fit(int argc, char **argv)
{
	const char *cmd = "fit";
	struct fit_args a;
	struct data_opts d;
	int help = 0, quiet = 0;
	fit_args_default(&a);
	data_opts_init(&d);
	struct opt t[32] = {
		{ "kind", OPT_STR, &a.kind, "ae|pca", "autoencoder or PCA (default ae)", NULL, NULL },
		{ "latent", OPT_SIZE, &a.latent, "N", "latent width (default 64)", NULL, NULL },
		{ "hidden", OPT_SIZE, &a.hidden, "N", "autoencoder hidden width (default 512)", NULL, NULL },
		{ "epochs", OPT_SIZE, &a.epochs, "N", "autoencoder epochs (default 10)", NULL, NULL },
		{ "batch", OPT_SIZE, &a.batch, "N", "autoencoder minibatch (default 128)", NULL, NULL },
		{ "lr", OPT_DBL, &a.lr, "X", "autoencoder learning rate (default 1e-3)", NULL, NULL },
		{ "seed", OPT_U64, &a.seed, "N", "random seed (default 1)", NULL, NULL },
		{ "threads", OPT_SIZE, &a.threads, "N", "BLIS threads (default 1)", NULL, NULL },
		{ "out", OPT_STR, &a.out, "FILE", "where to save the network (required)", NULL, NULL },
		{ "quiet", OPT_FLAG, &quiet, NULL, "no information lines", NULL, NULL },
	};
	size_t n = 10;
	data_opts_add(&d, t, &n);
	if (opt_parse(cmd, t, argc, argv, &help))
		return EXIT_USAGE;
	if (help) {
		opt_help(stdout, cmd, "--out FILE (--train-images F --train-labels F | --images F --labels F --split N) [options]",
			 "Fit a built-in invertible network on the images of the training classes\n"
			 "only (test classes stay unseen) and save it for encode, train, eval and\n"
			 "translate. Images are scaled to [0, 1] (IDX bytes times 1/255).",
			 t, "Example:\n  fden fit --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz \\\n           --split 5 --kind ae --latent 64 --out net.fden\n");
		return 0;
	}
	cli_quiet = quiet;
	if (!a.out)
		return cli_usage(cmd, "--out FILE is required (see 'fden fit --help')");
	struct fden_dataset *train = NULL;
	int rc = data_load(cmd, &d, &train, NULL);
	if (rc)
		return rc;
	rc = run_fit(cmd, train, &a, NULL);
	fden_dataset_free(train);
	return rc;
}
