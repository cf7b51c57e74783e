/* Evaluation of a trained FDEN model on classes it never saw, as in the
 * paper (few-shot accuracy with 95% confidence intervals over 1,000 seeded
 * episodes) plus measures the paper does not report: decode fidelity,
 * identity retention of swapped latents, canonical correlations between
 * the factors, class from f_sty by 1-NN. No command-line parsing here: any
 * program (the `fden` tool, an ablation harness) can call ev_run(). Uses the
 * public libfden API only. */
#ifndef FDEN_CLI_EVAL_H
#define FDEN_CLI_EVAL_H

#include <stdint.h>
#include <stdio.h>
#include <fden/fden.h>

/* The rows of the accuracy table, all on the same episodes. */
enum ev_row {
	EV_IDE = 0,    /* prototypical (nearest class mean) on f_ide */
	EV_IDE_SS,     /* SimpleShot on f_ide: centred on the training mean, L2-normalised */
	EV_STY,        /* prototypical on f_sty (should be near chance) */
	EV_Z_PROTO,    /* prototypical on the raw latent z */
	EV_Z_MATCH,    /* matching (cosine attention) on the raw latent z */
	EV_ZSTD_PROTO, /* prototypical on z standardised by the test set's moments */
	EV_Z_SS,       /* SimpleShot on raw z (Wang et al. 2019) */
	EV_HEAD,       /* FDEN's own alignment head on f_ide (fden_predict) */
	EV_N_ROWS
};
/* The raw-z rows a summary compares f_ide with (the strongest of them). */
#define EV_IS_RAW_Z(k) ((k) == EV_Z_PROTO || (k) == EV_Z_MATCH || (k) == EV_ZSTD_PROTO || (k) == EV_Z_SS)
extern const char *const ev_row_names[EV_N_ROWS];  /* "f_ide", ... (JSON keys) */
extern const char *const ev_row_titles[EV_N_ROWS]; /* table labels */

#define EV_MAX_TASKS 8

struct ev_task {
	size_t ways, shots;
};

struct ev_options {
	size_t episodes;                    /* episodes per task (1000) */
	size_t queries;                     /* queries per class in each episode (15) */
	uint64_t seed;                      /* episodes, pairs and subsets (1) */
	size_t n_tasks;                     /* tasks to run (3: 5-way 1-shot, 5-way 5-shot, 20-way 1-shot) */
	struct ev_task tasks[EV_MAX_TASKS]; /* tasks needing more classes than the test set has are skipped */
	size_t psnr_rows;                   /* test rows decoded for PSNR (2000; 0: all) */
	double psnr_peak;                   /* peak value of the data (1: images scaled to [0, 1]) */
	size_t nn_rows;                     /* rows for leave-one-out 1-NN (2000; 0: all) */
	size_t cca_rows;                    /* rows for CCA (20000; 0: all) */
	double cca_ridge;                   /* ridge relative to the mean variance (1e-4) */
	size_t check_episodes;              /* episodes re-run through fden_predict to check the head (5) */
	/* SimpleShot centres on the mean of these training latents (f_ide: of
	 * their factors); NULL: on the test rows' mean (label-free, said so in
	 * the report). Not owned. */
	const struct fden_dataset *train_z;
	/* outside judges (none of them is trained with FDEN) */
	size_t probe_classes; /* leakage probe: unseen classes used (100; 0: all) */
	size_t probe_iters;   /* full-batch Adam iterations of the logistic regression (300) */
	double probe_l2;      /* its L2 penalty on the weights (1e-3) */
	size_t hsic_rows;     /* rows for the HSIC test f_ide vs f_sty (2000; 0: all) */
	size_t hsic_perms;    /* permutations for its p-value (200; 0: no test) */
	size_t judge_pairs;   /* pixel-space swap judge: pairs (A, B) (2000; 0: none) */
};

struct ev_fewshot {
	size_t ways, shots, queries, episodes;
	int done;                         /* 0: skipped (too few classes) */
	double mean[EV_N_ROWS];           /* accuracy in [0, 1] */
	double ci95[EV_N_ROWS];           /* 1.96 * std / sqrt(episodes) */
	double retention, retention_ci95; /* swapped latents classified as A's class */
	size_t retention_pairs;
	/* the same through the host (with a network): f_ide of
	 * encode(decode(E(f_ide(A), f_sty(B)))) classified as A's class; and the
	 * reference, A's own latent through encode(decode(z_A)) (NaN: no network) */
	double retention_host, retention_host_ci95;
	double retention_host_ref, retention_host_ref_ci95;
};

