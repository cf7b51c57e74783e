/* Suite tools-report: the demo's pictures and HTML report (examples/fden
 * grid.c, plot.c, report.c) from synthetic inputs.
 *   test-tools-report           grid zoom, training curves, report content
 *   test-tools-report browser   the report rendered by headless Chromium:
 *                               the screenshot must show the page's text,
 *                               table and images (skipped, exit 77, when no
 *                               Chromium is installed; FDEN_CHROMIUM names
 *                               another browser binary) */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <fden/fden.h>
#include "eval.h"
#include "grid.h"
#include "plot.h"
#include "report.h"
#include "../testutil.h"

static char dir[256];

static const char *in_dir(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG's pixels as 8-bit gray (the mean of R, G, B for colour images).
 * Only what the library and Chromium write: 8-bit gray, RGB or RGBA, not
 * interlaced. NULL when it cannot be read. */
static unsigned char *png_gray(const char *path, size_t *w, size_t *h)
{
	size_t len = 0;
	unsigned char *f = (unsigned char *)tu_read_file(path, &len), *idat = NULL, *raw = NULL;
	unsigned char *out = NULL;
	size_t ni = 0, ch = 0;
	if (!f || len < 33 || memcmp(f, "\x89PNG\r\n\x1a\n", 8))
		goto out;
	*w = be32(f + 16);
	*h = be32(f + 20);
	int depth = f[24], type = f[25], inter = f[28];
	ch = type == 0 ? 1 : type == 2 ? 3
		     : type == 6       ? 4
				       : 0;
	if (depth != 8 || !ch || inter)
		goto out;
	idat = malloc(len);
	for (size_t p = 8; idat && p + 12 <= len;) {
		uint32_t n = be32(f + p);
		if (p + 12 + n > len)
			break;
		if (!memcmp(f + p + 4, "IDAT", 4)) {
			memcpy(idat + ni, f + p + 8, n);
			ni += n;
		}
		p += 12 + n;
	}
	size_t stride = *w * ch, rl = *h * (stride + 1);
	uLongf got = rl;
	raw = malloc(rl);
	out = malloc(*w * *h);
	if (!idat || !raw || !out || uncompress(raw, &got, idat, ni) != Z_OK || got != rl) {
		free(out);
		out = NULL;
		goto out;
	}
	for (size_t y = 0; y < *h; y++) { /* undo the filters in place */
		unsigned char *r = raw + y * (stride + 1), *cur = r + 1;
		unsigned char *up = y ? raw + (y - 1) * (stride + 1) + 1 : NULL;
		for (size_t i = 0; i < stride; i++) {
			int a = i >= ch ? cur[i - ch] : 0, b = up ? up[i] : 0;
			int c = up && i >= ch ? up[i - ch] : 0, pa, pb, pc, pr;
			switch (r[0]) {
			case 1: cur[i] = (unsigned char)(cur[i] + a); break;
			case 2: cur[i] = (unsigned char)(cur[i] + b); break;
			case 3: cur[i] = (unsigned char)(cur[i] + (a + b) / 2); break;
			case 4:
				pr = a + b - c;
				pa = abs(pr - a);
				pb = abs(pr - b);
				pc = abs(pr - c);
				cur[i] = (unsigned char)(cur[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b
												       : c));
				break;
			default: break;
			}
		}
		for (size_t x = 0; x < *w; x++) {
			unsigned s = 0;
			for (size_t k = 0; k < (ch == 4 ? 3 : ch); k++)
				s += cur[x * ch + k];
			out[y * *w + x] = (unsigned char)(s / (ch == 4 ? 3 : ch));
		}
	}
out:
	free(f);
	free(idat);
	free(raw);
	return out;
}

/* A synthetic training log of n rows: decaying loss, rising accuracy. */
static void write_log(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "step,seconds,loss,l_r,l_c,l_m,accuracy,clip_scale\n");
	for (size_t i = 1; i <= n; i++)
		fprintf(f, "%zu,%.3f,%.5f,0,%.5f,%.4f,%.4f,1\n", i, 0.1 * (double)i,
			3 * exp(-(double)i / 50) + 1 + 0.1 * sin((double)i), 2 * exp(-(double)i / 50),
			0.05 * sin(0.1 * (double)i), 1 - exp(-(double)i / 80));
	fclose(f);
}

