/* Element-wise ops: plain loops written for the auto-vectoriser. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/clones.h"
#include "kernels/vec.h"

void fd_vec_zero(float *x, size_t n)
{
	if (n)
		memset(x, 0, n * sizeof *x);
}

void fd_vec_copy(float *restrict y, const float *restrict x, size_t n)
{
	if (n)
		memcpy(y, x, n * sizeof *x);
}

void fd_vec_scale(float *x, size_t n, float a)
{
	for (size_t i = 0; i < n; i++)
		x[i] *= a;
}

void fd_vec_axpy(float *restrict y, float a, const float *restrict x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

void fd_vec_mul(float *z, const float *x, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		z[i] = x[i] * y[i];
}

/* Reductions in double with 8 independent partial sums: the compiler may
 * not reorder a single floating-point sum, so we give it 8 lanes to
 * vectorise and pipeline; the result is deterministic for a given n. */
#define LANES 8

FD_CLONES /* same per-lane order: same bits */
	double
	fd_vec_dot(const float *x, const float *y, size_t n)
{
	double acc[LANES] = { 0 }, s = 0.0;
	size_t i = 0;

	for (; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++)
			acc[l] += (double)x[i + l] * y[i + l];
	for (; i < n; i++)
		s += (double)x[i] * y[i];
	for (int l = 0; l < LANES; l++)
		s += acc[l];
	return s;
}

FD_CLONES
double fd_vec_copy_sumsq(float *restrict y, const float *restrict x, size_t n)
{
	double acc[LANES] = { 0 }, s = 0.0;
	size_t i = 0;

	for (; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++) {
			y[i + l] = x[i + l];
			acc[l] += (double)x[i + l] * x[i + l];
		}
	for (; i < n; i++) {
		y[i] = x[i];
		s += (double)x[i] * x[i];
	}
	for (int l = 0; l < LANES; l++)
		s += acc[l];
	return s;
}

double fd_vec_sumsq(const float *x, size_t n)
{
	return fd_vec_dot(x, x, n);
}

FD_CLONES
double fd_vec_sumsq_fast(const float *x, size_t n)
{
	double s = 0.0;
	size_t i = 0;

	while (i + FD_SQ_BLOCK <= n) {
		const float *b0 = x + i;
		fd_v8 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };

		for (size_t e = i + FD_SQ_BLOCK; i < e; i += 32) {
			fd_v8 x0 = *(const fd_v8u *)(x + i), x1 = *(const fd_v8u *)(x + i + 8);
			fd_v8 x2 = *(const fd_v8u *)(x + i + 16), x3 = *(const fd_v8u *)(x + i + 24);
			a0 += x0 * x0;
			a1 += x1 * x1;
			a2 += x2 * x2;
			a3 += x3 * x3;
		}
		a0 = (a0 + a1) + (a2 + a3);
		s += fd_sq_block(&a0, b0);
	}
	for (; i < n; i++)
		s += (double)x[i] * x[i];
	return s;
}

FD_CLONES
double fd_vec_sumsq2_fast(const float *x, const float *y, size_t n, double *sy)
{
	double s = 0.0, t = 0.0;
	size_t i = 0;

	while (i + FD_SQ_BLOCK <= n) {
		const float *x0 = x + i, *y0 = y + i;
		fd_v8 a0 = { 0 }, a1 = { 0 }, c0 = { 0 }, c1 = { 0 };

		for (size_t e = i + FD_SQ_BLOCK; i < e; i += 16) {
			fd_v8 x0v = *(const fd_v8u *)(x + i), x1v = *(const fd_v8u *)(x + i + 8);
			fd_v8 y0v = *(const fd_v8u *)(y + i), y1v = *(const fd_v8u *)(y + i + 8);
			a0 += x0v * x0v;
			a1 += x1v * x1v;
			c0 += y0v * y0v;
			c1 += y1v * y1v;
		}
		a0 += a1;
		c0 += c1;
		s += fd_sq_block(&a0, x0);
		t += fd_sq_block(&c0, y0);
	}
	for (; i < n; i++) {
		s += (double)x[i] * x[i];
		t += (double)y[i] * y[i];
	}
	*sy = t;
	return s;
}

double fd_vec_sum(const float *x, size_t n)
{
	double acc[LANES] = { 0 }, s = 0.0;
	size_t i = 0;

	for (; i + LANES <= n; i += LANES)
		for (int l = 0; l < LANES; l++)
			acc[l] += x[i + l];
	for (; i < n; i++)
		s += x[i];
	for (int l = 0; l < LANES; l++)
		s += acc[l];
	return s;
}

int fd_vec_all_finite(const float *x, size_t n)
{
	/* non-finite <=> exponent bits all ones; OR of a flag vectorises */
	uint32_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, x + i, sizeof u); /* the bits, without aliasing */
		bad |= (u & 0x7f800000u) == 0x7f800000u;
	}
	return !bad;
}

void fd_vec_colsum_add(float *restrict out, const float *restrict X, int rows, int cols)
{
	for (int i = 0; i < rows; i++) {
		const float *x = X + (size_t)i * cols;
		for (int j = 0; j < cols; j++)
			out[j] += x[j];
	}
}

void fd_vec_add_rows(float *restrict X, const float *restrict b, int rows, int cols)
{
	for (int i = 0; i < rows; i++) {
		float *x = X + (size_t)i * cols;
		for (int j = 0; j < cols; j++)
			x[j] += b[j];
	}
}

void fd_cols_join(float *restrict F, const float *restrict A, const float *restrict B,
		  size_t rows, int a, int b)
{
	for (size_t i = 0; i < rows; i++) {
		memcpy(F + i * (size_t)(a + b), A + i * (size_t)a, (size_t)a * sizeof *F);
		memcpy(F + i * (size_t)(a + b) + a, B + i * (size_t)b, (size_t)b * sizeof *F);
	}
}

void fd_cols_split(float *restrict A, float *restrict B, const float *restrict F, size_t rows,
		   int a, int b)
{
	for (size_t i = 0; i < rows; i++) {
		if (A)
			memcpy(A + i * (size_t)a, F + i * (size_t)(a + b), (size_t)a * sizeof *F);
		if (B)
			memcpy(B + i * (size_t)b, F + i * (size_t)(a + b) + a, (size_t)b * sizeof *F);
	}
}
