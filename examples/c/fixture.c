/*
 * fixture: make a small, self-contained set of inputs for the other examples
 * (what `fden demo` makes from real data, in a second, from toy images):
 *   DIR/images.idx  DIR/labels.idx   8x8 toy images (IDX, 8-bit) and labels
 *   DIR/invnet.fdn                   a PCA invertible network fitted on them
 *   DIR/model.fden                   an FDEN model trained briefly on its latents
 *
 * Usage: example-fixture DIR [STEPS]
 */
#include <stdio.h>
#include <stdlib.h>

#include <fden/fden.h>

#include "toy_data.h"

#define LATENT 16
#define CLASSES 10
#define PER_CLASS 30

#define CHECK(call) \
	do { \
		int rc_ = (call); \
		if (rc_ != FDEN_OK) { \
			fprintf(stderr, "%s failed: %s (%s)\n", #call, \
				fden_strerror(rc_), fden_last_error()); \
			exit(1); \
		} \
	} while (0)

/* IDX: big-endian magic 0x0000 type ndims, then ndims big-endian sizes, then data */
static int write_idx_u8(const char *path, const unsigned char *v, size_t n, size_t rows,
			size_t cols, int ndims)
{
	FILE *f = fopen(path, "wb");
	unsigned char head[4] = { 0, 0, 0x08, (unsigned char)ndims };
	uint32_t dims[3] = { (uint32_t)n, (uint32_t)rows, (uint32_t)cols };
	size_t total = n * (ndims == 3 ? rows * cols : 1);
	int ok;

	if (!f)
		return -1;
	ok = fwrite(head, 1, 4, f) == 4;
	for (int i = 0; i < ndims; i++) {
		unsigned char be[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
		ok = ok && fwrite(be, 1, 4, f) == 4;
	}
	ok = ok && fwrite(v, 1, total, f) == total;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
	char path[4096];
	long steps = argc > 2 ? atol(argv[2]) : 50;
	size_t n = CLASSES * PER_CLASS;
	float *x = malloc(n * TOY_DIM * sizeof(*x)), *z = malloc(n * LATENT * sizeof(*z));
	int32_t *labels = malloc(n * sizeof(*labels));
	unsigned char *bytes = malloc(n * TOY_DIM);

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [STEPS]\n", argv[0]);
		return 2;
	}
	if (!x || !z || !labels || !bytes)
		return 1;
	toy_images(CLASSES, PER_CLASS, 3, x, labels);

	/* The images as 8-bit IDX; x is then re-read from the bytes so that the
	 * examples see exactly what is in the file. */
	for (size_t i = 0; i < n * TOY_DIM; i++) {
		bytes[i] = (unsigned char)(x[i] * 255.0f + 0.5f);
		x[i] = (float)bytes[i] / 255.0f;
	}
	snprintf(path, sizeof(path), "%s/images.idx", argv[1]);
	if (write_idx_u8(path, bytes, n, TOY_SIDE, TOY_SIDE, 3) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		bytes[i] = (unsigned char)labels[i];
	snprintf(path, sizeof(path), "%s/labels.idx", argv[1]);
	if (write_idx_u8(path, bytes, n, 0, 0, 1) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}

	/* A PCA network, and latents of every image. */
	struct fden_invnet *net;
	CHECK(fden_invnet_fit_pca(x, n, TOY_DIM, LATENT, 1, &net));
	CHECK(fden_invnet_encode(net, x, n, z));
	snprintf(path, sizeof(path), "%s/invnet.fdn", argv[1]);
	CHECK(fden_invnet_save(net, path));

	/* A small model trained a little on the first 7 classes. */
	struct fden_config *cfg;
	struct fden_model *model;
	CHECK(fden_config_new(&cfg));
	CHECK(fden_config_set(cfg, FDEN_P_DIM, LATENT));
	CHECK(fden_config_set(cfg, FDEN_P_DIS_WIDTH, 32));
	CHECK(fden_config_set(cfg, FDEN_P_STAT_WIDTH1, 32));
	CHECK(fden_config_set(cfg, FDEN_P_ENT_TRUNK_WIDTH, 32));
	CHECK(fden_config_set(cfg, FDEN_P_LR, 1e-3));
	CHECK(fden_model_new(cfg, &model));
	fden_config_free(cfg);

	struct fden_dataset *all, *train, *test;
	struct fden_sampler *s;
	const size_t eps = 8, ways = 5, shots = 1, queries = 1;
	size_t rows = eps * ways * (shots + queries);
	float *ez = malloc(rows * LATENT * sizeof(*ez));
	int32_t *el = malloc(rows * sizeof(*el));
	if (!ez || !el)
		return 1;
	CHECK(fden_dataset_new(z, labels, n, LATENT, &all));
	CHECK(fden_dataset_split(all, 7, &train, &test));
	CHECK(fden_sampler_new(train, ways, shots, queries, 5, &s));
	for (long i = 0; i < steps; i++) {
		struct fden_episodes b = { .struct_size = sizeof(b), .n_episodes = eps, .ways = ways, .shots = shots, .queries = queries, .z = ez, .labels = el };
		CHECK(fden_sampler_next(s, eps, ez, el, NULL));
		CHECK(fden_train_step(model, &b, NULL));
	}
	snprintf(path, sizeof(path), "%s/model.fden", argv[1]);
	CHECK(fden_model_save(model, path));
	printf("fixture in %s: %zu images, PCA %d -> %d, model after %llu steps\n", argv[1], n,
	       TOY_DIM, LATENT, (unsigned long long)fden_model_step(model));

	fden_sampler_free(s);
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(all);
	fden_model_free(model);
	fden_invnet_free(net);
	free(x);
	free(z);
	free(labels);
	free(bytes);
	free(ez);
	free(el);
	return 0;
}
