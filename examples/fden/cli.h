/* The `fden` command-line tool: what the subcommands share (exit codes,
 * option tables, error reporting, data loading). Links the public library
 * only. */
#ifndef FDEN_CLI_H
#define FDEN_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <fden/fden.h>

/* Exit codes, documented in `fden --help`; scripts may rely on them. */
enum cli_exit {
	EXIT_OK_ = 0,          /* success */
	EXIT_RUNTIME = 1,      /* a library call failed (memory, host network, ...) */
	EXIT_USAGE = 2,        /* bad command line: unknown option, bad or missing value */
	EXIT_FILE = 3,         /* a file could not be read or written, or is malformed */
	EXIT_DIVERGED = 4,     /* training produced NaN or infinity */
	EXIT_DATA = 5,         /* data do not fit the request (widths, too few classes) */
	EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM; training saved a checkpoint first */
};

/* ---- options (opts.c) ----
 * One option layer for every subcommand (as libinput's tools/shared.h): a
 * command lists its own options, takes the shared ones below by macro and
 * the data options from data_opts_table(); opt_parse() parses them all,
 * prints the help (defaults read from the values the options hold before
 * parsing, that is from the default structs) and suggests the nearest
 * option for a mistyped one. */
enum opt_type { OPT_FLAG,
		OPT_STR,
		OPT_SIZE,
		OPT_U64,
		OPT_DBL,
		OPT_CALL };
/* What a number typed on the command line may be (checked as it is parsed,
 * so a default sentinel such as 0 "auto" or -1 "what the budget leaves" is
 * never what a typed value silently becomes). Counts are never negative. */
enum opt_range {
	OPT_ANY = 0,     /* every value (counts: 0 has a documented meaning) */
	OPT_POSITIVE,    /* above 0 (counts: at least 1) */
	OPT_NONNEGATIVE, /* 0 or above */
};

struct opt {
	const char *name; /* long name without "--"; NULL ends a table */
	enum opt_type type;
	void *ptr;                                 /* int*, const char**, size_t*, uint64_t*, double* */
	const char *arg;                           /* metavariable in help ("FILE"); NULL for flags */
	const char *help;                          /* one line, without the default */
	int (*call)(void *ctx, const char *value); /* OPT_CALL: 0 ok, else bad value */
	void *ctx;
	/* the default shown in help: NULL prints the value *ptr holds before
	 * parsing (flags only when on, strings only when set); "" shows none;
	 * other text is shown as is (for sentinels such as "auto") */
	const char *def;
	/* OPT_CALL: write the default of ctx into buf (optional) */
	void (*show)(const void *ctx, char *buf, size_t n);
	enum opt_range range; /* OPT_SIZE, OPT_U64, OPT_DBL */
};
#define OPT_END \
	{ \
		.name = NULL \
	}

/* The shared options, defined once: name, type and metavariable here, the
 * sentence (what the value does for this command) from the command. */
#define OPT_SEED(p, what) \
	{ \
		.name = "seed", .type = OPT_U64, .ptr = (p), .arg = "N", .help = (what) \
	}
#define OPT_THREADS(p, what) \
	{ \
		.name = "threads", .type = OPT_SIZE, .ptr = (p), .arg = "N", .help = (what), \
		.range = OPT_POSITIVE \
	}
#define OPT_QUIET \
	{ \
		.name = "quiet", .type = OPT_FLAG, .ptr = &cli_quiet, .help = "no progress, no information lines" \
	}
#define OPT_MODEL(p, what) \
	{ \
		.name = "model", .type = OPT_STR, .ptr = (p), .arg = "FILE", .help = (what) \
	}
#define OPT_NET(p, what) \
	{ \
		.name = "net", .type = OPT_STR, .ptr = (p), .arg = "FILE", .help = (what) \
	}
#define OPT_JSON(p, what) \
	{ \
		.name = "json", .type = OPT_STR, .ptr = (p), .arg = "FILE", .help = what " ('-': standard output)" \
	}
