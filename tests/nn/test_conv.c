/* Convolution layers: the forward against a direct sum (conv), the
 * transposed convolution as the exact adjoint of the convolution, and
 * finite-difference checks of both w.r.t. their input and weights, over
 * odd sizes, stride 1 and 2, padding 0 and 1, several channels, output
 * padding; geometry checks. See fdcheck.h for the loss and tolerance. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fdcheck.h"
#include "core/alloc.h"
#include "kernels/rng.h"
#include "nn/conv.h"
#include "nn/convt.h"
#include "../testutil.h"

#define EPS 2e-2f

static void fill(struct fd_rng *r, float *x, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		x[i] = lo + (hi - lo) * fd_rng_uniform(r);
}

static float *lib_floats(size_t n)
{
	float *p = fd_malloc(NULL, n * sizeof(float));

	ck_assert_ptr_nonnull(p);
	return p;
}

/* {h, w, c, oc, k, s, p, n} */
static const int conv_cases[][8] = {
	{ 5, 6, 3, 4, 3, 1, 1, 2 }, /* odd, stride 1, pad 1 */
	{ 7, 5, 2, 3, 4, 2, 1, 2 }, /* odd, stride 2, pad 1, k 4 */
	{ 6, 7, 3, 2, 3, 2, 0, 3 }, /* stride 2, pad 0 */
	{ 5, 5, 2, 3, 1, 1, 0, 2 }, /* 1x1 */
	{ 4, 4, 1, 2, 4, 2, 1, 3 }, /* the AE's first layer, small */
};

/* Z by the definition in conv.h */
static void conv_direct(const struct fd_conv2d *g, const float *X, int n, const float *W,
			float *Z)
{
	for (int b = 0; b < n; b++)
		for (int y = 0; y < g->oh; y++)
			for (int x = 0; x < g->ow; x++)
				for (int o = 0; o < g->oc; o++) {
					double s = 0;
					for (int ky = 0; ky < g->k; ky++)
						for (int kx = 0; kx < g->k; kx++)
							for (int ci = 0; ci < g->c; ci++) {
								int iy = y * g->s - g->p + ky;
								int ix = x * g->s - g->p + kx;
								if (iy < 0 || iy >= g->h || ix < 0 ||
								    ix >= g->w)
									continue;
								s += (double)X[((size_t)(b * g->h + iy) * g->w + ix) * g->c + ci] *
								     W[((size_t)(ky * g->k + kx) * g->c + ci) * g->oc + o];
							}
					Z[((size_t)(b * g->oh + y) * g->ow + x) * g->oc + o] = (float)s;
				}
}

struct conv_ctx {
	struct fd_conv2d g;
	int n;
	float *X, *W, *col, *Z, *dY0;
};

static double conv_loss(void *p)
{
	struct conv_ctx *c = p;

	fd_conv2d_forward(&c->g, c->X, c->n, c->W, c->col, c->Z, 1, 1);
	return fdc_dot(c->dY0, c->Z, (size_t)c->n * fd_conv2d_out_floats(&c->g));
}

START_TEST(test_conv_forward_direct)
{
	const int *t = conv_cases[_i];
	struct fd_conv2d g;
	struct fd_rng r;
	size_t nin, nout, nw;
	float *X, *W, *col, *Z, *R;

	ck_assert_int_eq(fd_conv2d_init(&g, t[0], t[1], t[2], t[3], t[4], t[5], t[6]), 0);
	nin = t[7] * fd_conv2d_in_floats(&g);
	nout = t[7] * fd_conv2d_out_floats(&g);
	nw = (size_t)g.k * g.k * g.c * g.oc;
	X = lib_floats(nin);
	W = lib_floats(nw);
	col = lib_floats(fd_conv2d_col_floats(&g, t[7]));
	Z = lib_floats(nout);
	R = lib_floats(nout);
	fd_rng_seed(&r, 7 + _i);
	fill(&r, X, nin, -1, 1);
	fill(&r, W, nw, -1, 1);
	fd_conv2d_forward(&g, X, t[7], W, col, Z, 2, 1);
	conv_direct(&g, X, t[7], W, R);
	for (size_t i = 0; i < nout; i++)
		ck_assert_msg(fabsf(Z[i] - R[i]) <= 1e-5f * (1 + fabsf(R[i])),
			      "case %d: Z[%zu] %g, direct %g", _i, i, Z[i], R[i]);
	fd_free(NULL, X);
	fd_free(NULL, W);
	fd_free(NULL, col);
	fd_free(NULL, Z);
	fd_free(NULL, R);
}
END_TEST

