/* Central finite differences for the nn suites.
 *
 * Loss: L = sum dY0 * Y with a fixed random dY0, accumulated in double, so
 * dL/dY = dY0 and the backward pass under test receives dY0.
 *
 * Tolerance, float32: the forward runs in float, so L carries a rounding
 * noise of about 1e-7 |L| (a few 1e-7 for the O(1) losses here); divided by
 * the step 2 eps = 2e-2 that is ~1e-5 in the numerical slope. The central
 * difference truncation error is eps^2 f'''/6, ~2e-5 for O(1) third
 * derivatives. We accept |num - ana| <= ATOL + RTOL max(|num|, |ana|) with
 * ATOL = 1e-3 and RTOL = 1e-2: ~50x above both error sources, while any
 * real bug (missing term, wrong sign or factor, wrong index) moves a
 * gradient by O(|gradient|), far beyond 1e-2 relative. The step actually
 * taken ((float)(t + eps) - t) is used, not eps, so representation error of
 * the perturbed parameter does not enter.
 *
 * Kinks (leaky ReLU at 0): when `kinks` is set, a coordinate whose
 * forward and backward one-sided slopes disagree by more than the tolerance
 * crossed a kink within the step; the central difference is meaningless
 * there, so it is skipped and counted (callers bound the count). Where the
 * one-sided slopes agree within the tolerance, a kink shifts the central
 * slope by at most half their gap, inside the tolerance. */
#ifndef FD_TEST_FDCHECK_H
#define FD_TEST_FDCHECK_H

#include <check.h>
#include <math.h>
#include <stdio.h>

#define FDC_ATOL 1e-3
#define FDC_RTOL 1e-2

typedef double (*fdc_loss_fn)(void *ctx);

struct fdc_stats {
	double max_abs;   /* max |num - ana| */
	double max_rel;   /* max |num - ana| / max(|num|, |ana|, 1e-3) */
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
					 const float *ana, size_t n, float eps, int kinks,
					 const char *what)
{
	struct fdc_stats s = { 0, 0, 0, 0, 0 };
	double L0 = f(ctx);

	for (size_t i = 0; i < n; i++) {
		float t0 = theta[i];
		double hp, hm, Lp, Lm, num, d, tol, scale;

		theta[i] = t0 + eps;
		hp = (double)theta[i] - t0;
		Lp = f(ctx);
		theta[i] = t0 - eps;
		hm = (double)t0 - theta[i];
		Lm = f(ctx);
		theta[i] = t0;
		num = (Lp - Lm) / (hp + hm);
		scale = fmax(fabs(num), fabs((double)ana[i]));
		tol = FDC_ATOL + FDC_RTOL * scale;
		if (kinks && fabs((Lp - L0) / hp - (L0 - Lm) / hm) > tol) {
			s.skipped++;
			continue;
		}
		d = fabs(num - ana[i]);
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
	fprintf(stderr, "fd %-28s n=%-4zu max abs err %.2e max rel err %.2e skipped %d\n",
		what, n, s.max_abs, s.max_rel, s.skipped);
	ck_assert_msg(s.failed == 0, "%s: %d of %d gradients off (max abs %.3g, rel %.3g)",
		      what, s.failed, s.checked, s.max_abs, s.max_rel);
	return s;
}

#endif
