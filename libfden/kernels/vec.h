/* Element-wise vector ops and reductions on float32 arrays. Products of
 * matrices go through gemm.h; these are the cheap sweeps around them. */
#ifndef FD_KERNELS_VEC_H
#define FD_KERNELS_VEC_H

#include <math.h>
#include <stddef.h>

/* Eight float lanes as one value (GCC's and clang's vector extension): every
 * clone does the same operations lane by lane, so the same bits. Load and
 * store through fd_v8u, which may alias floats at any float address. */
typedef float fd_v8 __attribute__((vector_size(32)));
typedef float fd_v8u __attribute__((vector_size(32), aligned(4), may_alias));

/* x = 0 */
void fd_vec_zero(float *x, size_t n);
/* y = x */
void fd_vec_copy(float *restrict y, const float *restrict x, size_t n);
/* x = a x */
void fd_vec_scale(float *x, size_t n, float a);
/* y += a x */
void fd_vec_axpy(float *restrict y, float a, const float *restrict x, size_t n);
/* z = x * y (element-wise; z may alias x or y) */
void fd_vec_mul(float *z, const float *x, const float *y, size_t n);
/* sum x y, accumulated in double */
double fd_vec_dot(const float *x, const float *y, size_t n);
/* y = x and return sum x^2 (one pass; the sum as fd_vec_sumsq, same bits) */
double fd_vec_copy_sumsq(float *restrict y, const float *restrict x, size_t n);
/* sum x^2, accumulated in double */
double fd_vec_sumsq(const float *x, size_t n);
/* sum x^2 for norms: float sums of squares over blocks of 1024 (8 lanes x
 * 4), the block sums added in double; 4-5 times fd_vec_sumsq's speed on
 * data in cache, relative error about 1e-6 (gradient norms and clipping,
 * not losses). A block whose float sum is not finite is summed again in
 * double, so the result is not finite iff an element is not. */
double fd_vec_sumsq_fast(const float *x, size_t n);
/* fd_vec_sumsq_fast of x (returned) and of y (in *sy) in one pass */
double fd_vec_sumsq2_fast(const float *x, const float *y, size_t n, double *sy);
/* fd_vec_sumsq_fast's blocks: floats per float partial sum */
#define FD_SQ_BLOCK 1024
/* One block's sum of squares from its 8-lane float accumulator (lanes added
 * in a fixed order), in double; when that is not finite (an element is, or
 * the squares pass FLT_MAX) the FD_SQ_BLOCK floats at x are summed again in
 * double. For the loops that square a block while they make it. (acc by
 * address: a vector argument's ABI differs between the clones.) */
static inline double fd_sq_block(const fd_v8 *acc, const float *x)
{
	float b = 0.0f;

	for (int l = 0; l < 8; l++)
		b += (*acc)[l];
	return isfinite(b) ? (double)b : fd_vec_sumsq(x, FD_SQ_BLOCK);
}
/* sum x, accumulated in double */
double fd_vec_sum(const float *x, size_t n);
/* 1 if every element is finite, else 0 */
int fd_vec_all_finite(const float *x, size_t n);
/* out[j] += sum_i X[i, j], X is rows x cols row-major */
void fd_vec_colsum_add(float *restrict out, const float *restrict X, int rows, int cols);
/* X[i, :] += b for every row i */
void fd_vec_add_rows(float *restrict X, const float *restrict b, int rows, int cols);
/* F = [A, B] row by row: A is rows x a, B rows x b, F rows x (a + b) */
void fd_cols_join(float *restrict F, const float *restrict A, const float *restrict B,
		  size_t rows, int a, int b);
/* [A, B] = F, the inverse of fd_cols_join; A or B may be NULL (not wanted) */
void fd_cols_split(float *restrict A, float *restrict B, const float *restrict F, size_t rows,
		   int a, int b);

#endif
