/* Finite differences for the nn suites.
 *
 * Loss: L = sum dY0 * Y with a fixed random dY0, accumulated in double, so
 * dL/dY = dY0 and the backward pass under test receives dY0.
 *
 * Numerical slope: central differences at steps h and h/2, combined by
 * Richardson extrapolation, num = (4 D(h/2) - D(h)) / 3, which cancels the
 * h^2 truncation term. h = 2e-2. The step actually taken ((float)(t + h) - t)
 * is used, so the representation error of the perturbed value does not enter.
 *
 * Tolerance, float32: the forward runs in float, so L carries rounding
 * noise of ~1e-7 |L| per op, amplified where batch norm divides by a small
 * spread; measured, the loss noise stays below ~1e-6, i.e. < 1e-4 in the
 * slope after division by the step. Truncation is O(h^4) after
 * extrapolation. Plain central differences were tried first: at h = 1e-2
 * an output batch-norm layer showed 3e-3 of curvature error, and at
 * h = 1e-3 the rounding noise reached 2e-3, so the extrapolation is needed
 * to separate real errors from float32 limits. We accept
 * |num - ana| <= ATOL + RTOL max(|num|, |ana|), ATOL = 5e-4, RTOL = 1e-2:
 * 5-10x above the largest error measured on correct code (~5e-5), while any
 * real bug (missing term, wrong sign or factor, wrong index) moves a
 * gradient by O(|gradient|), well beyond 1e-2 relative.
 *
 * Kinks (leaky ReLU at 0): for a smooth loss the gap between forward and
 * backward one-sided slopes is h f'' + O(h^3), so gap(h) - 2 gap(h/2) is
 * O(h^3); a kink inside the stencil makes it O(jump in slope). With `kinks`
 * set, a coordinate that fails AND shows |gap(h) - 2 gap(h/2)| above the
 * tolerance has a kink within the step, where a finite difference means
 * nothing; it is counted as a kink instead of a failure, and callers bound
 * the number of kinks. */
#ifndef FD_TEST_FDCHECK_H
#define FD_TEST_FDCHECK_H

#include <check.h>
#include <math.h>
#include <stdio.h>

#define FDC_ATOL 5e-4
#define FDC_RTOL 1e-2

typedef double (*fdc_loss_fn)(void *ctx);

struct fdc_stats {
	double max_abs; /* max |num - ana| */
	double max_rel; /* max |num - ana| / max(|num|, |ana|, 1e-3) */
	int checked, skipped, failed;
};

static inline double fdc_dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* Check ana[0..n) = dL/dtheta by central differences on theta (restored). */
static inline struct fdc_stats fdc_check(fdc_loss_fn f, void *ctx, float *theta,
					 const float *ana, size_t n, float h, int kinks,
					 const char *what)
{
	struct fdc_stats s = { 0, 0, 0, 0, 0 };
	double L0 = f(ctx);

	for (size_t i = 0; i < n; i++) {
		float t0 = theta[i];
		double hp, hm, Lp, Lm, hp2, hm2, Lp2, Lm2, d1, d2, num, d, tol, scale, kink;

		theta[i] = t0 + h;
		hp = (double)theta[i] - t0;
		Lp = f(ctx);
		theta[i] = t0 - h;
		hm = (double)t0 - theta[i];
		Lm = f(ctx);
		theta[i] = t0 + 0.5f * h;
		hp2 = (double)theta[i] - t0;
		Lp2 = f(ctx);
		theta[i] = t0 - 0.5f * h;
		hm2 = (double)t0 - theta[i];
		Lm2 = f(ctx);
		theta[i] = t0;
		d1 = (Lp - Lm) / (hp + hm);     /* D(h) */
		d2 = (Lp2 - Lm2) / (hp2 + hm2); /* D(h/2) */
		num = (4.0 * d2 - d1) / 3.0;    /* Richardson */
		scale = fmax(fabs(num), fabs((double)ana[i]));
		tol = FDC_ATOL + FDC_RTOL * scale;
		d = fabs(num - ana[i]);
		/* smooth: (fwd - bwd)(h) = h f'' + O(h^3) = 2 (fwd - bwd)(h/2) */
		kink = ((Lp - L0) / hp - (L0 - Lm) / hm) -
		       2.0 * ((Lp2 - L0) / hp2 - (L0 - Lm2) / hm2);
		if (d > tol && kinks && fabs(kink) > tol) {
			s.skipped++;
			continue;
		}
		s.checked++;
		if (d > s.max_abs)
			s.max_abs = d;
		if (d / fmax(scale, 1e-3) > s.max_rel)
			s.max_rel = d / fmax(scale, 1e-3);
		if (d > tol) {
			if (s.failed < 5)
				fprintf(stderr, "  %s[%zu]: numerical %.6g analytic %.6g\n",
					what, i, num, (double)ana[i]);
			s.failed++;
		}
	}
	fprintf(stderr, "fd %-34s n=%-5zu max abs err %.2e max rel err %.2e kinks %d\n",
		what, n, s.max_abs, s.max_rel, s.skipped);
	ck_assert_msg(s.failed == 0, "%s: %d of %d gradients off (max abs %.3g, rel %.3g)",
		      what, s.failed, s.checked, s.max_abs, s.max_rel);
	return s;
}

#endif