#define OPT_STRINGIFY_(x) #x
#define OPT_STRINGIFY(x) OPT_STRINGIFY_(x)

/* What a subcommand is: its help text and its option tables. */
struct opt_cmd {
	const char *name;     /* "train" */
	const char *synopsis; /* after "Usage: fden NAME " */
	const char *desc;
	const char *footer;     /* examples; may be NULL */
	const struct opt *opts; /* the command's own options, OPT_END-terminated */
	const struct opt *data; /* data options (data_opts_table), or NULL */
};

#define OPT_HELP_SHOWN (-1) /* opt_parse printed the help: exit with 0 */
/* Parse argv[1..argc) (argv[0] is the command name). Accepts --name VALUE,
 * --name=VALUE, --no-NAME for flags, -h/--help. Returns 0 to go on,
 * OPT_HELP_SHOWN after printing the help (when everything parsed), or
 * EXIT_USAGE after printing why (with "did you mean" for a near miss). */
int opt_parse(const struct opt_cmd *c, int argc, char **argv);
/* Print a subcommand's help; defs[i] is the default text of option i (the
 * command's options, then the data options), NULL for the value now held. */
void opt_help(FILE *f, const struct opt_cmd *c, char *const *defs);
/* Levenshtein distance between a[0..na) and b[0..nb) (for suggestions). */
size_t opt_edit_distance(const char *a, size_t na, const char *b, size_t nb);

/* Open a result file for writing; "-" is standard output. NULL after
 * printing why. Close with cli_close_output(). */
FILE *cli_open_output(const char *cmd, const char *path);
/* Close a file from cli_open_output (stdout is flushed, not closed). Exit
 * code: 0 or EXIT_FILE after printing why. */
int cli_close_output(const char *cmd, FILE *f, const char *path);

/* ---- errors (common.c) ---- */
/* "fden: CMD: WHAT: DETAIL" on stderr (DETAIL = fden_last_error() or the
 * status text); returns the exit code for status. */
int cli_fail(const char *cmd, int status, const char *what, ...) FDEN_PRINTF(3, 4);
/* "fden: CMD: MESSAGE" on stderr, returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) FDEN_PRINTF(2, 3);
/* Exit code for a libfden status. */
int cli_exit_code(int status);
/* Seconds on a monotonic clock. */
double cli_now(void);
/* mkdir -p; 0 or -1 with errno. */
int cli_mkdirs(const char *path);
/* Join a directory and a file name into buf (size n). */
const char *cli_path(char *buf, size_t n, const char *dir, const char *name);
/* An exclusive advisory lock (flock) on OUT.lock, held while `fden train`
 * writes OUT: a second trainer with the same output fails at once (exit 3,
 * naming the holder's pid). Unlocking removes OUT.lock; a killed holder's
 * file stays but holds no lock. Returns 0 or an exit code (printed). */
struct cli_lock {
	int fd;
	double since; /* when taken (seconds since the epoch) */
	char path[4096];
};
int cli_lock_output(const char *cmd, const char *out, struct cli_lock *lk);
void cli_unlock_output(struct cli_lock *lk);
/* Remove the temporary files a killed save of OUT left next to it:
 * OUT.tmp.<pid>.XXXXXX whose pid no longer runs, and (with the lock held)
 * an older library's OUT.tmp.XXXXXX older than the lock. How many went. */
size_t cli_clean_stale(const char *out, const struct cli_lock *lk);
extern int cli_quiet; /* --quiet: no progress, no info lines */
/* An info line on stderr unless --quiet. */
void cli_info(const char *fmt, ...) FDEN_PRINTF(1, 2);

/* ---- data sources (dataopt.c) ---- */
/* Where training and test rows come from. Files may be IDX (plain or gzip)
 * or .npy (by extension). Rows are images when a network is used, or
 * latents. */