START_TEST(test_conv_fd)
{
	const int *t = conv_cases[_i];
	struct conv_ctx c;
	struct fd_rng r;
	size_t nin, nout, nw;
	float *dX, *dW, *dcol;

	ck_assert_int_eq(fd_conv2d_init(&c.g, t[0], t[1], t[2], t[3], t[4], t[5], t[6]), 0);
	c.n = t[7];
	nin = c.n * fd_conv2d_in_floats(&c.g);
	nout = c.n * fd_conv2d_out_floats(&c.g);
	nw = (size_t)c.g.k * c.g.k * c.g.c * c.g.oc;
	c.X = lib_floats(nin);
	c.W = lib_floats(nw);
	c.col = lib_floats(fd_conv2d_col_floats(&c.g, c.n));
	c.Z = lib_floats(nout);
	c.dY0 = lib_floats(nout);
	dX = lib_floats(nin);
	dW = lib_floats(nw);
	dcol = lib_floats(fd_conv2d_col_floats(&c.g, c.n));
	fd_rng_seed(&r, 11 + _i);
	fill(&r, c.X, nin, -1, 1);
	fill(&r, c.W, nw, -1, 1);
	fill(&r, c.dY0, nout, -1, 1);
	fill(&r, dX, nin, 5, 6); /* overwritten */
	fill(&r, dW, nw, 5, 6);  /* overwritten with beta_w 0 */
	conv_loss(&c);
	fd_conv2d_backward(&c.g, c.col, c.dY0, c.n, c.W, 0.0f, dW, dcol, dX, 1, 1);
	fdc_check(conv_loss, &c, c.X, dX, nin, EPS, 0, "conv dX");
	fdc_check(conv_loss, &c, c.W, dW, nw, EPS, 0, "conv dW");
	/* beta_w 1 adds: a second backward doubles dW */
	memcpy(dcol, dW, nw * sizeof(float)); /* dcol as a spare copy */
	fd_conv2d_backward(&c.g, c.col, c.dY0, c.n, c.W, 1.0f, dW, dcol + nw, NULL, 1, 1);
	for (size_t i = 0; i < nw; i++)
		ck_assert_float_eq_tol(dW[i], 2 * dcol[i], 1e-4f * (1 + fabsf(dcol[i])));
	fd_free(NULL, c.X);
	fd_free(NULL, c.W);
	fd_free(NULL, c.col);
	fd_free(NULL, c.Z);
	fd_free(NULL, c.dY0);
	fd_free(NULL, dX);
	fd_free(NULL, dW);
	fd_free(NULL, dcol);
}
END_TEST

/* {h, w, c, oc, k, s, p, opad, n} */
static const int convt_cases[][9] = {
	{ 3, 4, 3, 2, 4, 2, 1, 0, 2 }, /* doubling, k 4 pad 1 */
	{ 3, 3, 2, 3, 3, 2, 1, 1, 2 }, /* odd kernel, output padding */
	{ 4, 3, 2, 2, 3, 1, 0, 0, 3 }, /* stride 1, pad 0 */
	{ 2, 3, 3, 2, 4, 2, 0, 1, 2 }, /* pad 0, output padding */
	{ 5, 5, 2, 1, 4, 2, 1, 0, 2 }, /* one output channel (the AE's last) */
};