START_TEST(grid_zoom)
{
	ck_assert_uint_eq(grid_auto_zoom(28, 28), 3); /* 84 px */
	ck_assert_uint_eq(grid_auto_zoom(8, 8), 11);  /* 88 px */
	ck_assert_uint_eq(grid_auto_zoom(32, 28), 3); /* the shorter side counts */
	ck_assert_uint_eq(grid_auto_zoom(100, 90), 1);
	struct grid g;
	ck_assert_int_eq(grid_init_zoom(&g, 2, 1, 2, 2, 3), 0);
	ck_assert_uint_eq(g.w, 2 * (2 * 3 + 2) + 2);
	ck_assert_uint_eq(g.h, 1 * (2 * 3 + 2) + 2);
	const float img[] = { 0, 1, 0.25f, 0.75f };
	grid_put(&g, 1, 0, img);
	/* tile 1 starts at x = 2 + 8 = 10, y = 2; pixel (1, 1) of the image is the
	 * 3 x 3 block at x 13..15, y 5..7 */
	for (size_t y = 5; y < 8; y++)
		for (size_t x = 13; x < 16; x++)
			ck_assert_float_eq(g.pix[y * g.w + x], 0.75f);
	ck_assert_float_eq(g.pix[2 * g.w + 10], 0);
	ck_assert_float_eq(g.pix[4 * g.w + 12], 0); /* still pixel (0, 0) */
	ck_assert_float_eq(g.pix[2 * g.w + 13], 1);
	ck_assert_float_eq(g.pix[1 * g.w + 10], 0.5f); /* the gap */
	ck_assert_float_eq(g.pix[2 * g.w + 3], 0.5f);  /* empty tile 0 */
	grid_free(&g);
	ck_assert_int_eq(grid_init_zoom(&g, 1, 1, 2, 2, 0), -1);
	/* zoom 1: the old layout, 1-pixel gaps */
	ck_assert_int_eq(grid_init(&g, 5, 6, 8, 8), 0);
	ck_assert_uint_eq(g.w, 5 * 9 + 1);
	ck_assert_uint_eq(g.h, 6 * 9 + 1);
	grid_free(&g);
}
END_TEST

START_TEST(curves_png)
{
	char csv[300], png[300], err[256];
	write_log(in_dir(csv, sizeof csv, "log.csv"), 400);
	ck_assert_int_eq(plot_training_log(csv, in_dir(png, sizeof png, "curves.png"), err,
					   sizeof err),
			 0);
	size_t w, h;
	unsigned char *g = png_gray(png, &w, &h);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(w, 3 * 440 + 10); /* five drawn (l_r is all zero): 3 x 2 panels */
	ck_assert_uint_eq(h, 2 * 230 + 10);
	size_t black = 0, light = 0;
	for (size_t i = 0; i < w * h; i++) {
		black += g[i] < 40;
		light += g[i] > 160 && g[i] < 200; /* the raw curves, 0.72 gray */
	}
	ck_assert_msg(black > 3000, "%zu black pixels (curves, text)", black);
	ck_assert_msg(light > 500, "%zu light gray pixels (raw values)", light);
	free(g);
	/* too short a log, a missing file */
	write_log(csv, 1);
	ck_assert_int_eq(plot_training_log(csv, png, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "fewer than 2 rows"));
	in_dir(csv, sizeof csv, "none.csv");
	ck_assert_int_eq(plot_training_log(csv, png, err, sizeof err), -1);
}
END_TEST

