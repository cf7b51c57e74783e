/* Training curves drawn by the tool itself: a gray PNG of small panels, one
 * per column of the training log (train-log.csv), raw values in light gray,
 * a moving average in black, with titles and axis labels in a built-in 5x7
 * bitmap font. No dependency beyond the library's PNG writer. */
#ifndef FDEN_CLI_PLOT_H
#define FDEN_CLI_PLOT_H

#include <stddef.h>

/* A gray canvas, values in [0, 1] (1 white). */
struct canvas {
	size_t w, h;
	float *pix;
};

/* 0 or -1 (memory). White. */
int canvas_init(struct canvas *c, size_t w, size_t h);
void canvas_free(struct canvas *c);
/* A line from (x0, y0) to (x1, y1), `thick` pixels wide, clipped. */
void canvas_line(struct canvas *c, double x0, double y0, double x1, double y1, double v,
		 int thick);
/* Text with its top-left corner at (x, y); each font pixel `scale` pixels.
 * Letters are drawn as capitals; characters without a glyph as '?'.
 * Returns the width drawn. */
size_t canvas_text(struct canvas *c, size_t x, size_t y, const char *s, size_t scale, double v);
/* Width in pixels canvas_text would draw. */
size_t canvas_text_width(const char *s, size_t scale);
/* An fden status. */
int canvas_save(const struct canvas *c, const char *path);

/* Read `fden train --log-csv` output (header line: column names; numeric
 * rows) and draw its curves against the first column (step) into png_path.
 * Columns drawn: loss, l_r, l_c, l_m, accuracy (in percent), clip_scale
 * (those present and not zero on every row: the flow's L_R is left out). Returns 0, or -1 with a reason in err (file unreadable,
 * fewer than 2 rows, no known column, out of memory, PNG not written). */
/* An axis label for v into buf: whole numbers from 1000 up as they are
 * ("6866", not "6.87e+03"), others with the fewest significant digits (3 to
 * 8) that tell v from `other`, the label at the axis' other end. */
void plot_axis_label(char *buf, size_t n, double v, double other);

int plot_training_log(const char *csv_path, const char *png_path, char *err, size_t errn);

#endif
