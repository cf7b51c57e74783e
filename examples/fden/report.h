/* The demo's HTML report (report.html): the evaluation table, the swap and
 * interpolation grids with a caption per column, the training curves and
 * the t-SNE figure, all linked by relative paths from the report's own
 * directory. Public API only; no command-line parsing. */
#ifndef FDEN_CLI_REPORT_H
#define FDEN_CLI_REPORT_H

#include <stddef.h>

#include "eval.h"

struct report_info {
	const char *title;   /* page title */
	const char *command; /* the command line that made it (shown verbatim) */
	const char *data;    /* what the data are (one sentence) */
	const char *host;    /* the host network and how it was fitted */
	const char *note;    /* a warning paragraph (e.g. too few classes), or NULL */
	const struct ev_report *ev;
	double seconds_total, seconds_fit, seconds_train, seconds_eval, seconds_grids;
	unsigned long long steps;
	size_t threads;
	const char *curves_png;  /* relative to the report; NULL: not drawn */
	const char *curves_note; /* why not, when NULL */
	const char *grid_dir;    /* directory of swaps.png and pair-NNN.png, relative */
	size_t pairs;            /* pair grids written (the report shows up to 2) */
	size_t tile_px, gap_px;  /* a grid tile's width in pixels, the gap between tiles */
	const char *tsne_png;    /* relative; NULL: not made */
	const char *tsne_note;   /* why not, when NULL */
};

/* Write the page to path. 0, or -1 with the reason in err. */
int report_write(const char *path, const struct report_info *ri, char *err, size_t errn);

#endif