struct data_opts {
	const char *train_images, *train_labels;
	const char *test_images, *test_labels;
	const char *images, *labels;              /* one set, split by classes */
	const char *train_classes, *test_classes; /* "0,1,2" lists */
	double split;                             /* first test class; < 0: none */
	double scale;                             /* IDX values times this; < 0: auto */
	struct opt table[12];                     /* data_opts_table's options */
};
void data_opts_init(struct data_opts *d);
/* Which rows a command loads (data_opts_table's parts). */
enum data_parts { DATA_TRAIN = 1,
		  DATA_TEST = 2,
		  DATA_BOTH = 3 };
/* The data options that apply to the parts a command loads, as a table
 * held in *d (OPT_END-terminated). */
const struct opt *data_opts_table(struct data_opts *d, unsigned parts);
/* Load the training and/or test rows (either out pointer may be NULL when
 * that part is not needed). Returns an exit code; prints errors. */
int data_load(const char *cmd, const struct data_opts *d, struct fden_dataset **train,
	      struct fden_dataset **test);
/* Load one file as a data set (IDX or .npy). Returns an fden status. */
int data_load_file(const char *x_path, const char *labels_path, double scale,
		   struct fden_dataset **out);
/* EXIT_DATA, naming `what`, the row and the column, when a value of ds is
 * NaN or infinite; else 0. Every loaded file and every encoding is checked. */
int data_check_finite(const char *cmd, const char *what, const struct fden_dataset *ds);
/* Encode every row of a data set of images through a network into a new
 * data set of latents (labels kept). Batches of 1024. Exit code. */
int data_encode(const char *cmd, struct fden_invnet *net, const struct fden_dataset *images,
		struct fden_dataset **out);
/* Number of distinct labels. */
size_t data_n_classes(const struct fden_dataset *ds);
/* Number of classes with at least `need` (>= 1) rows. */
size_t data_classes_with(const struct fden_dataset *ds, size_t need);
/* The distinct labels of ds, sorted, into *u_out, and how many rows each
 * has into *cnt_out (optional), *n_out of them (both malloc'd; no array
 * indexed by label value: labels may be near INT32_MAX). 0, or -1 when out
 * of memory. */
int data_unique_labels(const struct fden_dataset *ds, int32_t **u_out, size_t **cnt_out,
		       size_t *n_out);

/* ---- the steps, callable without a command line (the demo chains them) ----
 * Defaults are what the *_default() functions set (and `--help` prints). */
struct fit_args {
	const char *kind;                     /* "ae", "pca", "conv" or "ali" */
	size_t latent;                        /* latent width */
	size_t hidden, epochs, batch;         /* autoencoder (fden_ae_options_default); ali, conv: 0 = its own */
	double lr;                            /* Adam rate (ae's; ali: 0 = its own) */
	double l2, time;                      /* ali: reconstruction weight; ali, conv: time budget in s (0: none) */
	size_t channels;                      /* ali, conv: base channels (0 = the kind's default) */
	const char *loss;                     /* conv: "l2" or "bce" */
	const char *shape;                    /* conv: "HxWxC" (NULL: square, one channel) */
	double contrast, contrast_tau;        /* conv: InfoNCE weight, temperature (< 0: the library's) */
	double aug_rot, aug_scale, aug_shift; /* conv: augmented view (< 0: the library's) */
	uint64_t seed;
	size_t threads;
	const char *out;  /* save here when not NULL */
	const char *json; /* a JSON summary here when not NULL ("-": stdout) */
};
void fit_args_default(struct fit_args *a);
/* Fit on images (rows in [0, 1]); *out owned by the caller. Exit code. */
int run_fit(const char *cmd, const struct fden_dataset *images, const struct fit_args *a,
	    struct fden_invnet **out);

#define TRAIN_MAX_SETS 64
#define TRAIN_AUTO_WAYS 20      /* ways = 0: this many, or all classes when fewer */
#define TRAIN_DEFAULT_MINUTES 5 /* `fden train` without --steps or --minutes */
/* What a training run did (train_args.outcome). */
struct train_outcome {
	uint64_t steps_run; /* steps taken in this run */
	size_t val_classes; /* classes held out (0: no validation) */
	int stopped_early;  /* the patience ran out before the budget */
	int restored;       /* the best model replaced the last one */
};

