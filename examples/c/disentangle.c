/*
 * disentangle: split inputs into identity and style factors with a saved
 * model. The simplest use of libfden; read this one first.
 *
 *   x --(invertible network: encode)--> z --(FDEN: disentangle)--> f_ide, f_sty
 *
 * Usage: example-disentangle MODEL INVNET IMAGES.idx[.gz] OUT_PREFIX [N]
 *   MODEL   a model saved by fden_model_save() (e.g. by `fden train`)
 *   INVNET  a built-in network saved by fden_invnet_save() (PCA, an autoencoder, ALI)
 *   IMAGES  IDX images (8-bit values are scaled by 1/255)
 * Writes OUT_PREFIX-ide.npy and OUT_PREFIX-sty.npy (N x Dim float32; N
 * defaults to all images) and prints how well E(f_ide, f_sty) gives z back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "%s: %s (%s)\n", what, fden_strerror(rc), fden_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	struct fden_model *model = NULL;
	struct fden_invnet *net = NULL;
	struct fden_dataset *images = NULL;
	float *z = NULL, *ide = NULL, *sty = NULL, *zt = NULL;
	char path[4096];
	int rc, status = 1;

	if (argc < 5) {
		fprintf(stderr, "usage: %s MODEL INVNET IMAGES.idx OUT_PREFIX [N]\n", argv[0]);
		return 2;
	}

	/* 1. Load the three inputs. Every call returns a status; on failure
	 *    fden_last_error() says which file and why. */
	if ((rc = fden_model_load(argv[1], NULL, &model)) != FDEN_OK)
		return fail(argv[1], rc);
	if ((rc = fden_invnet_load(argv[2], &net)) != FDEN_OK) {
		fail(argv[2], rc);
		goto out;
	}
	if ((rc = fden_dataset_load_idx(argv[3], NULL, 1.0 / 255.0, &images)) != FDEN_OK) {
		fail(argv[3], rc);
		goto out;
	}

	size_t dim = fden_model_dim(model);
	size_t n = fden_dataset_size(images);
	if (argc > 5 && (size_t)atol(argv[5]) < n)
		n = (size_t)atol(argv[5]);
	if (fden_dataset_dim(images) != fden_invnet_input_dim(net) ||
	    fden_invnet_latent_dim(net) != dim) {
		fprintf(stderr, "sizes do not fit: images %zu wide, network %zu -> %zu, model Dim %zu\n",
			fden_dataset_dim(images), fden_invnet_input_dim(net),
			fden_invnet_latent_dim(net), dim);
		goto out;
	}

	z = malloc(n * dim * sizeof(*z));
	ide = malloc(n * dim * sizeof(*ide));
	sty = malloc(n * dim * sizeof(*sty));
	zt = malloc(n * dim * sizeof(*zt));
	if (!z || !ide || !sty || !zt) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}

	/* 2. Images -> latents through the (frozen) invertible network. */
	if ((rc = fden_invnet_encode(net, fden_dataset_data(images), n, z)) != FDEN_OK) {
		fail("encode", rc);
		goto out;
	}
	/* 3. Latents -> identity and style factors (evaluation mode). */
	if ((rc = fden_disentangle(model, z, n, ide, sty)) != FDEN_OK) {
		fail("disentangle", rc);
		goto out;
	}
	/* 4. And back: z~ = E(f_ide, f_sty). How close is it to z? */
	if ((rc = fden_entangle(model, ide, sty, n, zt)) != FDEN_OK) {
		fail("entangle", rc);
		goto out;
	}
	double se = 0, ss = 0;
	for (size_t i = 0; i < n * dim; i++) {
		se += (double)(z[i] - zt[i]) * (z[i] - zt[i]);
		ss += (double)z[i] * z[i];
	}
	printf("%zu inputs, Dim %zu: ||z - E(D(z))||^2 / ||z||^2 = %.4f\n", n, dim,
	       ss > 0 ? se / ss : 0.0);

	/* 5. Save the factors as NumPy arrays. */
	snprintf(path, sizeof(path), "%s-ide.npy", argv[4]);
	if ((rc = fden_npy_save_f32(path, ide, n, dim)) != FDEN_OK) {
		fail(path, rc);
		goto out;
	}
	printf("wrote %s\n", path);
	snprintf(path, sizeof(path), "%s-sty.npy", argv[4]);
	if ((rc = fden_npy_save_f32(path, sty, n, dim)) != FDEN_OK) {
		fail(path, rc);
		goto out;
	}
	printf("wrote %s\n", path);
	status = 0;
out:
	free(z);
	free(ide);
	free(sty);
	free(zt);
	fden_dataset_free(images); /* every _free accepts NULL */
	fden_invnet_free(net);
	fden_model_free(model);
	return status;
}
