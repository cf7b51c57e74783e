/* Checkpoint records of a built-in host's conv nets: every parameter and
 * buffer tensor of an fd_convnet as one F32 record under its own name. */
#ifndef FD_INVNET_NETREC_H
#define FD_INVNET_NETREC_H

#include "core/error.h"
#include "io/ckpt.h"
#include "nn/convnet.h"

/* Put every tensor of m into w. */
int fd_netrec_put(struct fd_ckpt_writer *w, struct fd_convnet *m);
/* Every record the plan of cfg names (prefix: the net's record prefix)
 * exists with its size; checked before the nets are allocated, so what a
 * loader allocates is bounded by the payload. FDEN_E_FORMAT "WHAT: bad
 * layer sizes" when cfg has no plan. */
int fd_netrec_check(struct fd_ckpt_reader *r, const struct fd_convnet_cfg *cfg,
		    const char *prefix, const char *what, struct fd_err *err);
/* Copy every tensor of m from r. */
int fd_netrec_get(struct fd_ckpt_reader *r, struct fd_convnet *m);

#endif