struct train_args {
	const char *preset;               /* "default" or "paper" */
	const char *sets[TRAIN_MAX_SETS]; /* "key=value" */
	size_t n_sets;
	int standardize;                       /* per-dimension standardisation from the training latents */
	size_t ways, shots, queries, episodes; /* episodes of a training step (ways 0: auto) */
	uint64_t steps;                        /* stop at this many model steps (0: no limit) */
	double minutes;                        /* stop after this many minutes (0: no limit) */
	uint64_t checkpoint_every;             /* save every N steps (0: only at the end) */
	int resume;                            /* continue from `out` when it exists */
	const char *out;                       /* model file (NULL: not saved) */
	const char *log_csv;                   /* optional per-step CSV log */
	uint64_t seed;
	size_t threads;
	double progress_every;         /* seconds between plain progress lines */
	int verbose;                   /* the model's own log lines */
	const char *json;              /* a JSON summary here when not NULL ("-": stdout) */
	struct train_outcome *outcome; /* optional (NULL): what the run did, filled by run_train */
	long val_classes;              /* classes held out for validation (-1: auto, valid.h; 0: none) */
	uint64_t val_every;            /* steps between validation scores */
	size_t val_patience;           /* scores without a new best before stopping (0: never stop) */
};
void train_args_default(struct train_args *a);
/* OPT_CALL for --val-classes: "auto" or a count, into the train_args at ctx. */
int train_args_val_classes(void *ctx, const char *value);
void train_args_val_show(const void *ctx, char *buf, size_t n);
/* The validation options of `fden train` and `fden demo` (struct train_args *p). */
#define OPT_VALIDATION(p) \
	{ .name = "val-classes", .type = OPT_CALL, .arg = "N|auto", .help = "training classes held out to keep the best model and stop early (0: none; auto: 10% from 200 classes on, at most 100)", .call = train_args_val_classes, .show = train_args_val_show, .ctx = (p) }, \
		{ .name = "val-every", .type = OPT_U64, .ptr = &(p)->val_every, .arg = "N", .help = "steps between validation scores", .range = OPT_POSITIVE }, \
	{ \
		.name = "val-patience", .type = OPT_SIZE, .ptr = &(p)->val_patience, .arg = "N", .help = "stop after N scores without a better one (0: never stop early)" \
	}
/* OPT_CALL for --set: add "key=value" to the train_args at ctx. */
int train_args_add_set(void *ctx, const char *value);
/* Apply a "key=value" setting to a configuration. Exit code (prints). */
int config_apply(const char *cmd, struct fden_config *cfg, const char *kv);
/* Train on latents; *out (optional) receives the model. Exit code. */
int run_train(const char *cmd, const struct fden_dataset *train_z, const struct train_args *a,
	      struct fden_model **out);

struct translate_args {
	size_t pairs; /* grids to write (8) */
	uint64_t seed;
	size_t width, height; /* image shape (0: square root of the input width) */
	size_t zoom;          /* each image pixel as zoom x zoom (0: a tile of >= 84 pixels) */
	const char *out_dir;
	size_t tile_px, gap_px; /* out: a tile's width and the gap between tiles, in pixels */
};
/* Write pair-NNN.png grids and swaps.png to out_dir. Exit code. */
int run_translate(const char *cmd, struct fden_model *model, struct fden_invnet *net,
		  const struct fden_dataset *test_z, const struct fden_dataset *test_x,
		  struct translate_args *a);

struct ev_report;
/* Print an evaluation report to stdout, and to txt_path and json_path
 * (either may be NULL). Exit code. */
int eval_report(const char *cmd, const struct ev_report *r, const char *json_path,
		const char *txt_path);

/* ---- subcommands ---- */
int cmd_fit(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ablate(int argc, char **argv);

#endif
