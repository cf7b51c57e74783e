/* Validation classes for `fden train`: a seeded share of the training
 * classes held out of the episodes, scored now and then by few-shot
 * nearest-class-mean accuracy of f_ide, to keep the best model and stop
 * once more training no longer helps unseen classes (docs/method.md,
 * "Training length"). Public API only. */
#ifndef FDEN_CLI_VALID_H
#define FDEN_CLI_VALID_H

#include <fden/fden.h>
#include <stddef.h>
#include <stdint.h>

#define VAL_AUTO_MIN_CLASSES 200 /* --val-classes auto: held out from this many classes on */
#define VAL_AUTO_MAX 100         /* auto: 10% of the classes, at most this many */
#define VAL_MAX_WAYS 20          /* episodes: 20-way, or every held-out class when fewer */
#define VAL_EPISODES 300         /* the same seeded episodes at every evaluation */

struct val;

/* How many classes `--val-classes auto` holds out of `classes` (0: none). */
size_t val_auto_classes(size_t classes);

/* Hold n_classes of ds's classes out (a seeded draw among the classes with
 * at least 2 rows): *out the scorer, with a copy of their rows only. 0, or
 * a CLI exit code after printing why. Training leaves val_excluded() out. */
int val_open(const char *cmd, const struct fden_dataset *ds, size_t n_classes, uint64_t seed,
	     struct val **out);
/* The labels of ds training leaves out, sorted: the held-out classes and
 * those neither held out nor trained on (negative labels, classes of one
 * row); for fden_sampler_new_except() and
 * fden_model_fit_standardization_except(). *n of them, borrowed from v. */
const int32_t *val_excluded(const struct val *v, size_t *n);
/* f_ide few-shot accuracy of the model on the held-out classes, in [0, 1]:
 * 0, or a CLI exit code after printing why. */
int val_score(const char *cmd, struct val *v, const struct fden_model *model, double *acc);
/* "20-way 1-shot over 100 held-out classes" */
const char *val_task(const struct val *v);
size_t val_classes(const struct val *v);
void val_free(struct val *v);

#endif
