/* report.html (report.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* Text with &, <, > and " escaped. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

static void pct(FILE *f, double v)
{
	if (isnan(v))
		fputs("&ndash;", f);
	else
		fprintf(f, "%.1f", 100 * v);
}

static const char style[] =
	"body{font-family:sans-serif;max-width:1320px;margin:1.5em auto;padding:0 1em;"
	"color:#222;line-height:1.4}\n"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;"
	"border-bottom:1px solid #ccc}\n"
	"table.ev{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
	"table.ev td,table.ev th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\n"
	"table.ev td:first-child,table.ev th:first-child{text-align:left}\n"
	"tr.key td{background:#eef5ff;font-weight:bold}tr.chance td{color:#777}\n"
	".summary{background:#f3f8ee;border:1px solid #9c6;padding:.6em 1em;margin:1em 0}\n"
	".note{background:#fff4e0;border:1px solid #e9a23b;padding:.6em 1em;margin:1em 0}\n"
	".grid{display:flex;align-items:flex-start;gap:8px;margin:.5em 0 1.5em}\n"
	".caps{display:flex;align-items:flex-end}.caps div{font-size:11px;line-height:13px;"
	"text-align:center;overflow:hidden;overflow-wrap:anywhere;box-sizing:border-box;"
	"padding:0 2px 2px}\n"
	".rows div{font-size:12px;display:flex;align-items:center;justify-content:flex-end;"
	"text-align:right;box-sizing:border-box;width:170px}\n"
	"img.px{image-rendering:pixelated;display:block}\n"
	"code{background:#f4f4f4;padding:0 .25em}figure{margin:1em 0}"
	"figcaption{font-size:.9em;color:#444}\n";

#define CAP_H 42 /* px: three lines of column caption */

/* Column captions above a grid image of `cols` tiles, row captions to its
 * left (rows may be NULL). */
static void grid_figure(FILE *f, const struct report_info *ri, const char *img, size_t cols,
			const char *const *capv, size_t rows, const char *const *rowv,
			const char *alt)
{
	size_t t = ri->tile_px + ri->gap_px;
	fputs("<div class=\"grid\">", f);
	if (rowv) {
		fprintf(f, "<div class=\"rows\" style=\"padding-top:%zupx\">", CAP_H + ri->gap_px);
		for (size_t r = 0; r < rows; r++) {
			fprintf(f, "<div style=\"height:%zupx\">", t);
			esc(f, rowv[r]);
			fputs("</div>", f);
		}
		fputs("</div>", f);
	}
	fprintf(f, "<div><div class=\"caps\" style=\"padding-left:%zupx;height:%dpx\">", ri->gap_px,
		CAP_H);
	for (size_t c = 0; c < cols; c++) {
		fprintf(f, "<div style=\"width:%zupx\">", t);
		esc(f, capv[c]);
		fputs("</div>", f);
	}
	fputs("</div><img class=\"px\" src=\"", f);
	esc(f, img);
	fputs("\" alt=\"", f);
	esc(f, alt);
	fputs("\"></div></div>\n", f);
}

static void ev_table(FILE *f, const struct ev_report *r)
{
	fputs("<table class=\"ev\"><tr><th>accuracy %, 95% interval</th>", f);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done)
			fprintf(f, "<th>%zu-way %zu-shot</th>", r->task[t].ways, r->task[t].shots);
	fputs("</tr>\n", f);
	for (int k = 0; k < EV_N_ROWS; k++) {
		fprintf(f, "<tr%s><td>", k == EV_IDE ? " class=\"key\"" : "");
		esc(f, ev_row_titles[k]);
		fputs("</td>", f);
		for (size_t t = 0; t < r->n_tasks; t++)
			if (r->task[t].done) {
				double best;
				int b = ev_best_raw(&r->task[t], &best);
				fprintf(f, "<td>%s", b == k ? "<b>" : "");
				pct(f, r->task[t].mean[k]);
				fputs(" &plusmn; ", f);
				pct(f, r->task[t].ci95[k]);
				fprintf(f, "%s</td>", b == k ? "</b>" : "");
			}
		fputs("</tr>\n", f);
	}
	fputs("<tr class=\"chance\"><td>chance</td>", f);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done)
			fprintf(f, "<td>%.1f</td>", 100.0 / (double)r->task[t].ways);
	fputs("</tr>\n<tr><td>identity retention of swaps</td>", f);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			fputs("<td>", f);
			pct(f, r->task[t].retention);
			fputs("</td>", f);
		}
	fputs("</tr>\n<tr><td>&nbsp; through the host</td>", f);
	for (size_t t = 0; t < r->n_tasks; t++)
		if (r->task[t].done) {
			fputs("<td>", f);
			pct(f, r->task[t].retention_host);
			fputs("</td>", f);
		}
	fputs("</tr>\n</table>\n", f);
	fputs("<p>Bold: the strongest raw-latent baseline of each task. SimpleShot: nearest class "
	      "mean after centring on the mean of the ",
	      f);
	fputs(r->ss_train_mean ? "training classes' rows" : "test rows", f);
	fprintf(f, " and L2-normalising. %zu episodes per task, %zu queries per class, on %zu "
		   "test rows of %zu classes never trained on.</p>\n",
		r->n_tasks ? r->task[0].episodes : 0, r->n_tasks ? r->task[0].queries : 0, r->n_test,
		r->n_classes);
}