START_TEST(curves_labels)
{
	char b[32];
	plot_axis_label(b, sizeof b, 6866, 1);
	ck_assert_str_eq(b, "6866"); /* was "6.87e+03" */
	plot_axis_label(b, sizeof b, 1000, 1);
	ck_assert_str_eq(b, "1000");
	plot_axis_label(b, sizeof b, 0.5, 0.25);
	ck_assert_str_eq(b, "0.5");
	plot_axis_label(b, sizeof b, 1.0001, 1.0002);
	ck_assert_str_eq(b, "1.0001");
	/* an all-zero column (the flow's L_R) gets no panel: 4 known columns,
	 * 3 panels, one row */
	char csv[300], png[300], err[256];
	FILE *f = fopen(in_dir(csv, sizeof csv, "flat.csv"), "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "step,loss,l_r,l_c,l_m\n");
	for (int i = 1; i <= 50; i++)
		fprintf(f, "%d,%g,0,%g,%g\n", i, 1.0 / i, 2.0 / i, -0.01 * i);
	fclose(f);
	ck_assert_int_eq(plot_training_log(csv, in_dir(png, sizeof png, "flat.png"), err,
					   sizeof err),
			 0);
	size_t w, h;
	unsigned char *g = png_gray(png, &w, &h);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(h, 1 * 230 + 10);
	free(g);
}
END_TEST

static void fake_report(struct ev_report *r)
{
	memset(r, 0, sizeof *r);
	r->n_test = 7380;
	r->n_classes = 369;
	r->n_tasks = 2;
	for (size_t t = 0; t < 2; t++) {
		struct ev_fewshot *k = &r->task[t];
		k->ways = t ? 20 : 5;
		k->shots = 1;
		k->queries = 15;
		k->episodes = 1000;
		k->done = 1;
		for (int row = 0; row < EV_N_ROWS; row++) {
			k->mean[row] = 0.3 + 0.01 * row;
			k->ci95[row] = 0.01;
		}
		k->mean[EV_IDE] = 0.87;
		k->mean[EV_Z_SS] = 0.6734;
		k->retention = k->retention_host = 0.99;
	}
	r->psnr_fden = 137;
	r->psnr_host = 20;
	r->probe_sty = 0.02;
	r->probe_ide = 0.6;
	r->probe_z = 0.3;
	r->probe_chance = 0.01;
	r->probe_classes = 100;
	r->hsic = 1e-4;
	r->hsic_norm = 0.05;
	r->hsic_p = 0.2;
	r->hsic_rows = 2000;
	r->hsic_perms = 200;
	r->judge_ab = 0.928;
	r->judge_all = 0.5;
	r->judge_ref_ab = 0.99;
	r->judge_ref_all = 0.7;
	r->judge_pairs = 2000;
	r->style_b = 0.258;
	r->mass_b = 0.135;
	r->mass_a = 0.587;
	r->judge_ana_ab = 0.854;
	r->style_ana_b = 1;
	r->mass_ana_b = 0.935;
	r->ss_train_mean = 1;
}

/* Grids of 28x28 tiles (a distinct gray, 0.25) and a training log beside a
 * report in dir; the report written to dir/report.html. */
static void make_report(int with_curves)
{
	char p[300], q[300], err[256];
	struct grid g;
	float tile[28 * 28];
	for (size_t i = 0; i < 28 * 28; i++)
		tile[i] = (i / 28 + i % 28) % 7 ? 0.25f : 0.9f;
	mkdir(in_dir(p, sizeof p, "grids"), 0755);
	size_t z = grid_auto_zoom(28, 28);
	ck_assert_int_eq(grid_init_zoom(&g, 6, 2, 28, 28, z), 0);
	for (size_t r = 0; r < 2; r++)
		for (size_t c = 0; c < 6; c++)
			grid_put(&g, c, r, tile);
	ck_assert_int_eq(grid_save(&g, in_dir(p, sizeof p, "grids/swaps.png")), 0);
	size_t tile_px = g.tw * g.zoom, gap = g.gap;
	grid_free(&g);
	ck_assert_int_eq(grid_init_zoom(&g, 5, 6, 28, 28, z), 0);
	for (size_t r = 0; r < 6; r++)
		for (size_t c = 0; c < 5; c++)
			grid_put(&g, c, r, tile);
	ck_assert_int_eq(grid_save(&g, in_dir(p, sizeof p, "grids/pair-000.png")), 0);
	grid_free(&g);
	if (with_curves) {
		write_log(in_dir(p, sizeof p, "train-log.csv"), 300);
		ck_assert_int_eq(plot_training_log(p, in_dir(q, sizeof q, "curves.png"), err,
						   sizeof err),
				 0);
	}
	struct ev_report r;
	fake_report(&r);
	struct report_info ri = {
		.title = "fden demo: glyphs <test>",
		.command = "./scripts/demo.sh --quick --set a=\"b\"",
		.data = "printed glyphs: 1106 training classes, 369 unseen",
		.host = "autoencoder 784-512-64, fitted on the training classes only",
		.note = NULL,
		.ev = &r,
		.seconds_total = 170,
		.steps = 900,
		.threads = 1,
		.curves_png = with_curves ? "curves.png" : NULL,
		.curves_note = "no log",
		.grid_dir = "grids",
		.pairs = 1,
		.tile_px = tile_px,
		.gap_px = gap,
		.tsne_png = NULL,
		.tsne_note = "scikit-learn is not installed",
	};
	ck_assert_int_eq(report_write(in_dir(p, sizeof p, "report.html"), &ri, err, sizeof err), 0);
}

START_TEST(report_html)
{
	char p[300];
	make_report(1);
	char *h = tu_read_file(in_dir(p, sizeof p, "report.html"), NULL);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(strstr(h, "<!DOCTYPE html>"));
	ck_assert_ptr_nonnull(strstr(h, "fden demo: glyphs &lt;test&gt;")); /* escaped */
	ck_assert_ptr_nonnull(strstr(h, "--set a=&quot;b&quot;"));
	ck_assert_ptr_nonnull(strstr(h, "<th>5-way 1-shot</th><th>20-way 1-shot</th>"));
	ck_assert_ptr_nonnull(strstr(h, "raw z, SimpleShot"));
	/* the summary names the strongest raw-z row and the gap to it */
	ck_assert_ptr_nonnull(strstr(h, "strongest raw-latent baseline (raw z, SimpleShot) 67.3%: "
					"<b>+19.7 points</b>"));
	ck_assert_ptr_nonnull(strstr(h, "<td><b>67.3 &plusmn; 1.0</b></td>")); /* bold: strongest */
	ck_assert_ptr_nonnull(strstr(h, "src=\"grids/swaps.png\""));
	ck_assert_ptr_nonnull(strstr(h, "src=\"grids/pair-000.png\""));
	ck_assert_ptr_null(strstr(h, "pair-001.png")); /* one pair only */
	ck_assert_ptr_nonnull(strstr(h, "E(f_ide A, f_sty B)"));
	ck_assert_ptr_nonnull(strstr(h, "src=\"curves.png\""));
	ck_assert_ptr_nonnull(strstr(h, "Not made: scikit-learn is not installed"));
	ck_assert_ptr_nonnull(strstr(h, "looks like A in 92.8% of pairs"));
	ck_assert_ptr_nonnull(strstr(h, "nearer B's than A's in 25.8% of pairs"));
	ck_assert_ptr_nonnull(strstr(h, "follows B's with r = 0.135 and A's with r = 0.587"));
	ck_assert_ptr_nonnull(strstr(h, "looks like A in 85.4%, residual nearer B's in 100.0%, "
					"intensity r = 0.935 with B's</li>"));
	ck_assert_ptr_nonnull(strstr(h, "independence not rejected"));
	ck_assert_ptr_nonnull(strstr(h, "</body></html>"));
	/* a caption per column: six above the swaps, five above each pair grid */
	size_t caps = 0;
	for (const char *s = h; (s = strstr(s, "<div class=\"caps\"")); s++)
		caps++;
	ck_assert_uint_eq(caps, 2);
	free(h);
	/* no curves: the page says why */
	make_report(0);
	h = tu_read_file(in_dir(p, sizeof p, "report.html"), NULL);
	ck_assert_ptr_nonnull(strstr(h, "Not drawn: no log"));
	free(h);
}
END_TEST

/* ---- the browser ---- */

static const char *find_chromium(void)
{
	static const char *const cands[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser",
					     "/usr/bin/google-chrome", NULL };
	const char *e = getenv("FDEN_CHROMIUM");
	if (e && *e)
		return access(e, X_OK) == 0 ? e : NULL;
	for (int i = 0; cands[i]; i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static const char *chromium;

START_TEST(report_in_chromium)
{
	char html[300], shot[300], url[400], arg[350], home[300];
	make_report(1);
	in_dir(html, sizeof html, "report.html");
	in_dir(shot, sizeof shot, "shot.png");
	snprintf(url, sizeof url, "file://%s", html);
	snprintf(arg, sizeof arg, "--screenshot=%s", shot);
	mkdir(in_dir(home, sizeof home, "home"), 0700);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("HOME", home, 1); /* the profile goes here, not into the user's */
		execl(chromium, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		      "--hide-scrollbars", "--window-size=1280,1800", arg, url, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exited with %d", chromium,
		      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	size_t w = 0, h = 0;
	unsigned char *g = png_gray(shot, &w, &h);
	ck_assert_msg(g != NULL, "no readable screenshot %s", shot);
	ck_assert_uint_eq(w, 1280);
	size_t ink = 0, tiles = 0;
	for (size_t i = 0; i < w * h; i++) {
		ink += g[i] < 128;                 /* text, table rules, dark tiles */
		tiles += g[i] >= 60 && g[i] <= 68; /* the grids' 0.25 gray (64) */
	}
	/* the page is not blank: text and the table ink at least 1% of the
	 * pixels, and the grid images loaded (several 84-pixel tiles of 64) */
	ck_assert_msg(ink > w * h / 100, "%zu dark pixels of %zu: a blank page?", ink, w * h);
	ck_assert_msg(tiles > 6 * 84 * 60, "%zu pixels of the tiles' gray: images missing?", tiles);
	free(g);
}
END_TEST

int main(int argc, char **argv)
{
	int browser = argc > 1 && !strcmp(argv[1], "browser");
	snprintf(dir, sizeof dir, "%s/fden-report-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("tools-report");
	TCase *tc = tcase_create(browser ? "browser" : "report");
	tcase_set_timeout(tc, 120);
	if (browser) {
		chromium = find_chromium();
		if (chromium)
			tcase_add_test(tc, report_in_chromium);
		else
			fprintf(stderr, "no Chromium (install it: scripts/install-deps.sh --tests): "
					"skipped\n");
	} else {
		tcase_add_test(tc, grid_zoom);
		tcase_add_test(tc, curves_png);
		tcase_add_test(tc, curves_labels);
		tcase_add_test(tc, report_html);
	}
	suite_add_tcase(s, tc);
	int rc = tu_check_main(s, 1);
	if (!getenv("FDEN_KEEP_TEST_DIR")) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd)) {
		}
	}
	return rc;
}
