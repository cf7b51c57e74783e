/* fden encode: images -> latents (.npy) through a saved network. */
#include "cli.h"

int cmd_encode(int argc, char **argv)
{
	const char *net_path = NULL, *images = NULL, *labels = NULL, *out = NULL, *labels_out = NULL;
	double scale = -1;
	const struct opt t[] = {
		OPT_NET(&net_path, "saved network (from 'fden fit') (required)"),
		{ .name = "images", .type = OPT_STR, .ptr = &images, .arg = "FILE", .help = "images: IDX (.gz ok) or .npy (required)" },
		{ .name = "labels", .type = OPT_STR, .ptr = &labels, .arg = "FILE", .help = "labels (optional; copied to --labels-out)" },
		{ .name = "scale", .type = OPT_DBL, .ptr = &scale, .arg = "S", .help = "multiply IDX values by S", .def = "1/255", .range = OPT_POSITIVE },
		{ .name = "out", .type = OPT_STR, .ptr = &out, .arg = "FILE", .help = "latents, a float32 .npy of n x latent (required)" },
		{ .name = "labels-out", .type = OPT_STR, .ptr = &labels_out, .arg = "FILE", .help = "labels as an int32 .npy" },
		OPT_QUIET,
		OPT_END,
	};
	const struct opt_cmd spec = {
		.name = "encode",
		.synopsis = "--net FILE --images FILE --out Z.npy [options]",
		.desc = "Encode images into latents through a saved invertible network, for\n"
			"'fden train' or for your own tools.",
		.opts = t,
	};
	const char *cmd = spec.name;
	int rc = opt_parse(&spec, argc, argv);
	if (rc)
		return rc == OPT_HELP_SHOWN ? 0 : rc;
	if (!net_path || !images || !out)
		return cli_usage(cmd, "--net, --images and --out are required (see 'fden encode --help')");
	if (labels_out && !labels)
		return cli_usage(cmd, "--labels-out needs --labels");

	struct fden_invnet *net = NULL;
	struct fden_dataset *x = NULL, *z = NULL;
	rc = fden_invnet_load(net_path, &net);
	if (rc)
		return cli_fail(cmd, rc, "loading network '%s'", net_path);
	rc = data_load_file(images, labels, scale, &x);
	if (rc) {
		rc = cli_fail(cmd, rc, "loading '%s'", images);
		goto out;
	}
	if ((rc = data_check_finite(cmd, images, x)) || (rc = data_encode(cmd, net, x, &z)))
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
