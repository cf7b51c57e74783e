/* Inverted dropout. Each 64-bit draw decides two elements (32 bits each):
 * keep when u32 < (1 - rate) 2^32. */
#include <stdint.h>

#include "nn/dropout.h"

void fd_dropout_mask(struct fd_rng *rng, float rate, float *mask, size_t n)
{
	size_t i = 0;
	double keep = 1.0 - (double)rate;
	float tbl[2];
	uint64_t thr;

	if (rate <= 0.0f) {
		for (; i < n; i++)
			mask[i] = 1.0f;
		return;
	}
	tbl[0] = 0.0f;
	tbl[1] = (float)(1.0 / keep);          /* 1 / (1 - rate) */
	thr = (uint64_t)(keep * 4294967296.0); /* (1 - rate) 2^32, < 2^32 */
	/* table lookup, not a branch: keep/drop is random, so a branch would
	 * mispredict at rate p(1-p) */
	{
		struct fd_rng st = *rng; /* state in registers for the loop */
		for (; i + 1 < n; i += 2) {
			uint64_t r = fd_rng_next(&st);
			mask[i] = tbl[(r >> 32) < thr];
			mask[i + 1] = tbl[(r & 0xffffffffu) < thr];
		}
		if (i < n)
			mask[i] = tbl[(fd_rng_next(&st) >> 32) < thr];
		*rng = st;
	}
}

void fd_dropout_keep(struct fd_rng *rng, float rate, unsigned char *keep, size_t n)
{
	size_t i = 0;
	uint64_t thr;

	if (rate <= 0.0f) {
		for (; i < n; i++)
			keep[i] = 1;
		return;
	}
	thr = (uint64_t)((1.0 - (double)rate) * 4294967296.0); /* (1 - rate) 2^32 */
	{
		struct fd_rng st = *rng;
		for (; i + 1 < n; i += 2) { /* two decisions per draw, as fd_dropout_mask */
			uint64_t r = fd_rng_next(&st);
			keep[i] = (r >> 32) < thr;
			keep[i + 1] = (r & 0xffffffffu) < thr;
		}
		if (i < n)
			keep[i] = (fd_rng_next(&st) >> 32) < thr;
		*rng = st;
	}
}

void fd_dropout_forward(struct fd_rng *rng, float rate, const float *x,
			float *mask, float *y, size_t n)
{
	fd_dropout_mask(rng, rate, mask, n);
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] * mask[i]; /* y = x * mask */
}

void fd_dropout_backward(const float *mask, const float *dy, float *dx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * mask[i]; /* dx = dy * mask */
}
