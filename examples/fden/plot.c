/* Training curves as a PNG (plot.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "plot.h"

/* ---- a 5x7 bitmap font: 7 rows of 5 bits, most significant bit left ---- */
struct glyph {
	char c;
	unsigned char row[7];
};

#define G(c, a, b, d, e, f, g, h) \
	{ \
		c, { a, b, d, e, f, g, h } \
	}
static const struct glyph font[] = {
	G(' ', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
	G('0', 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E),
	G('1', 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
	G('2', 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F),
	G('3', 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
	G('4', 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02),
	G('5', 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
	G('6', 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E),
	G('7', 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
	G('8', 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E),
	G('9', 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
	G('A', 0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
	G('B', 0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
	G('C', 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E),
	G('D', 0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C),
	G('E', 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F),
	G('F', 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
	G('G', 0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F),
	G('H', 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
	G('I', 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E),
	G('J', 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
	G('K', 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11),
	G('L', 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
	G('M', 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11),
	G('N', 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
	G('O', 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
	G('P', 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
	G('Q', 0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D),
	G('R', 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
	G('S', 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E),
	G('T', 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
	G('U', 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E),
	G('V', 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
	G('W', 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A),
	G('X', 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
	G('Y', 0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04),
	G('Z', 0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
	G('.', 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C),
	G(',', 0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08),
	G('-', 0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00),
	G('+', 0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00),
	G('_', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F),
	G('%', 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
	G('(', 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02),
	G(')', 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
	G(':', 0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00),
	G('/', 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00),
	G('=', 0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00),
	G('?', 0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04),
};
#undef G

static const struct glyph *find_glyph(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
		if (font[i].c == c)
			return &font[i];
	return find_glyph('?');
}

int canvas_init(struct canvas *c, size_t w, size_t h)
{
	c->w = w;
	c->h = h;
	c->pix = malloc((w && h ? w * h : 1) * sizeof *c->pix);
	if (!c->pix)
		return -1;
	for (size_t i = 0; i < w * h; i++)
		c->pix[i] = 1;
	return 0;
}

void canvas_free(struct canvas *c)
{
	free(c->pix);
	c->pix = NULL;
}

static void dot(struct canvas *c, long x, long y, double v)
{
	if (x >= 0 && y >= 0 && (size_t)x < c->w && (size_t)y < c->h)
		c->pix[(size_t)y * c->w + (size_t)x] = (float)v;
}

void canvas_line(struct canvas *c, double x0, double y0, double x1, double y1, double v,
		 int thick)
{
	double dx = x1 - x0, dy = y1 - y0, len = fmax(fabs(dx), fabs(dy));
	size_t n = (size_t)ceil(len) + 1;
	if (!(len < 1e6))
		return; /* NaN or absurd */
	for (size_t i = 0; i < n; i++) {
		double t = n > 1 ? (double)i / (double)(n - 1) : 0;
		long x = lround(x0 + t * dx), y = lround(y0 + t * dy);
		for (int a = 0; a < thick; a++)
			for (int b = 0; b < thick; b++)
				dot(c, x + a - thick / 2, y + b - thick / 2, v);
	}
}

size_t canvas_text_width(const char *s, size_t scale)
{
	size_t n = strlen(s);
	return n ? (6 * n - 1) * scale : 0;
}

size_t canvas_text(struct canvas *c, size_t x, size_t y, const char *s, size_t scale, double v)
{
	size_t x0 = x;
	for (; *s; s++, x += 6 * scale) {
		const struct glyph *g = find_glyph(*s);
		for (size_t r = 0; r < 7; r++)
			for (size_t b = 0; b < 5; b++)
				if (g->row[r] & (0x10 >> b))
					for (size_t i = 0; i < scale; i++)
						for (size_t j = 0; j < scale; j++)
							dot(c, (long)(x + b * scale + j),
							    (long)(y + r * scale + i), v);
	}
	return x > x0 ? x - x0 - scale : 0;
}

int canvas_save(const struct canvas *c, const char *path)
{
	return fden_png_save_gray(path, c->pix, c->w, c->h);
}

/* ---- the training log ---- */

struct series {
	const char *col, *title;
	double scale; /* values times this */
};

static const struct series wanted[] = {
	{ "loss", "TOTAL LOSS L", 1 },
	{ "l_r", "L_R RECONSTRUCTION", 1 },
	{ "l_c", "L_C CROSS ENTROPY", 1 },
	{ "l_m", "L_M MINE ESTIMATE", 1 },
	{ "accuracy", "TRAINING ACCURACY %", 100 },
	{ "clip_scale", "GRADIENT CLIP SCALE", 1 },
};
#define N_WANTED (sizeof wanted / sizeof wanted[0])

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* v with the fewest significant digits (3 to 8) that tell it from other. */
void plot_axis_label(char *buf, size_t n, double v, double other)
{
	char b2[32];
	if (fabs(v) >= 1000 && fabs(v) < 1e7 && v == floor(v)) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	for (int p = 3; p <= 8; p++) {
		snprintf(buf, n, "%.*g", p, v);
		snprintf(b2, sizeof b2, "%.*g", p, other);
		if (strcmp(buf, b2))
			return;
	}
}

/* One panel at (px, py) of pw x ph: title, frame, y range labels, x labels. */
static void panel(struct canvas *c, size_t px, size_t py, size_t pw, size_t ph,
		  const char *title, const double *x, const double *y, size_t n)
{
	const size_t fs = 2, left = 112, top = 30, bottom = 28, right = 12;
	size_t ax = px + left, ay = py + top, aw = pw - left - right, ah = ph - top - bottom;
	double *sorted = malloc(n * sizeof *sorted), *sm = malloc(n * sizeof *sm);
	char lab[32];
	canvas_text(c, px + left, py + 6, title, fs, 0);
	if (!sorted || !sm)
		goto out;
	/* moving average over a window of about n / 50 rows (at least 1) */
	size_t win = n / 50 ? n / 50 : 1;
	double run = 0;
	for (size_t i = 0; i < n; i++) {
		run += y[i];
		if (i >= win)
			run -= y[i - win];
		sm[i] = run / (double)(i + 1 < win ? i + 1 : win);
	}
	/* y range: the 1st to 99th percentile of the raw values and the whole
	 * average, past the first 2% of the run, so the first steps and single
	 * spikes do not flatten the curve (they are clipped to the frame) */
	size_t from = n >= 100 ? n / 50 : 0, m = n - from;
	memcpy(sorted, y + from, m * sizeof *sorted);
	qsort(sorted, m, sizeof *sorted, cmp_d);
	double lo = sorted[m / 100], hi = sorted[m - 1 - m / 100];
	for (size_t i = from; i < n; i++) {
		lo = fmin(lo, sm[i]);
		hi = fmax(hi, sm[i]);
	}
	if (!(hi - lo > 1e-12 * fmax(fabs(hi), 1))) {
		double e = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1e-3;
		lo -= e;
		hi += e;
	}
	double pad = 0.04 * (hi - lo);
	lo -= pad;
	hi += pad;
	double x0 = x[0], x1 = x[n - 1] > x0 ? x[n - 1] : x0 + 1;
#define SX(v) ((double)ax + ((v)-x0) / (x1 - x0) * (double)(aw - 1))
#define SY(v) ((double)ay + (hi - fmin(fmax((v), lo), hi)) / (hi - lo) * (double)(ah - 1))
	/* light grid at the quarters */
	for (int q = 1; q < 4; q++) {
		double gy = (double)ay + q * (double)(ah - 1) / 4;
		canvas_line(c, (double)ax, gy, (double)(ax + aw - 1), gy, 0.9, 1);
	}
	for (size_t i = 1; i < n; i++) /* raw values */
		canvas_line(c, SX(x[i - 1]), SY(y[i - 1]), SX(x[i]), SY(y[i]), 0.72, 1);
	for (size_t i = 1; i < n; i++) /* moving average */
		canvas_line(c, SX(x[i - 1]), SY(sm[i - 1]), SX(x[i]), SY(sm[i]), 0, 2);
#undef SX
#undef SY
	/* frame */
	canvas_line(c, (double)ax, (double)ay, (double)(ax + aw - 1), (double)ay, 0.3, 1);
	canvas_line(c, (double)ax, (double)(ay + ah - 1), (double)(ax + aw - 1),
		    (double)(ay + ah - 1), 0.3, 1);
	canvas_line(c, (double)ax, (double)ay, (double)ax, (double)(ay + ah - 1), 0.3, 1);
	canvas_line(c, (double)(ax + aw - 1), (double)ay, (double)(ax + aw - 1),
		    (double)(ay + ah - 1), 0.3, 1);
	/* labels: y top and bottom, x first and last step */
	plot_axis_label(lab, sizeof lab, hi, lo);
	canvas_text(c, ax - 6 - canvas_text_width(lab, fs), ay, lab, fs, 0.2);
	plot_axis_label(lab, sizeof lab, lo, hi);
	canvas_text(c, ax - 6 - canvas_text_width(lab, fs), ay + ah - 14, lab, fs, 0.2);
	plot_axis_label(lab, sizeof lab, x[0], x[n - 1]);
	canvas_text(c, ax, ay + ah + 6, lab, fs, 0.2);
	snprintf(lab, sizeof lab, "STEP");
	canvas_text(c, ax + aw / 2 - canvas_text_width(lab, fs) / 2, ay + ah + 6, lab, fs, 0.45);
	plot_axis_label(lab, sizeof lab, x[n - 1], x[0]);
	canvas_text(c, ax + aw - canvas_text_width(lab, fs), ay + ah + 6, lab, fs, 0.2);
out:
	free(sorted);
	free(sm);
}

int plot_training_log(const char *csv_path, const char *png_path, char *err, size_t errn)
{
	FILE *f = fopen(csv_path, "r");
	char line[4096];
	int col[N_WANTED], step_col = 0, ncols = 0, rc = -1;
	double *v = NULL;
	size_t n = 0, cap = 0;
	struct canvas c = { 0 };
	if (!f) {
		snprintf(err, errn, "opening '%s': %s", csv_path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof line, f)) {
		snprintf(err, errn, "'%s' is empty", csv_path);
		goto out;
	}
	for (size_t k = 0; k < N_WANTED; k++)
		col[k] = -1;
	{
		char *save = NULL;
		for (char *t = strtok_r(line, ",\r\n", &save); t; t = strtok_r(NULL, ",\r\n", &save)) {
			for (size_t k = 0; k < N_WANTED; k++)
				if (!strcmp(t, wanted[k].col))
					col[k] = ncols;
			if (!strcmp(t, "step"))
				step_col = ncols;
			ncols++;
		}
	}
	while (fgets(line, sizeof line, f)) {
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 1024;
			double *nv = realloc(v, nc * (size_t)ncols * sizeof *nv);
			if (!nv) {
				snprintf(err, errn, "out of memory reading '%s'", csv_path);
				goto out;
			}
			v = nv;
			cap = nc;
		}
		char *p = line;
		int k = 0;
		for (; k < ncols; k++) {
			char *end;
			v[n * (size_t)ncols + (size_t)k] = strtod(p, &end);
			if (end == p)
				break;
			p = *end == ',' ? end + 1 : end;
		}
		if (k == ncols)
			n++; /* whole rows only (a run cut short may leave a partial one) */
	}
	/* a column that is zero on every row (L_R of the flow, whose inverse is
	 * exact) has nothing to show: leave its panel out */
	for (size_t k = 0; k < N_WANTED; k++) {
		size_t i = 0;
		while (col[k] >= 0 && i < n && v[i * (size_t)ncols + (size_t)col[k]] == 0)
			i++;
		if (col[k] >= 0 && n > 0 && i == n)
			col[k] = -1;
	}
	size_t panels = 0;
	for (size_t k = 0; k < N_WANTED; k++)
		panels += col[k] >= 0;
	if (n < 2 || !panels) {
		snprintf(err, errn, "'%s': %s", csv_path,
			 n < 2 ? "fewer than 2 rows" : "none of the known columns");
		goto out;
	}
	const size_t pw = 440, ph = 230, per_row = 3;
	size_t rows = (panels + per_row - 1) / per_row;
	double *xs = malloc(2 * n * sizeof *xs), *ys = xs ? xs + n : NULL;
	if (!xs || canvas_init(&c, per_row * pw + 10, rows * ph + 10)) {
		free(xs);
		snprintf(err, errn, "out of memory drawing '%s'", png_path);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		xs[i] = v[i * (size_t)ncols + (size_t)step_col];
	for (size_t k = 0, p = 0; k < N_WANTED; k++) {
		if (col[k] < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			ys[i] = wanted[k].scale * v[i * (size_t)ncols + (size_t)col[k]];
		panel(&c, 5 + (p % per_row) * pw, 5 + (p / per_row) * ph, pw, ph, wanted[k].title, xs,
		      ys, n);
		p++;
	}
	free(xs);
	if (canvas_save(&c, png_path)) {
		snprintf(err, errn, "writing '%s': %s", png_path, fden_last_error());
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	free(v);
	canvas_free(&c);
	return rc;
}