struct convt_ctx {
	struct fd_convt2d g;
	int n;
	float *X, *W, *col, *Z, *dY0;
};

static double convt_loss(void *p)
{
	struct convt_ctx *c = p;

	fd_convt2d_forward(&c->g, c->X, c->n, c->W, c->col, c->Z, 1, 1);
	return fdc_dot(c->dY0, c->Z, (size_t)c->n * fd_convt2d_out_floats(&c->g));
}

START_TEST(test_convt_fd)
{
	const int *t = convt_cases[_i];
	struct convt_ctx c;
	struct fd_rng r;
	size_t nin, nout, nw;
	float *dX, *dW, *dcol;

	ck_assert_int_eq(fd_convt2d_init(&c.g, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]), 0);
	c.n = t[8];
	nin = c.n * fd_convt2d_in_floats(&c.g);
	nout = c.n * fd_convt2d_out_floats(&c.g);
	nw = (size_t)c.g.c * c.g.k * c.g.k * c.g.oc;
	c.X = lib_floats(nin);
	c.W = lib_floats(nw);
	c.col = lib_floats(fd_convt2d_col_floats(&c.g, c.n));
	c.Z = lib_floats(nout);
	c.dY0 = lib_floats(nout);
	dX = lib_floats(nin);
	dW = lib_floats(nw);
	dcol = lib_floats(fd_convt2d_col_floats(&c.g, c.n));
	fd_rng_seed(&r, 23 + _i);
	fill(&r, c.X, nin, -1, 1);
	fill(&r, c.W, nw, -1, 1);
	fill(&r, c.dY0, nout, -1, 1);
	fill(&r, dX, nin, 5, 6);
	fill(&r, dW, nw, 5, 6);
	fd_convt2d_backward(&c.g, c.X, c.dY0, c.n, c.W, 0.0f, dW, dcol, dX, 1, 1);
	fdc_check(convt_loss, &c, c.X, dX, nin, EPS, 0, "convt dX");
	fdc_check(convt_loss, &c, c.W, dW, nw, EPS, 0, "convt dW");
	fd_free(NULL, c.X);
	fd_free(NULL, c.W);
	fd_free(NULL, c.col);
	fd_free(NULL, c.Z);
	fd_free(NULL, c.dY0);
	fd_free(NULL, dX);
	fd_free(NULL, dW);
	fd_free(NULL, dcol);
}
END_TEST

/* <convT(X), Y> = <X, conv(Y)> when the conv maps the convT's output shape
 * back to its input shape with the transposed weights. */
