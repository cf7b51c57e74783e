/* fden encode: images -> latents (.npy) through a saved network. */
#include "cli.h"

int cmd_encode(int argc, char **argv)
{
	const char *cmd = "encode";
	const char *net_path = NULL, *images = NULL, *labels = NULL, *out = NULL, *labels_out = NULL;
	double scale = -1;
	int help = 0, quiet = 0;
	struct opt t[] = {
		{ "net", OPT_STR, &net_path, "FILE", "saved network (from 'fden fit') (required)", NULL, NULL },
		{ "images", OPT_STR, &images, "FILE", "images: IDX (.gz ok) or .npy (required)", NULL, NULL },
		{ "labels", OPT_STR, &labels, "FILE", "labels (optional; copied to --labels-out)", NULL, NULL },
		{ "scale", OPT_DBL, &scale, "S", "multiply IDX values by S (default 1/255)", NULL, NULL },
		{ "out", OPT_STR, &out, "FILE", "latents, a float32 .npy of n x latent (required)", NULL, NULL },
		{ "labels-out", OPT_STR, &labels_out, "FILE", "labels as an int32 .npy", NULL, NULL },
		{ "quiet", OPT_FLAG, &quiet, NULL, "no information lines", NULL, NULL },
		{ 0 },
	};
	if (opt_parse(cmd, t, argc, argv, &help))
		return EXIT_USAGE;
	if (help) {
		opt_help(stdout, cmd, "--net FILE --images FILE --out Z.npy [options]",
			 "Encode images into latents through a saved invertible network, for\n"
			 "'fden train' or for your own tools.",
			 t, NULL);
		return 0;
	}
	cli_quiet = quiet;
	if (!net_path || !images || !out)
		return cli_usage(cmd, "--net, --images and --out are required (see 'fden encode --help')");
	if (labels_out && !labels)
		return cli_usage(cmd, "--labels-out needs --labels");

	struct fden_invnet *net = NULL;
	struct fden_dataset *x = NULL, *z = NULL;
	int rc = fden_invnet_load(net_path, &net);
	if (rc)
		return cli_fail(cmd, rc, "loading network '%s'", net_path);
	rc = data_load_file(images, labels, scale, &x);
	if (rc) {
		rc = cli_fail(cmd, rc, "loading '%s'", images);
		goto out;
	}
	if ((rc = data_encode(cmd, net, x, &z)))
		goto out;
	rc = fden_npy_save_f32(out, fden_dataset_data(z), fden_dataset_size(z), fden_dataset_dim(z));
	if (rc) {
		rc = cli_fail(cmd, rc, "writing '%s'", out);
		goto out;
	}
	if (labels_out) {
		rc = fden_npy_save_i32(labels_out, fden_dataset_labels(z), fden_dataset_size(z));
		if (rc) {
			rc = cli_fail(cmd, rc, "writing '%s'", labels_out);
			goto out;
		}
	}
	cli_info("fden: %s: %zu rows -> %s (%zu wide)", cmd, fden_dataset_size(z), out,
		 fden_dataset_dim(z));
out:
	fden_dataset_free(x);
	fden_dataset_free(z);
	fden_invnet_free(net);
	return rc;
}