static void judges(FILE *f, const struct ev_report *r)
{
	fputs("<ul>\n", f);
	if (!isnan(r->psnr_fden))
		fprintf(f, "<li>decode fidelity: PSNR of decode(E(D(z))) against decode(z) %.1f dB; "
			   "the host's own reconstruction against the input %.1f dB</li>\n",
			r->psnr_fden, r->psnr_host);
	if (!isnan(r->probe_sty)) {
		fprintf(f, "<li>leakage probe (logistic regression trained on half the rows of "
			   "each of %zu unseen classes, tested on the other half): class read from "
			   "<i>f_sty</i> ",
			r->probe_classes);
		pct(f, r->probe_sty);
		fprintf(f, "%% (%.1f&times; chance), from <i>f_ide</i> ",
			r->probe_sty / r->probe_chance);
		pct(f, r->probe_ide);
		fprintf(f, "%% (%.1f&times;), from z ", r->probe_ide / r->probe_chance);
		pct(f, r->probe_z);
		fprintf(f, "%%; chance %.2f%%</li>\n", 100 * r->probe_chance);
	}
	if (!isnan(r->hsic))
		fprintf(f, "<li>HSIC independence test of <i>f_ide</i> and <i>f_sty</i> (%zu test "
			   "rows, Gaussian kernels, median heuristic): normalised HSIC %.4f, "
			   "permutation p = %.3g (%zu permutations): independence %s at p = 0.01</li>\n",
			r->hsic_rows, r->hsic_norm, r->hsic_p, r->hsic_perms,
			isnan(r->hsic_p) ? "not tested" : r->hsic_p <= 0.01 ? "rejected"
									    : "not rejected");
	if (!isnan(r->judge_ab)) {
		fprintf(f, "<li>outside judge of swaps (nearest class mean in pixel space, %zu "
			   "pairs, A's and B's own images left out): decode(E(f_ide A, f_sty B)) looks "
			   "like A in ",
			r->judge_pairs);
		pct(f, r->judge_ab);
		fputs("% of pairs against B's class and ", f);
		pct(f, r->judge_all);
		fprintf(f, "%% among all %zu unseen classes; the host's own decode(z_A): ",
			r->n_classes);
		pct(f, r->judge_ref_ab);
		fputs("% and ", f);
		pct(f, r->judge_ref_all);
		fputs("%</li>\n", f);
	}
	if (!isnan(r->style_b)) {
		fputs("<li>outside judge of style (the same pairs, residuals from the class means of "
		      "the host's decodes): "
		      "the swap's residual is nearer B's than A's in ",
		      f);
		pct(f, r->style_b);
		fprintf(f, "%% of pairs (0%% when <i>f_sty</i> carries nothing); its intensity "
			   "follows B's with r = %.3f and A's with r = %.3f (0 and 1 when "
			   "<i>f_sty</i> carries nothing)",
			r->mass_b, r->mass_a);
		if (!isnan(r->judge_ana_ab))
			fprintf(f, "; reference, the class-mean analogy in z that knows both classes "
				   "(mean z of A's class + z_B &minus; mean z of B's): looks like A in "
				   "%.1f%%, residual nearer B's in %.1f%%, intensity r = %.3f with B's",
				100 * r->judge_ana_ab, 100 * r->style_ana_b, r->mass_ana_b);
		fputs("</li>\n", f);
	}
	fprintf(f, "<li>class from <i>f_sty</i> by leave-one-out 1-NN: %.1f%% (chance %.1f%%); "
		   "canonical correlation of the factors: top %.3f</li>\n",
		100 * r->nn_sty, 100 * r->nn_chance, r->cca_top);
	fputs("</ul>\n", f);
}