START_TEST(test_convt_adjoint)
{
	const int *t = convt_cases[_i];
	struct fd_convt2d gt;
	struct fd_conv2d gc;
	struct fd_rng r;
	size_t nin, nout, nw;
	float *X, *Y, *Wt, *Wc, *colt, *colc, *Zt, *Zc;
	double lhs, rhs;
	int n = t[8];

	ck_assert_int_eq(fd_convt2d_init(&gt, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]), 0);
	ck_assert_int_eq(fd_conv2d_init(&gc, gt.oh, gt.ow, gt.oc, gt.c, gt.k, gt.s, gt.p), 0);
	ck_assert_int_eq(gc.oh, gt.h);
	ck_assert_int_eq(gc.ow, gt.w);
	nin = n * fd_convt2d_in_floats(&gt);
	nout = n * fd_convt2d_out_floats(&gt);
	nw = (size_t)gt.c * gt.k * gt.k * gt.oc;
	X = lib_floats(nin);
	Zc = lib_floats(nin);
	Y = lib_floats(nout);
	Zt = lib_floats(nout);
	Wt = lib_floats(nw);
	Wc = lib_floats(nw);
	colt = lib_floats(fd_convt2d_col_floats(&gt, n));
	colc = lib_floats(fd_conv2d_col_floats(&gc, n));
	fd_rng_seed(&r, 31 + _i);
	fill(&r, X, nin, -1, 1);
	fill(&r, Y, nout, -1, 1);
	fill(&r, Wt, nw, -1, 1);
	/* Wc (kk oc x c) = Wt^T (Wt: c x kk oc) */
	for (int ci = 0; ci < gt.c; ci++)
		for (int j = 0; j < gt.k * gt.k * gt.oc; j++)
			Wc[(size_t)j * gt.c + ci] = Wt[(size_t)ci * gt.k * gt.k * gt.oc + j];
	fd_convt2d_forward(&gt, X, n, Wt, colt, Zt, 1, 1);
	fd_conv2d_forward(&gc, Y, n, Wc, colc, Zc, 1, 1);
	lhs = fdc_dot(Zt, Y, nout);
	rhs = fdc_dot(X, Zc, nin);
	ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(lhs)), "case %d: <convT X, Y> %g, "
								 "<X, conv Y> %g",
		      _i, lhs, rhs);
	ck_assert_msg(fabs(lhs) > 1e-3, "case %d: degenerate product %g", _i, lhs);
	fd_free(NULL, X);
	fd_free(NULL, Zc);
	fd_free(NULL, Y);
	fd_free(NULL, Zt);
	fd_free(NULL, Wt);
	fd_free(NULL, Wc);
	fd_free(NULL, colt);
	fd_free(NULL, colc);
}
END_TEST

START_TEST(test_geometry)
{
	struct fd_conv2d g;
	struct fd_convt2d t;

	ck_assert_int_eq(fd_conv2d_init(&g, 28, 28, 1, 32, 4, 2, 1), 0);
	ck_assert_int_eq(g.oh, 14);
	ck_assert_int_eq(fd_conv2d_init(&g, 7, 7, 1, 1, 4, 2, 1), 0);
	ck_assert_int_eq(g.oh, 3);
	ck_assert_int_eq(fd_convt2d_init(&t, 7, 7, 64, 32, 4, 2, 1, 0), 0);
	ck_assert_int_eq(t.oh, 14);
	ck_assert_int_eq(fd_convt2d_init(&t, 3, 3, 1, 1, 4, 2, 1, 1), 0);
	ck_assert_int_eq(t.oh, 7);
	ck_assert_int_eq(fd_conv2d_init(&g, 2, 2, 1, 1, 5, 1, 1), -1); /* empty output */
	ck_assert_int_eq(fd_conv2d_init(&g, 4, 4, 1, 1, 3, 1, 3), -1); /* p >= k */
	ck_assert_int_eq(fd_conv2d_init(&g, 4, 4, 0, 1, 3, 1, 1), -1);
	ck_assert_int_eq(fd_convt2d_init(&t, 3, 3, 1, 1, 4, 2, 1, 2), -1); /* opad >= s */
	ck_assert_int_eq(fd_convt2d_init(&t, 1, 1, 1, 1, 1, 1, 0, 0), 0);
	ck_assert_int_eq(t.oh, 1);
	ck_assert_int_eq(fd_convt2d_init(&t, 1 << 16, 1 << 16, 1, 1, 1, 1, 0, 0), -1);
}
END_TEST

static Suite *conv_suite(void)
{
	Suite *s = suite_create("conv");
	TCase *tc = tcase_create("layers");
	int nc = (int)(sizeof conv_cases / sizeof conv_cases[0]);
	int nt = (int)(sizeof convt_cases / sizeof convt_cases[0]);

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_conv_forward_direct, 0, nc);
	tcase_add_loop_test(tc, test_conv_fd, 0, nc);
	tcase_add_loop_test(tc, test_convt_fd, 0, nt);
	tcase_add_loop_test(tc, test_convt_adjoint, 0, nt);
	tcase_add_test(tc, test_geometry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(conv_suite(), 0);
}
