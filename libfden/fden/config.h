/* The configuration handle: one double per enum fden_param key, with a
 * static table of names, bounds and the two presets. */
#ifndef FD_FDEN_CONFIG_H
#define FD_FDEN_CONFIG_H

#include <fden/core.h>
#include <fden/model.h>
#include "core/error.h"

#define FD_NKEYS 57 /* highest enum fden_param value */

struct fden_config {
	double v[FD_NKEYS + 1];      /* v[key]; v[0] unused */
	struct fden_allocator alloc; /* used when has_alloc */
	int has_alloc;
};

/* Integer value of a key (for integer keys). */
static inline int fd_cfg_int(const struct fden_config *c, int key)
{
	return (int)c->v[key];
}

static inline float fd_cfg_f(const struct fden_config *c, int key)
{
	return (float)c->v[key];
}

/* Relation head hidden width: FDEN_P_ALIGN_WIDTH, 0 meaning max(1, Dim/2). */
int fd_cfg_align_width(const struct fden_config *c);

/* Factor widths: Dim each for the MLP disentangler; for the flow, ide_dim
 * (0 = Dim/2) and the rest. */
int fd_cfg_ide_dim(const struct fden_config *c);
int fd_cfg_sty_dim(const struct fden_config *c);

/* Check every key against its bounds (for configs read from files). */
int fd_config_check(const struct fden_config *c, struct fd_err *err);

/* Set one key after checking it against its bounds; the error (naming
 * `who`) goes to err and the thread's detail. */
int fd_config_set_key(struct fden_config *c, int key, double value, const char *who,
		      struct fd_err *err);

/* Fill c->v with a preset (no allocation, no error detail). */
int fd_config_fill(struct fden_config *c, int preset);

#endif
