/* Element-wise ops: plain loops written for the auto-vectoriser. */
#include <math.h>
#include <string.h>

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

double fd_vec_dot(const float *x, const float *y, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * y[i];
	return s;
}

double fd_vec_sumsq(const float *x, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return s;
}

double fd_vec_sum(const float *x, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s;
}

int fd_vec_all_finite(const float *x, size_t n)
{
	/* x - x is 0 for finite x and NaN for inf/NaN */
	float acc = 0.0f;

	for (size_t i = 0; i < n; i++)
		acc += x[i] - x[i];
	return acc == 0.0f;
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
