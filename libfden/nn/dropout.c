/* Inverted dropout. Each 64-bit draw decides two elements (32 bits each):
 * keep when u32 < (1 - rate) 2^32. */
#include <stdint.h>
#include <string.h>

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

/* 8 bytes of 0/1 -> one byte, byte q to bit q */
static unsigned char pack8(const unsigned char *t)
{
	return (unsigned char)(t[0] | t[1] << 1 | t[2] << 2 | t[3] << 3 | t[4] << 4 | t[5] << 5 |
			       t[6] << 6 | t[7] << 7);
}

void fd_dropout_keep_bits(struct fd_rng *rng, float rate, unsigned char *bits, size_t rows,
			  int cols)
{
	enum { CH = 4096 }; /* even: the pairs of draws never straddle two chunks */
	unsigned char t[CH];
	size_t n = rows * (size_t)cols, stride = fd_keep_stride(cols), i = 0;
	int j = 0;

	memset(bits, 0, rows * stride);
	for (size_t k0 = 0; k0 < n; k0 += CH) {
		size_t len = n - k0 < CH ? n - k0 : CH;

		fd_dropout_keep(rng, rate, t, len); /* same stream as one call over n */
		if (cols % 8 == 0) {                /* rows are whole bytes: the bits are flat */
			size_t q = 0;
			for (; q + 8 <= len; q += 8)
				bits[(k0 + q) / 8] = pack8(t + q);
			for (; q < len; q++)
				bits[(k0 + q) / 8] |= (unsigned char)(t[q] << ((k0 + q) % 8));
			continue;
		}
		for (size_t q = 0; q < len; q++) { /* row by row, rows byte-aligned */
			bits[i * stride + (size_t)j / 8] |= (unsigned char)(t[q] << (j % 8));
			if (++j == cols) {
				j = 0;
				i++;
			}
		}
	}
}

void fd_keep_expand(const unsigned char *row, int cols, unsigned char *bytes)
{
	int j = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; j + 8 <= cols; j += 8) { /* spread 8 bits over 8 bytes */
		uint64_t x = row[j / 8] * 0x0101010101010101ull & 0x8040201008040201ull;
		x = ((x + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull;
		memcpy(bytes + j, &x, 8); /* little-endian: byte q = bit q */
	}
#endif
	for (; j < cols; j++)
		bytes[j] = (row[j / 8] >> (j % 8)) & 1;
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
