/* A weight average for inference (FDEN_P_EMA) and the learning-rate
 * schedule (FDEN_P_LR_DECAY).
 *
 * The average of D's and E's weights lives in a second copy. Outside
 * training the nets hold whichever copy was needed last: a training step
 * swaps the live weights in (fd_ema_live), inference and saving swap the
 * average in (fd_ema_ready). Swaps happen only when switching between the
 * two, so a run of training steps (or of inference calls) pays nothing; the
 * swap exchanges values, so the bits do not depend on it. */
#include <math.h>
#include <sched.h>
#include <string.h>

#include "core/alloc.h"
#include "fden/model_int.h"

static int e_first(struct fden_model *m)
{
	return m->flow ? FD_NNETS : FD_NET_E_IDE; /* the flow's E is its D */
}

int fd_ema_nparams(struct fden_model *m)
{
	int n = fd_model_d_nparams(m);

	for (int k = e_first(m); k <= FD_NET_E_ENC; k++)
		n += fd_mlp_nparams(m->net[k]);
	return n;
}

struct fd_param *fd_ema_param(struct fden_model *m, int i)
{
	int nd = fd_model_d_nparams(m);

	if (i < nd)
		return fd_model_d_param(m, i);
	i -= nd;
	for (int k = e_first(m); k <= FD_NET_E_ENC; k++) {
		int n = fd_mlp_nparams(m->net[k]);
		if (i < n)
			return fd_mlp_param(m->net[k], i);
		i -= n;
	}
	return NULL;
}

int fd_ema_init(struct fden_model *m)
{
	size_t total = 0, off = 0;
	int np = fd_ema_nparams(m);

	atomic_init(&m->ema_state, FD_EMA_LIVE);
	if (!(m->cfg.v[FDEN_P_EMA] > 0))
		return FDEN_OK;
	for (int i = 0; i < np; i++)
		total += fd_ema_param(m, i)->n;
	m->ema_other = fd_malloc(m->a, (total ? total : 1) * sizeof(float));
	if (!m->ema_other)
		return fd_err_set(&m->err, FDEN_E_NOMEM, "fden_model_new: weight average (%zu floats)",
				  total);
	for (int i = 0; i < np; i++) {
		struct fd_param *p = fd_ema_param(m, i);
		memcpy(m->ema_other + off, p->w, p->n * sizeof(float));
		off += p->n;
	}
	return FDEN_OK;
}

static void swap_all(struct fden_model *m)
{
	size_t off = 0;
	int np = fd_ema_nparams(m);

	for (int i = 0; i < np; i++) {
		struct fd_param *p = fd_ema_param(m, i);
		float *a = p->w, *b = m->ema_other + off;
		for (size_t j = 0; j < p->n; j++) {
			float t = a[j];
			a[j] = b[j];
			b[j] = t;
		}
		off += p->n;
	}
}

void fd_ema_live(struct fden_model *m)
{
	if (m->ema_other && atomic_load(&m->ema_state) == FD_EMA_AVERAGE) {
		swap_all(m);
		atomic_store(&m->ema_state, FD_EMA_LIVE);
	}
}

void fd_ema_ready(const struct fden_model *cm)
{
	struct fden_model *m = (struct fden_model *)cm; /* the copies are the mutable part */

	if (!m->ema_other)
		return;
	for (;;) {
		int s = FD_EMA_LIVE;
		if (atomic_compare_exchange_strong(&m->ema_state, &s, FD_EMA_BUSY)) {
			swap_all(m);
			atomic_store(&m->ema_state, FD_EMA_AVERAGE);
			return;
		}
		if (s == FD_EMA_AVERAGE)
			return;
		sched_yield(); /* another thread is swapping */
	}
}

void fd_ema_update(struct fden_model *m)
{
	double d = m->cfg.v[FDEN_P_EMA], t = (double)m->step;
	size_t off = 0;
	int np;

	if (!m->ema_other)
		return;
	if ((1.0 + t) / (10.0 + t) < d) /* early steps: the average forgets its start */
		d = (1.0 + t) / (10.0 + t);
	np = fd_ema_nparams(m);
	for (int i = 0; i < np; i++) {
		struct fd_param *p = fd_ema_param(m, i);
		float *a = m->ema_other + off, k = (float)(1.0 - d);
		for (size_t j = 0; j < p->n; j++)
			a[j] += k * (p->w[j] - a[j]);
		off += p->n;
	}
}

double fd_lr_factor(const struct fden_config *c, uint64_t step)
{
	int kind = fd_cfg_int(c, FDEN_P_LR_DECAY);
	double T = c->v[FDEN_P_LR_DECAY_STEPS], f = c->v[FDEN_P_LR_DECAY_FACTOR];
	double t = (double)step;

	if (kind == FDEN_LR_CONSTANT || !(T > 0))
		return 1.0;
	if (kind == FDEN_LR_STEP)
		return pow(f, floor(t / T));
	if (t > T)
		t = T;
	return f + (1.0 - f) * 0.5 * (1.0 + cos(M_PI * t / T));
}
