/* The test rows of an evaluation, each representation made on demand. The
 * latents stay where the data set keeps them (a memory-mapped .npy: the
 * file's own pages); f_ide, f_sty, standardised z and E(D(z)) exist only
 * for the rows a measure asks for (an episode, a subset), pushed through
 * the model EVR_CHUNK rows at a time. Nothing held scales with the test
 * set but its labels: the moments are streamed. Public libfden API only. */
#ifndef FDEN_CLI_EVROWS_H
#define FDEN_CLI_EVROWS_H

#include <stdint.h>
#include <fden/fden.h>

#define EVR_CHUNK 1024

struct evrows {
	const struct fden_model *model;
	size_t n, dim, di, ds;    /* rows; widths of z, f_ide, f_sty */
	const float *z;           /* n x dim latents (borrowed) */
	const int32_t *y;         /* n labels (borrowed) */
	float *mean, *sd;         /* the test rows' moments of z (sample sd, at least 1e-6) */
	float *mean_z, *mean_ide; /* SimpleShot's centres (evr_centres) */
	double z_rel_err;         /* ||E(D(z)) - z|| / ||z - mean z|| over the test rows */
	float *cz, *ci, *cs, *cr; /* scratch: one chunk's z, f_ide, f_sty, E(D(z)) */
};

/* Borrow the test rows and the model, allocate, and stream the moments:
 * one pass through the model (sums of z and f_ide, squared reconstruction
 * error), one for the variances. SimpleShot's centres are the test rows'
 * means until evr_centres. An fden status; F needs evr_close either way. */
int evr_open(struct evrows *F, const struct fden_model *model, const struct fden_dataset *test_z);
/* SimpleShot's centres: the means of z and f_ide over train_z's rows (one
 * more streamed pass). */
int evr_centres(struct evrows *F, const struct fden_dataset *train_z);
void evr_close(struct evrows *F);

/* Rows idx[0..m) of the test set, m x width each. */
void evr_z(const struct evrows *F, const size_t *idx, size_t m, float *out);
void evr_zstd(const struct evrows *F, const size_t *idx, size_t m, float *out);
/* f_ide into ide, f_sty into sty (either may be NULL). An fden status. */
int evr_factors(const struct evrows *F, const size_t *idx, size_t m, float *ide, float *sty);
/* E(D(z)). An fden status. */
int evr_recon(const struct evrows *F, const size_t *idx, size_t m, float *out);

#endif
