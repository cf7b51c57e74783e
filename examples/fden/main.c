/* fden: command-line front end of libfden. `fden <command> [options]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "fit", cmd_fit, "fit a built-in invertible network (pca, ae, conv, ali) on images" },
	{ "encode", cmd_encode, "encode images to latents (.npy) through a saved network" },
	{ "train", cmd_train, "train FDEN on latents (from images through a network, or .npy)" },
	{ "eval", cmd_eval, "few-shot evaluation on unseen classes, fidelity, independence" },
	{ "translate", cmd_translate, "identity/style translation grids as PNG (paper Fig. 4)" },
	{ "demo", cmd_demo, "the whole job on a many-class set, in under 15 minutes" },
	{ "ablate", cmd_ablate, "train and evaluate a list of configurations, one table" },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "Usage: fden <command> [options]\n"
		   "       fden <command> --help\n"
		   "       fden --version\n"
		   "       fden --blis-arch FAMILY <command> [options]   (BLIS kernels: auto, blis,\n"
		   "            skx, haswell, zen3, zen2, zen; sets FDEN_BLIS_ARCH)\n\n"
		   "FDEN (Yoon & Suk): learn to split a frozen encoder's latent z into an identity\n"
		   "factor f_ide and a style factor f_sty, plugged into the host's invertible network.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nStart with:  fden demo   (glyphs of scripts/make-glyphs.py; --data fashion)\n\n"
		   "Exit status:\n"
		   "  0    success\n"
		   "  1    runtime error (a library call failed: memory, host network, ...)\n"
		   "  2    usage error (unknown command or option, bad or missing value)\n"
		   "  3    file error (cannot read or write, malformed, wrong version, bad checksum,\n"
		   "       not a regular file, output locked by another `fden train`)\n"
		   "  4    training diverged (NaN or infinity in loss or gradients)\n"
		   "  5    data do not fit the request (widths differ, too few classes or rows,\n"
		   "       NaN or infinity in the input data; the message names file, row, column)\n"
		   "  130  interrupted (SIGINT/SIGTERM); `train` saved a checkpoint first\n\n"
		   "Errors are printed to stderr as \"fden: <command>: <what>: <detail>\".\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* fden --blis-arch FAMILY <command>: libfden reads FDEN_BLIS_ARCH before
	 * its first product (a family the CPU lacks leaves BLIS's own choice) */
	if (!strcmp(argv[1], "--blis-arch") || !strncmp(argv[1], "--blis-arch=", 12)) {
		const char *v = argv[1][11] == '=' ? argv[1] + 12 : argc > 2 ? argv[2]
									     : NULL;
		int used = argv[1][11] == '=' ? 1 : 2;
		if (!v || !*v || setenv("FDEN_BLIS_ARCH", v, 1)) {
			fprintf(stderr, "fden: --blis-arch needs a kernel family (auto, blis, skx, "
					"haswell, zen3, zen2, zen)\n");
			return EXIT_USAGE;
		}
		argc -= used;
		argv += used;
		if (argc < 2) {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	const char *c = argv[1];
	if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
		if (argc > 2 && strcmp(c, "help") == 0) {
			for (size_t i = 0; i < N_COMMANDS; i++)
				if (!strcmp(argv[2], commands[i].name)) {
					char *av[] = { argv[2], "--help", NULL };
					return commands[i].run(2, av);
				}
			fprintf(stderr, "fden: unknown command '%s' (see 'fden --help')\n", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return 0;
	}
	if (!strcmp(c, "--version") || !strcmp(c, "version")) {
		printf("fden %s (libfden %s)\n", FDEN_VERSION_STRING, fden_version());
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(c, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fden: unknown command '%s' (see 'fden --help')\n", c);
	return EXIT_USAGE;
}
