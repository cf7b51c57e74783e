/* Activation sweeps, with bias and dropout folded in. Each sweep is a
 * static always-inline body instantiated once per activation (act is a
 * constant in each instance), so every instance vectorises on its own. */
/* Let GCC if-convert the float selects (leaky ReLU and its derivative) into
 * vector blends; the library never reads floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "core/clones.h"
#include "nn/act.h"

#define FD_INLINE static inline __attribute__((always_inline))

int fd_act_valid(int act)
{
	return act == FD_ACT_LINEAR || act == FD_ACT_LEAKY ||
	       act == FD_ACT_SIGMOID || act == FD_ACT_TANH;
}

FD_INLINE void fwd_body(int act, float slope, float *restrict x, const float *restrict b,
			const float *restrict mask, float *restrict y, int rows, int cols)
{
	for (int i = 0; i < rows; i++) {
		float *restrict xr = x + (size_t)i * cols;

		if (b)
			for (int j = 0; j < cols; j++)
				xr[j] = fd_act_f(act, xr[j] + b[j], slope); /* act(x + b) */
		else
			for (int j = 0; j < cols; j++)
				xr[j] = fd_act_f(act, xr[j], slope);
		if (mask) {
			const float *restrict mr = mask + (size_t)i * cols;
			float *restrict yr = y + (size_t)i * cols;
			for (int j = 0; j < cols; j++)
				yr[j] = xr[j] * mr[j]; /* y = act * mask */
		}
	}
}

FD_CLONES void fd_act_forward(int act, float slope, float *restrict x, const float *restrict b,
			      const float *restrict mask, float *restrict y, int rows, int cols)
{
	switch (act) {
	case FD_ACT_LEAKY: fwd_body(FD_ACT_LEAKY, slope, x, b, mask, y, rows, cols); break;
	case FD_ACT_SIGMOID: fwd_body(FD_ACT_SIGMOID, slope, x, b, mask, y, rows, cols); break;
	case FD_ACT_TANH: fwd_body(FD_ACT_TANH, slope, x, b, mask, y, rows, cols); break;
	default:
		if (b || mask)
			fwd_body(FD_ACT_LINEAR, slope, x, b, mask, y, rows, cols);
		break;
	}
}

FD_INLINE void bwd_body(int act, float slope, const float *y_act, const float *dy,
			const float *mask, float *dx, float *restrict db, int rows, int cols)
{
	for (int i = 0; i < rows; i++) {
		const float *ya = y_act + (size_t)i * cols;
		const float *g = dy + (size_t)i * cols;
		float *d = dx + (size_t)i * cols;

		/* dx = dy * mask * act'(y) */
		if (mask) {
			const float *mr = mask + (size_t)i * cols;
			for (int j = 0; j < cols; j++)
				d[j] = g[j] * mr[j] * fd_act_dfy(act, ya[j], slope);
		} else {
			for (int j = 0; j < cols; j++)
				d[j] = g[j] * fd_act_dfy(act, ya[j], slope);
		}
		if (db) /* db += colsum dx */
			for (int j = 0; j < cols; j++)
				db[j] += d[j];
	}
}

FD_CLONES void fd_act_backward(int act, float slope, const float *y_act, const float *dy,
			       const float *mask, float *dx, float *db, int rows, int cols)
{
	switch (act) {
	case FD_ACT_LEAKY: bwd_body(FD_ACT_LEAKY, slope, y_act, dy, mask, dx, db, rows, cols); break;
	case FD_ACT_SIGMOID: bwd_body(FD_ACT_SIGMOID, slope, y_act, dy, mask, dx, db, rows, cols); break;
	case FD_ACT_TANH: bwd_body(FD_ACT_TANH, slope, y_act, dy, mask, dx, db, rows, cols); break;
	default: bwd_body(FD_ACT_LINEAR, slope, y_act, dy, mask, dx, db, rows, cols); break;
	}
}