int report_write(const char *path, const struct report_info *ri, char *err, size_t errn)
{
	const struct ev_report *r = ri->ev;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errn, "opening '%s': %s", tmp, strerror(errno));
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
	esc(f, ri->title);
	fprintf(f, "</title>\n<style>\n%s</style></head><body>\n<h1>", style);
	esc(f, ri->title);
	fputs("</h1>\n<p><code>", f);
	esc(f, ri->command);
	fputs("</code></p>\n<p>", f);
	esc(f, ri->data);
	fputs("<br>", f);
	esc(f, ri->host);
	fprintf(f, "<br>FDEN: %llu training steps. Run time %.1f min (host %.0f s, FDEN "
		   "training %.0f s, evaluation %.0f s, grids %.1f s), %zu BLIS thread%s.</p>\n",
		ri->steps, ri->seconds_total / 60, ri->seconds_fit, ri->seconds_train,
		ri->seconds_eval, ri->seconds_grids, ri->threads, ri->threads == 1 ? "" : "s");
	if (r && r->n_tasks && r->task[0].done) {
		fputs("<div class=\"summary\">", f);
		for (size_t t = 0; t < r->n_tasks; t++)
			if (r->task[t].done) {
				double best;
				int k = ev_best_raw(&r->task[t], &best);
				fprintf(f, "%zu-way %zu-shot: <b><i>f_ide</i> %.1f%%</b> against the "
					   "strongest raw-latent baseline (%s) %.1f%%: <b>%+.1f points</b>"
					   "<br>\n",
					r->task[t].ways, r->task[t].shots, 100 * r->task[t].mean[EV_IDE],
					ev_row_titles[k], 100 * best,
					100 * (r->task[t].mean[EV_IDE] - best));
			}
		fputs("</div>\n", f);
	}
	if (ri->note) {
		fputs("<div class=\"note\">", f);
		esc(f, ri->note);
		fputs("</div>\n", f);
	}
	if (r) {
		fputs("<h2>Few-shot accuracy on unseen classes</h2>\n", f);
		ev_table(f, r);
		fputs("<h2>Judges from outside the model</h2>\n", f);
		judges(f, r);
	}
	if (ri->grid_dir && ri->pairs) {
		static const char *const swapcap[] = {
			"A (input)",
			"B (input)",
			"host: decode(z_A)",
			"FDEN: decode(E(D(z_A)))",
			"E(f_ide A, f_sty B)",
			"E(f_ide B, f_sty A)",
		};
		static const char *const paircap[] = { "t = 0 (B)", "t = .25", "t = .5", "t = .75",
						       "t = 1 (A)" };
		static const char *const pairrows[] = {
			"A | decode(z_A) | decode(E(D(z_A))) | E(ide A, sty B) | E(ide B, sty A)",
			"B | decode(z_B) | decode(E(D(z_B)))",
			"identity t A + (1-t) B, style of A",
			"identity t A + (1-t) B, style of B",
			"style t A + (1-t) B, identity of A",
			"style t A + (1-t) B, identity of B",
		};
		char img[4200];
		fputs("<h2>Swaps: identity of one image, style of another</h2>\n", f);
		fprintf(f, "<p>One row per pair (A, B) of test images from different unseen classes "
			   "(%zu pair%s); decoded by the host network.</p>\n",
			ri->pairs,
			ri->pairs == 1 ? "" : "s");
		snprintf(img, sizeof img, "%s/swaps.png", ri->grid_dir);
		grid_figure(f, ri, img, 6, swapcap, 0, NULL, "swap grid");
		fputs("<h2>Interpolations</h2>\n<p>Rows 1-2: the inputs and reconstructions. Rows 3-6: "
		      "one factor moved from B (t = 0) to A (t = 1) with the other held; the column "
		      "captions give t for these rows.</p>\n",
		      f);
		for (size_t p = 0; p < ri->pairs && p < 2; p++) {
			snprintf(img, sizeof img, "%s/pair-%03zu.png", ri->grid_dir, p);
			grid_figure(f, ri, img, 5, paircap, 6, pairrows, "interpolation grid");
		}
	}
	fputs("<h2>Training curves</h2>\n", f);
	if (ri->curves_png) {
		fputs("<figure><img src=\"", f);
		esc(f, ri->curves_png);
		fputs("\" alt=\"training curves\" style=\"max-width:100%\"><figcaption>Against the training step: light gray "
		      "every step, black a moving average over 1/50 of the run. L = L_R + L_C - "
		      "gamma L_M (docs/method.md); training accuracy is the alignment head's on the "
		      "step's query rows.</figcaption></figure>\n",
		      f);
	} else {
		fputs("<p>Not drawn: ", f);
		esc(f, ri->curves_note ? ri->curves_note : "no training log");
		fputs("</p>\n", f);
	}
	fputs("<h2>t-SNE of the factors</h2>\n", f);
	if (ri->tsne_png) {
		fputs("<figure><img src=\"", f);
		esc(f, ri->tsne_png);
		fputs("\" alt=\"t-SNE\" style=\"max-width:100%\"><figcaption>The paper's Figure 3: "
		      "unseen classes in f_ide (left, should cluster) and f_sty (right, should "
		      "mix).</figcaption></figure>\n",
		      f);
	} else {
		fputs("<p>Not made: ", f);
		esc(f, ri->tsne_note ? ri->tsne_note : "no figure");
		fputs("</p>\n", f);
	}
	fputs("<p style=\"color:#777;font-size:.85em\">Written by <code>fden demo</code> "
	      "(libfden).</p>\n</body></html>\n",
	      f);
	if (ferror(f) | fclose(f)) {
		snprintf(err, errn, "writing '%s' failed", tmp);
		remove(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		snprintf(err, errn, "renaming '%s': %s", tmp, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}
