/* fden fit: fit a built-in invertible network (PCA, MLP autoencoder, conv
 * autoencoder, ALI) on
 * the images of the training classes and save it. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

void fit_args_default(struct fit_args *a)
{
	struct fden_ae_options ae;
	fden_ae_options_default(&ae);
	memset(a, 0, sizeof *a);
	a->kind = "conv";
	a->latent = 64;
	a->hidden = ae.hidden ? ae.hidden : 512;
	a->epochs = ae.epochs ? ae.epochs : 10;
	a->batch = ae.batch ? ae.batch : 128;
	a->lr = ae.lr > 0 ? ae.lr : 1e-3;
	a->loss = "l2";
	a->seed = 1;
	a->threads = 1;
	a->contrast = a->contrast_tau = -1;
	a->aug_rot = a->aug_scale = a->aug_shift = -1;
}

/* "HxWxC" (or "HxW": one channel) into o's shape; 0 or -1. */
static int parse_shape(const char *s, struct fden_conv_options *o)
{
	unsigned long h, w, c = 1;
	char x1, x2, tail;
	int k = sscanf(s, "%lu%c%lu%c%lu%c", &h, &x1, &w, &x2, &c, &tail);

	if (!((k == 3 && x1 == 'x') || (k == 5 && x1 == 'x' && x2 == 'x')) || !h || !w || !c)
		return -1;
	o->height = h;
	o->width = w;
	o->channels = c;
	return 0;
}

/* Mean squared error of decode(encode(x)) over the rows, in batches. NaN
 * when a call fails. */
static double recon_mse(struct fden_invnet *net, const float *x, size_t n, size_t d)
{
	size_t dz = fden_invnet_latent_dim(net), b = 1024;
	float *z = malloc(b * dz * sizeof *z), *y = malloc(b * d * sizeof *y);
	double s = 0;
	for (size_t i = 0; z && y && i < n; i += b) {
		size_t m = n - i < b ? n - i : b;
		if (fden_invnet_encode(net, x + i * d, m, z) || fden_invnet_decode(net, z, m, y)) {
			s = NAN;
			break;
		}
		for (size_t k = 0; k < m * d; k++) {
			double e = (double)y[k] - x[i * d + k];
			s += e * e; /* sum (decode(encode(x)) - x)^2 */
		}
	}
	if (!z || !y)
		s = NAN;
	free(z);
	free(y);
	return n ? s / ((double)n * (double)d) : NAN;
}

static int write_summary(const char *cmd, const struct fit_args *a, struct fden_invnet *net,
			 const float *x, size_t n, size_t d, double seconds)
{
	FILE *f = cli_open_output(cmd, a->json);
	struct json j;
	if (!f)
		return EXIT_FILE;
	json_init(&j, f);
	json_open(&j, NULL, '{');
	json_str(&j, "command", "fit");
	json_str(&j, "kind", a->kind);
	json_int(&j, "rows", (long long)n);
	json_int(&j, "input_dim", (long long)d);
	json_int(&j, "latent", (long long)fden_invnet_latent_dim(net));
	if (!strcmp(a->kind, "ae") || !strcmp(a->kind, "conv")) {
		if (!strcmp(a->kind, "ae"))
			json_int(&j, "hidden", (long long)a->hidden);
		json_int(&j, "epochs", (long long)a->epochs);
		json_int(&j, "batch", (long long)a->batch);
		json_num(&j, "lr", a->lr);
	}
	if (!strcmp(a->kind, "conv")) {
		json_num(&j, "contrast", a->contrast);
		json_num(&j, "contrast_tau", a->contrast_tau);
		json_num(&j, "aug_rotation", a->aug_rot);
		json_num(&j, "aug_scale", a->aug_scale);
		json_num(&j, "aug_shift", a->aug_shift);
	}
	json_int(&j, "seed", (long long)a->seed);
	json_int(&j, "threads", (long long)a->threads);
	json_num(&j, "train_mse", recon_mse(net, x, n, d));
	json_num(&j, "seconds", seconds);
	json_str(&j, "out", a->out);
	json_close(&j, '}');
	fputc('\n', f);
	return cli_close_output(cmd, f, a->json);
}

