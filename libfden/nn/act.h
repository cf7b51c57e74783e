/* Activations: leaky ReLU, sigmoid, tanh, linear (enum fd_act).
 * Derivatives are taken from the OUTPUT y = act(x), so backward needs only
 * the cached activations (leaky: needs slope >= 0, checked by the MLP). */
#ifndef FD_NN_ACT_H
#define FD_NN_ACT_H

#include <math.h>
#include <stddef.h>

enum fd_act {
	FD_ACT_LINEAR = 0,
	FD_ACT_LEAKY = 1,   /* x > 0 ? x : slope * x */
	FD_ACT_SIGMOID = 2, /* 1 / (1 + exp(-x)) */
	FD_ACT_TANH = 3,
};

/* y = act(x) */
static inline float fd_act_f(int act, float x, float slope)
{
	switch (act) {
	case FD_ACT_LEAKY: return x > 0.0f ? x : slope * x;   /* max(x, slope x) */
	case FD_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x)); /* 1 / (1 + e^-x) */
	case FD_ACT_TANH: return tanhf(x);
	default: return x;
	}
}

/* act'(x) written in terms of y = act(x) */
static inline float fd_act_dfy(int act, float y, float slope)
{
	switch (act) {
	case FD_ACT_LEAKY: return y > 0.0f ? 1.0f : slope; /* 1 or slope */
	case FD_ACT_SIGMOID: return y * (1.0f - y);        /* s (1 - s) */
	case FD_ACT_TANH: return 1.0f - y * y;             /* 1 - t^2 */
	default: return 1.0f;
	}
}

/* 1 for the values of enum fd_act, else 0 */
int fd_act_valid(int act);

/* x = act(x + b) row by row (b: cols floats, or NULL for no bias), then,
 * when mask is not NULL, y = x * mask (inverted dropout folded in; x keeps
 * the activation for backward). One sweep. */
void fd_act_forward(int act, float slope, float *restrict x, const float *restrict b,
		    const float *restrict mask, float *restrict y, int rows, int cols);

/* dx = dy * [mask] * act'(y_act) where y_act is the cached activation; then,
 * when db is not NULL, db[j] += sum_i dx[i, j]. dx may alias dy. One sweep. */
void fd_act_backward(int act, float slope, const float *y_act, const float *dy,
		     const float *mask, float *dx, float *db, int rows, int cols);

#endif
