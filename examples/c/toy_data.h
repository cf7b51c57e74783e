/*
 * Toy data for the examples: 8x8 grey images of N classes. Each class is a
 * fixed random pattern (its identity); each image adds a brightness, a
 * contrast and a one-pixel shift (its style) and a little noise.
 * A stand-in for your own images; nothing here is part of libfden.
 */
#ifndef FDEN_EXAMPLE_TOY_DATA_H
#define FDEN_EXAMPLE_TOY_DATA_H

#include <stdint.h>
#include <stdlib.h>

#define TOY_SIDE 8
#define TOY_DIM (TOY_SIDE * TOY_SIDE)

/* xorshift64*: a tiny seeded generator, so the examples are reproducible */
static inline double toy_uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/*
 * Fill x (n x TOY_DIM, values in [0, 1]) and labels (n) with per_class images
 * of each of n_classes classes, n = n_classes * per_class.
 */
static inline void toy_images(size_t n_classes, size_t per_class, uint64_t seed,
			      float *x, int32_t *labels)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
	float *proto = malloc(n_classes * TOY_DIM * sizeof(*proto));

	if (!proto)
		return;
	for (size_t i = 0; i < n_classes * TOY_DIM; i++)
		proto[i] = toy_uniform(&s) < 0.4 ? 1.0f : 0.0f;
	for (size_t c = 0; c < n_classes; c++) {
		for (size_t k = 0; k < per_class; k++) {
			size_t row = c * per_class + k;
			float bright = 0.3f * (float)toy_uniform(&s); /* style */
			float contrast = 0.5f + 0.5f * (float)toy_uniform(&s);
			int shift = (int)(toy_uniform(&s) * 3.0) - 1; /* -1, 0, 1 */

			labels[row] = (int32_t)c;
			for (int r = 0; r < TOY_SIDE; r++) {
				for (int q = 0; q < TOY_SIDE; q++) {
					int qs = (q + shift + TOY_SIDE) % TOY_SIDE;
					float v = bright + contrast * proto[c * TOY_DIM + r * TOY_SIDE + qs] + 0.05f * (float)(toy_uniform(&s) - 0.5);
					x[row * TOY_DIM + r * TOY_SIDE + q] = v < 0 ? 0 : (v > 1 ? 1 : v);
				}
			}
		}
	}
	free(proto);
}

#endif
