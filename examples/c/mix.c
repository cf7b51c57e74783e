/*
 * mix: give input A the style of input B (and B the style of A), and walk
 * between them one factor at a time, as the paper's Figure 4.
 *
 *   z_A, z_B = encode(x_A), encode(x_B)
 *   (i_A, s_A), (i_B, s_B) = D(z_A), D(z_B)
 *   x = decode(E(i, s)) for mixed or interpolated i, s:  f = t f_A + (1 - t) f_B
 *
 * Usage: example-mix MODEL INVNET IMAGES.idx[.gz] A B OUT.pgm
 *   A, B   row numbers of the two inputs in IMAGES (square grey images)
 * Writes a PGM image with three rows of STEPS tiles:
 *   row 1: x_A, decode(z_A), A's identity + B's style, B's identity + A's style,
 *          decode(z_B), x_B (then blank)
 *   row 2: identity from A to B, style kept from A
 *   row 3: style from A to B, identity kept from A
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>

#define STEPS 7

#define CHECK(call) \
	do { \
		int rc_ = (call); \
		if (rc_ != FDEN_OK) { \
			fprintf(stderr, "%s failed: %s (%s)\n", #call, \
				fden_strerror(rc_), fden_last_error()); \
			exit(1); \
		} \
	} while (0)

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* Write rows x cols tiles of side x side grey values in [0, 1] as binary PGM. */
static int write_pgm(const char *path, const float *tiles, size_t rows, size_t cols,
		     size_t side)
{
	size_t w = cols * (side + 1), h = rows * (side + 1);
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fprintf(f, "P5\n%zu %zu\n255\n", w, h);
	for (size_t y = 0; y < h; y++) {
		for (size_t xx = 0; xx < w; xx++) {
			size_t r = y / (side + 1), c = xx / (side + 1);
			size_t py = y % (side + 1), px = xx % (side + 1);
			float v = 1.0f; /* a white line between tiles */
			if (py < side && px < side)
				v = tiles[((r * cols + c) * side + py) * side + px];
			v = v < 0 ? 0 : (v > 1 ? 1 : v);
			fputc((int)lrintf(v * 255.0f), f);
		}
	}
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct fden_model *model;
	struct fden_invnet *net;
	struct fden_dataset *images;

	if (argc != 7) {
		fprintf(stderr, "usage: %s MODEL INVNET IMAGES.idx A B OUT.pgm\n", argv[0]);
		return 2;
	}
	CHECK(fden_model_load(argv[1], NULL, &model));
	CHECK(fden_invnet_load(argv[2], &net));
	CHECK(fden_dataset_load_idx(argv[3], NULL, 1.0 / 255.0, &images));

	size_t d = fden_model_dim(model), in = fden_invnet_input_dim(net);
	size_t side = (size_t)lround(sqrt((double)in));
	size_t n = fden_dataset_size(images);
	long a = atol(argv[4]), b = atol(argv[5]);
	if (side * side != in || fden_dataset_dim(images) != in || fden_invnet_latent_dim(net) != d) {
		fprintf(stderr, "need square images matching the network and model\n");
		return 1;
	}
	if (a < 0 || b < 0 || (size_t)a >= n || (size_t)b >= n) {
		fprintf(stderr, "A and B must be in [0, %zu)\n", n);
		return 1;
	}

	/* Encode and disentangle the two inputs at once: rows 0 (A) and 1 (B). */
	const float *x = fden_dataset_data(images);
	float *xab = xmalloc(2 * in * sizeof(float)), *z = xmalloc(2 * d * sizeof(float));
	float *ide = xmalloc(2 * d * sizeof(float)), *sty = xmalloc(2 * d * sizeof(float));
	memcpy(xab, x + (size_t)a * in, in * sizeof(float));
	memcpy(xab + in, x + (size_t)b * in, in * sizeof(float));
	CHECK(fden_invnet_encode(net, xab, 2, z));
	CHECK(fden_disentangle(model, z, 2, ide, sty));

	/* Build every (identity, style) pair to show, STEPS per row. */
	size_t rows = 3, tiles = rows * STEPS;
	float *ti = xmalloc(tiles * d * sizeof(float)), *ts = xmalloc(tiles * d * sizeof(float));
	for (size_t k = 0; k < STEPS; k++) {
		float t = 1.0f - (float)k / (STEPS - 1); /* 1 = A, 0 = B */
		for (size_t j = 0; j < d; j++) {
			float mi = t * ide[j] + (1 - t) * ide[d + j]; /* f = t f_A + (1-t) f_B */
			float ms = t * sty[j] + (1 - t) * sty[d + j];
			ti[(STEPS + k) * d + j] = mi; /* row 2: identity walks */
			ts[(STEPS + k) * d + j] = sty[j];
			ti[(2 * STEPS + k) * d + j] = ide[j]; /* row 3: style walks */
			ts[(2 * STEPS + k) * d + j] = ms;
		}
	}
	/* row 1, tiles 2 and 3: swapped factors (the other tiles are replaced
	 * below by originals; give them A's factors meanwhile) */
	for (size_t k = 0; k < STEPS; k++) {
		memcpy(ti + k * d, ide, d * sizeof(float));
		memcpy(ts + k * d, sty, d * sizeof(float));
	}
	for (size_t j = 0; j < d; j++) {
		ti[2 * d + j] = ide[j];
		ts[2 * d + j] = sty[d + j];
		ti[3 * d + j] = ide[d + j];
		ts[3 * d + j] = sty[j];
	}

	/* Entangle all pairs and decode them through the host network. */
	float *zt = xmalloc(tiles * d * sizeof(float)), *img = xmalloc(tiles * in * sizeof(float));
	CHECK(fden_entangle(model, ti, ts, tiles, zt));
	CHECK(fden_invnet_decode(net, zt, tiles, img));
	/* row 1: originals and the host's own reconstructions around the swaps */
	memcpy(img + 0 * in, xab, in * sizeof(float));
	CHECK(fden_invnet_decode(net, z, 1, img + 1 * in));
	CHECK(fden_invnet_decode(net, z + d, 1, img + 4 * in));
	memcpy(img + 5 * in, xab + in, in * sizeof(float));
	for (size_t k = 6; k < STEPS; k++)
		for (size_t i = 0; i < in; i++)
			img[k * in + i] = 1.0f;

	if (write_pgm(argv[6], img, rows, STEPS, side) != 0) {
		fprintf(stderr, "cannot write %s\n", argv[6]);
		return 1;
	}
	printf("wrote %s (%zu x %zu tiles of %zux%zu)\n", argv[6], rows, (size_t)STEPS, side,
	       side);

	free(xab);
	free(z);
	free(ide);
	free(sty);
	free(ti);
	free(ts);
	free(zt);
	free(img);
	fden_dataset_free(images);
	fden_invnet_free(net);
	fden_model_free(model);
	return 0;
}