static void ae_log(void *user_data, int level, const char *format, va_list args)
{
	(void)user_data;
	if (cli_quiet || level > FDEN_LOG_INFO)
		return;
	fputs(user_data ? (const char *)user_data : "fden: autoencoder: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

int run_fit(const char *cmd, const struct fden_dataset *images, const struct fit_args *a_in,
	    struct fden_invnet **out)
{
	struct fit_args r = *a_in, *a = &r; /* conv: with its defaults filled in */
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
		o.threads = a->threads > INT_MAX ? INT_MAX : (int)a->threads; /* the library bounds it */
		o.log = ae_log;
		cli_info("fden: %s: autoencoder %zu-%zu-%zu, %zu rows, %zu epochs", cmd, d, a->hidden,
			 a->latent, n, a->epochs);
		rc = fden_invnet_fit_autoencoder(x, n, d, a->latent, &o, &net);
	} else if (!strcmp(a->kind, "ali")) {
		struct fden_ali_options o;
		fden_ali_options_default(&o);
		o.epochs = a->epochs ? a->epochs : o.epochs;
		o.batch = a->batch ? a->batch : o.batch;
		o.lr = a->lr > 0 ? a->lr : o.lr;
		o.base_channels = a->channels ? a->channels : o.base_channels;
		o.l2_weight = a->l2;
		o.time_budget = a->time;
		o.seed = a->seed;
		o.threads = (int)a->threads;
		o.log = ae_log;
		o.log_user_data = "fden: ";
		cli_info("fden: %s: ALI, %zu rows, latent %zu, base channels %zu, l2 weight %g, "
			 "%zu epochs, time budget %g s",
			 cmd, n, a->latent, o.base_channels,
			 o.l2_weight, o.epochs, o.time_budget);
		rc = fden_invnet_fit_ali(x, n, d, a->latent, &o, &net);
	} else if (!strcmp(a->kind, "conv")) {
		struct fden_conv_options o;
		fden_conv_options_default(&o);
		if (a->shape && parse_shape(a->shape, &o))
			return cli_usage(cmd, "--shape must be HxWxC (e.g. 28x28x1), not '%s'",
					 a->shape);
		if (strcmp(a->loss, "l2") && strcmp(a->loss, "bce"))
			return cli_usage(cmd, "--loss must be 'l2' or 'bce', not '%s'", a->loss);
		o.loss = !strcmp(a->loss, "bce") ? FDEN_CONV_LOSS_BCE : FDEN_CONV_LOSS_L2;
		o.base_channels = a->channels ? a->channels : o.base_channels;
		o.epochs = a->epochs ? a->epochs : o.epochs;
		o.batch = a->batch ? a->batch : o.batch;
		o.lr = a->lr > 0 ? a->lr : o.lr;
		o.time_budget = a->time;
		o.seed = a->seed;
		o.threads = (int)a->threads;
		o.contrast = a->contrast >= 0 ? a->contrast : o.contrast;
		o.contrast_tau = a->contrast_tau >= 0 ? a->contrast_tau : o.contrast_tau;
		o.aug_rotation = a->aug_rot >= 0 ? a->aug_rot : o.aug_rotation;
		o.aug_scale = a->aug_scale >= 0 ? a->aug_scale : o.aug_scale;
		o.aug_shift = a->aug_shift >= 0 ? a->aug_shift : o.aug_shift;
		o.log = ae_log;
		o.log_user_data = "fden: conv: ";
		a->epochs = o.epochs;
		a->batch = o.batch;
		a->lr = o.lr;
		a->contrast = o.contrast;
		a->contrast_tau = o.contrast_tau;
		a->aug_rot = o.aug_rotation;
		a->aug_scale = o.aug_scale;
		a->aug_shift = o.aug_shift;
		cli_info("fden: %s: conv autoencoder, %zu rows of %zu -> %zu, up to %zu epochs, "
			 "time budget %g s, contrast %g",
			 cmd, n, d, a->latent, a->epochs, o.time_budget, o.contrast);
		rc = fden_invnet_fit_conv(x, n, d, a->latent, &o, &net);
	} else {
		return cli_usage(cmd, "--kind must be 'ae', 'pca', 'conv' or 'ali', not '%s'",
				 a->kind);
	}
	if (rc)
		return cli_fail(cmd, rc, "fitting the %s", a->kind);
	double seconds = cli_now() - t0;
	cli_info("fden: %s: fitted in %.1f s", cmd, seconds);
	if (a->out) {
		rc = fden_invnet_save(net, a->out);
		if (rc) {
			fden_invnet_free(net);
			return cli_fail(cmd, rc, "saving '%s'", a->out);
		}
		cli_info("fden: %s: saved %s", cmd, a->out);
	}
	if (a->json && (rc = write_summary(cmd, a, net, x, n, d, seconds))) {
		fden_invnet_free(net);
		return rc;
	}
	if (out)
		*out = net;
	else
		fden_invnet_free(net);
	return 0;
}

int cmd_fit(int argc, char **argv)
{
	struct fit_args a;
	struct data_opts d;
	fit_args_default(&a);
	const struct fit_args def = a;
	a.epochs = a.batch = 0; /* 0 until parsed: the kind's default */
	a.lr = 0;
	data_opts_init(&d);
	const struct opt t[] = {
		{ .name = "kind", .type = OPT_STR, .ptr = &a.kind, .arg = "conv|ae|pca|ali", .help = "convolutional autoencoder, MLP autoencoder, PCA or ALI", .def = "conv" },
		{ .name = "latent", .type = OPT_SIZE, .ptr = &a.latent, .arg = "N", .help = "latent width", .range = OPT_POSITIVE },
		{ .name = "hidden", .type = OPT_SIZE, .ptr = &a.hidden, .arg = "N", .help = "autoencoder hidden width", .range = OPT_POSITIVE },
		{ .name = "epochs", .type = OPT_SIZE, .ptr = &a.epochs, .arg = "N", .help = "epochs", .def = "ae 10, conv 20, ali 100", .range = OPT_POSITIVE },
		{ .name = "batch", .type = OPT_SIZE, .ptr = &a.batch, .arg = "N", .help = "minibatch", .def = "ae 128, conv 64, ali 100", .range = OPT_POSITIVE },
		{ .name = "lr", .type = OPT_DBL, .ptr = &a.lr, .arg = "X", .help = "Adam learning rate", .def = "ae 1e-3, conv 2e-3, ali 1e-4", .range = OPT_POSITIVE },
		{ .name = "l2", .type = OPT_DBL, .ptr = &a.l2, .arg = "W", .help = "ali: weight of the L2 reconstruction term", .range = OPT_NONNEGATIVE },
		{ .name = "channels", .type = OPT_SIZE, .ptr = &a.channels, .arg = "N", .help = "ali: base channels; conv: channels of the first convolution", .def = "ali 8, conv 32", .range = OPT_POSITIVE },
		{ .name = "time", .type = OPT_DBL, .ptr = &a.time, .arg = "S", .help = "ali, conv: stop fitting after S seconds (0: no limit)", .range = OPT_NONNEGATIVE },
		{ .name = "loss", .type = OPT_STR, .ptr = &a.loss, .arg = "l2|bce", .help = "conv: reconstruction loss" },
		{ .name = "shape", .type = OPT_STR, .ptr = &a.shape, .arg = "HxWxC", .help = "conv: image shape, channels last", .def = "square, one channel" },
		{ .name = "contrast", .type = OPT_DBL, .ptr = &a.contrast, .arg = "W", .help = "conv: weight of the contrastive (InfoNCE) term, 0: off", .def = "0.1", .range = OPT_NONNEGATIVE },
		{ .name = "contrast-tau", .type = OPT_DBL, .ptr = &a.contrast_tau, .arg = "T", .help = "conv: InfoNCE temperature", .def = "0.2", .range = OPT_POSITIVE },
		{ .name = "aug-rotation", .type = OPT_DBL, .ptr = &a.aug_rot, .arg = "DEG", .help = "conv, --contrast: augmented view's rotation range, +- degrees (0: none)", .def = "10", .range = OPT_NONNEGATIVE },
		{ .name = "aug-scale", .type = OPT_DBL, .ptr = &a.aug_scale, .arg = "X", .help = "conv, --contrast: augmented view's scale range, 1 +- X (0: none)", .def = "0.1", .range = OPT_NONNEGATIVE },
		{ .name = "aug-shift", .type = OPT_DBL, .ptr = &a.aug_shift, .arg = "PX", .help = "conv, --contrast: augmented view's shift range, +- pixels (0: none)", .def = "2", .range = OPT_NONNEGATIVE },
		OPT_SEED(&a.seed, "random seed"),
		OPT_THREADS(&a.threads, "BLIS threads"),
		{ .name = "out", .type = OPT_STR, .ptr = &a.out, .arg = "FILE", .help = "where to save the network (required)" },
		OPT_JSON(&a.json, "a JSON summary of the fit"),
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "fit",
		.synopsis = "--out FILE (--train-images F --train-labels F | --images F --labels F --split N) [options]",
		.desc = "Fit a built-in invertible network on the images of the training classes\n"
			"only (test classes stay unseen) and save it for encode, train, eval and\n"
			"translate. Images are scaled to [0, 1] (IDX bytes times 1/255).",
		.footer = "Example:\n  fden fit --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz \\\n"
			  "           --split 5 --kind conv --latent 64 --out net.fden\n",
		.opts = t,
		.data = data_opts_table(&d, DATA_TRAIN),
	};
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (!strcmp(a.kind, "ae")) {
		a.epochs = a.epochs ? a.epochs : def.epochs;
		a.batch = a.batch ? a.batch : def.batch;
		a.lr = a.lr > 0 ? a.lr : def.lr;
	}
	if (!a.out)
		return cli_usage(spec.name, "--out FILE is required (see 'fden fit --help')");
	struct fden_dataset *train = NULL;
	rc = data_load(spec.name, &d, &train, NULL);
	if (rc)
		return rc;
	rc = run_fit(spec.name, train, &a, NULL);
	fden_dataset_free(train);
	return rc;
}
