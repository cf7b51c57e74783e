/* Adam, one fused pass over w, g, m, v. */
#include <math.h>

#include "core/clones.h"
#include "nn/adam.h"

/* Memory bound but for the square root and division: the AVX2 and
 * AVX-512F clones (chosen at load time) do them 8 and 16 wide. Same
 * operations, no contraction (-ffp-contract=off), so the same bits as the
 * baseline clone. */
FD_CLONES
void fd_adam_update(const struct fd_adam *opt, struct fd_param *p, uint64_t t)
{
	float *restrict w = p->w, *restrict m = p->m, *restrict v = p->v;
	const float *restrict g = p->g;
	float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
	/* bias corrections 1 - b^t, in double (t may be large) */
	double bc1 = 1.0 - pow((double)b1, (double)t);
	double bc2 = 1.0 - pow((double)b2, (double)t);
	/* w -= lr (m / bc1) / (sqrt(v / bc2) + eps) = a m / (c sqrt(v) + eps) */
	float a = (float)((double)opt->lr / bc1);
	float c = (float)(1.0 / sqrt(bc2));
	float c1 = 1.0f - b1, c2 = 1.0f - b2;

	if (t == 0)
		return; /* steps are 1-based: no correction defined for 0 */
	for (size_t i = 0; i < p->n; i++) {
		float gi = g[i];
		float mi = b1 * m[i] + c1 * gi;      /* m = b1 m + (1-b1) g */
		float vi = b2 * v[i] + c2 * gi * gi; /* v = b2 v + (1-b2) g^2 */
		m[i] = mi;
		v[i] = vi;
		w[i] -= a * mi / (c * sqrtf(vi) + eps);
	}
}
