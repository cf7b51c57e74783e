/* The sampler's episode draw on row indices, for the data layer's own
 * callers (few-shot evaluation) that need rows rather than copies. */
#ifndef FD_DATA_SAMPLER_H
#define FD_DATA_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <fden/data.h>

/* One episode's rows[ways*(shots+queries)], in the layout of
 * fden_sampler_next (support block, then queries, class c's rows at
 * c*shots.. and ways*shots + c*queries..); classes (optional): the ways
 * original labels. Advances the generator exactly as fden_sampler_next. */
void fd_sampler_draw_rows(struct fden_sampler *s, size_t *rows, int32_t *classes);
/* Number of classes episodes are drawn from. */
size_t fd_sampler_classes(const struct fden_sampler *s);

#endif