struct ev_report {
	size_t n_test, n_classes, dim;
	size_t ide_dim, sty_dim; /* factor widths (Dim each unless the flow splits Dim) */
	uint64_t steps;          /* model's training steps */
	size_t n_tasks;
	struct ev_fewshot task[EV_MAX_TASKS];
	double psnr_fden;       /* decode(E(D(z))) vs decode(z), dB (NaN: no network) */
	double psnr_host;       /* decode(z) vs x, dB (NaN: no images) */
	double psnr_fden_input; /* decode(E(D(z))) vs x, dB (NaN: no images) */
	size_t psnr_rows;
	double z_rel_err;                       /* ||E(D(z)) - z|| / ||z - mean z|| over the test rows */
	double cca_top, cca_mean;               /* canonical correlations f_ide vs f_sty */
	double nn_ide, nn_sty, nn_z, nn_chance; /* leave-one-out 1-NN class accuracy */
	size_t nn_rows;
	double mine; /* the model's own statistician on the test rows */
	size_t predict_checked, predict_mismatch;
	int ss_train_mean; /* SimpleShot centred on the training rows (1) or the test rows (0) */
	/* leakage probe: multinomial logistic regression trained on half the rows
	 * of each unseen class, accuracy on the other half (fractions) */
	double probe_sty, probe_ide, probe_z, probe_chance;
	size_t probe_classes, probe_train, probe_test;
	/* HSIC between f_ide and f_sty (Gaussian kernels, median heuristic):
	 * the biased statistic, normalised by sqrt(HSIC(x,x) HSIC(y,y)) (0..1),
	 * and the permutation p-value */
	double hsic, hsic_norm, hsic_p;
	size_t hsic_rows, hsic_perms;
	/* outside judge of swaps: decode(E(f_ide A, f_sty B)) nearer (pixel space)
	 * to A's class mean than to B's (ab) or nearest A's among all unseen class
	 * means (all), A's and B's own images left out of the means; ref: the
	 * same for the host's decode(z_A). NaN without the host and images. */
	double judge_ab, judge_all, judge_ref_ab, judge_ref_all;
	size_t judge_pairs;
	/* outside judge of style, the same pairs: does the swap carry B's style?
	 * Residuals from the class means of the host's decodes of the test rows
	 * (A's and B's own left out; raw images' means would measure the host's
	 * error on unseen classes as much as style):
	 * style_b is the share of pairs whose swap residual is nearer (cosine)
	 * B's decode(z_B) residual than A's decode(z_A) residual (0 when f_sty
	 * carries nothing, the swap then being decode(z_A)); mass_b and mass_a
	 * correlate the swap's total intensity, less its class's mean, with
	 * B's and A's (0 and 1 when f_sty carries nothing). NaN as above. */
	double style_b, mass_b, mass_a;
	/* both judges of a reference swap that knows the two classes: the
	 * class-mean analogy in z, mean z of A's class + z_B - mean z of B's
	 * (test labels), decoded by the host */
	double judge_ana_ab, judge_ana_all, style_ana_b, mass_ana_b, mass_ana_a;
	double seconds;
};

/* Fill *o with the defaults above. */
void ev_options_default(struct ev_options *o);

/* Evaluate. test_z: latents of the test classes (labels = classes).
 * net (optional): the host network, for PSNR. test_x (optional): the same
 * rows as images, for PSNR against the input. Returns an fden status;
 * ev_last_error() says what failed. */
int ev_run(struct fden_model *model, struct fden_invnet *net, const struct fden_dataset *test_z,
	   const struct fden_dataset *test_x, const struct ev_options *o, struct ev_report *r);
/* What the last failing ev_* call in this thread failed at. */
const char *ev_last_error(void);

/* The accuracy table and the other measures, human-readable. */
void ev_print(FILE *f, const struct ev_report *r);
/* One line per configuration, for ablation tables: a header naming the
 * columns (from the first report's tasks), then a row per report.
 * Columns: steps, per task f_ide / f_sty / raw z (proto) and retention,
 * PSNR, top CCA, f_sty 1-NN. Accuracies in percent. */
