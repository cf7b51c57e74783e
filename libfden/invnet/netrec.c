/* Checkpoint records of the built-in hosts' conv nets (invnet/netrec.h). */
#include <stddef.h>
#include <string.h>

#include "invnet/netrec.h"

int fd_netrec_put(struct fd_ckpt_writer *w, struct fd_convnet *m)
{
	int rc;

	for (int i = 0; i < fd_convnet_nparams(m); i++) {
		struct fd_param *p = fd_convnet_param(m, i);
		if ((rc = fd_ckpt_put(w, p->name, FD_CKPT_F32, p->w, p->n)))
			return rc;
	}
	for (int i = 0; i < fd_convnet_nbuffers(m); i++) {
		struct fd_buffer *b = fd_convnet_buffer(m, i);
		if ((rc = fd_ckpt_put(w, b->name, FD_CKPT_F32, b->x, b->n)))
			return rc;
	}
	return FDEN_OK;
}

int fd_netrec_check(struct fd_ckpt_reader *r, const struct fd_convnet_cfg *cfg,
		    const char *prefix, const char *what, struct fd_err *err)
{
	struct fd_convnet_plan p;
	const void *data;
	char name[32];
	size_t cnt;
	int rc;

	if (fd_convnet_plan(cfg, &p, NULL))
		return fd_err_set(err, FDEN_E_FORMAT, "%s: bad layer sizes", what);
	for (int i = 0; i < p.nparams + p.nbuffers; i++) {
		if (i < p.nparams)
			fd_convnet_param_desc(&p, prefix, i, name, &cnt);
		else
			fd_convnet_buffer_desc(&p, prefix, i - p.nparams, name, &cnt);
		if ((rc = fd_ckpt_get(r, name, FD_CKPT_F32, cnt, &data, NULL)))
			return rc;
	}
	return FDEN_OK;
}

int fd_netrec_get(struct fd_ckpt_reader *r, struct fd_convnet *m)
{
	const void *data;
	int rc;

	for (int i = 0; i < fd_convnet_nparams(m); i++) {
		struct fd_param *p = fd_convnet_param(m, i);
		if ((rc = fd_ckpt_get(r, p->name, FD_CKPT_F32, p->n, &data, NULL)))
			return rc;
		memcpy(p->w, data, p->n * sizeof(float));
	}
	for (int i = 0; i < fd_convnet_nbuffers(m); i++) {
		struct fd_buffer *b = fd_convnet_buffer(m, i);
		if ((rc = fd_ckpt_get(r, b->name, FD_CKPT_F32, b->n, &data, NULL)))
			return rc;
		memcpy(b->x, data, b->n * sizeof(float));
	}
	fd_convnet_bn_keep(m);
	return FDEN_OK;
}