void ev_print_compact_header(FILE *f, const struct ev_report *r);
void ev_print_compact(FILE *f, const char *label, const struct ev_report *r);
/* The report as one JSON object (fields named as in struct ev_report;
 * accuracies in percent). label: optional "name" field. */
void ev_write_json(FILE *f, const struct ev_report *r, const char *label);

/* ---- building blocks (exposed for tests and other harnesses) ---- */
/* Nearest class mean by squared Euclidean distance. work: ways*dim + ways
 * doubles. */
void ev_proto_predict(const float *support, const int32_t *labels, size_t n_support,
		      size_t ways, const float *query, size_t n_query, size_t dim, double *work,
		      int32_t *pred);
/* Matching: p(c|q) = sum_i softmax_i(cos(q, s_i)) [y_i = c]; argmax.
 * work: n_support + ways doubles. */
void ev_match_predict(const float *support, const int32_t *labels, size_t n_support,
		      size_t ways, const float *query, size_t n_query, size_t dim, double *work,
		      int32_t *pred);
/* Mean and 95% half-width 1.96 * std / sqrt(n) (sample std). */
void ev_mean_ci95(const double *v, size_t n, double *mean, double *ci95);
/* 10 log10(peak^2 / mse) over n values. */
double ev_psnr(const float *a, const float *b, size_t n, double peak);
/* Leave-one-out 1-NN accuracy (squared Euclidean). */
double ev_loo_1nn(const float *x, const int32_t *y, size_t n, size_t dim);
/* The strongest raw-z row of a task (EV_IS_RAW_Z); its accuracy in *acc. */
int ev_best_raw(const struct ev_fewshot *t, double *acc);
/* Leakage probe: rows of each class alternate between a training half and a
 * test half (in order of appearance: 1st, 3rd, ... train); features are
 * standardised by the training half; a multinomial logistic regression
 * (bias, L2 penalty l2 on the weights, `iters` full-batch Adam steps at rate
 * 0.05) is fitted on it. Returns the test half's accuracy, NaN when a class
 * has fewer than 2 rows or memory runs out. Deterministic. *n_train and
 * *n_test (optional) receive the halves' sizes. */
double ev_probe(const float *x, const int32_t *y, size_t n, size_t dim, size_t iters, double l2,
		size_t *n_train, size_t *n_test);
/* HSIC test of independence of x (n x dx) and y (n x dy): Gaussian kernels
 * with bandwidth the median pairwise distance of each, biased statistic
 * (1/n^2) tr(K H L H), *norm = HSIC(x,y) / sqrt(HSIC(x,x) HSIC(y,y)),
 * p-value (1 + #{permuted >= observed}) / (1 + perms) over `perms` seeded
 * permutations of y's rows (NaN when perms is 0). Returns 0, or -1 when
 * memory runs out or n < 4. */
int ev_hsic(const float *x, size_t dx, const float *y, size_t dy, size_t n, size_t perms,
	    uint64_t seed, double *stat, double *norm, double *p);
/* Pixel-space judge: class means of images x (n x d, labels y); for each of
 * m pairs, does image s[i] look like class ya[i] (row a[i] of x) rather than
 * class yb[i] (row b[i])? ab: nearer A's class mean than B's; all: nearest
 * A's among every class mean; A's and B's own rows are left out of their
 * class means. Fractions in *ab and *all; -1 when memory runs out, else 0. */
int ev_pixel_judge(const float *x, const int32_t *y, size_t n, size_t d, const float *s,
		   const size_t *a, const size_t *b, size_t m, double *ab, double *all);
/* Pixel-space style judge, the same class means (A's and B's rows left
 * out): for each of m pairs, swap s[i] of identity A and style B, and the
 * host's decodes ra[i] of A and rb[i] of B; residuals from the class means;
 * *style_b the share of pairs where cos(res s, res rb) > cos(res s, res ra);
 * *mass_b and *mass_a the correlations over the pairs of the total
 * intensity (sum of values) less the class's mean, of s[i] against rb[i]
 * and against ra[i] (NaN when either has no spread). -1 when memory runs
 * out, else 0. */
int ev_style_judge(const float *x, const int32_t *y, size_t n, size_t d, const float *s,
		   const float *ra, const float *rb, const size_t *a, const size_t *b, size_t m,
		   double *style_b, double *mass_b, double *mass_a);

#endif
