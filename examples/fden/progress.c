/* Progress bar (terminal) or periodic plain lines (pipes, logs). */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

void progress_start(struct progress *p, const char *label, const char *unit, uint64_t first,
		    uint64_t total, double budget, double interval, int quiet)
{
	p->out = stderr;
	p->label = label;
	p->unit = unit;
	p->first = first;
	p->total = total;
	p->budget = budget;
	p->interval = interval > 0 ? interval : 10.0;
	p->start = p->last = cli_now();
	p->tty = isatty(fileno(stderr));
	p->quiet = quiet;
	p->drawn = 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
	if (s < 0 || s > 1e7)
		snprintf(buf, n, "--:--");
	else if (s >= 3600)
		snprintf(buf, n, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60) % 60, (int)s % 60);
	else
		snprintf(buf, n, "%02d:%02d", (int)(s / 60), (int)s % 60);
}

/* Fraction done in [0, 1], or -1 when unknown. */
static double fraction(const struct progress *p, uint64_t done, double elapsed)
{
	double f = -1;
	if (p->total > p->first)
		f = (double)(done - p->first) / (double)(p->total - p->first);
	if (p->budget > 0 && elapsed / p->budget > f)
		f = elapsed / p->budget;
	return f > 1 ? 1 : f;
}

/* Terminal columns of the progress stream (80 when unknown). */
static int term_cols(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n > 0 ? n : 80;
}

#define MAX_SEG 24

void progress_fit(char *out, size_t n, int cols, const char *label, double frac,
		  unsigned long long done, const char *unit, double rate, const char *elapsed,
		  const char *eta, const char *extra)
{
	/* segments in display order, each with a priority (0 first kept) */
	char seg[MAX_SEG][96];
	int prio[MAX_SEG], keep[MAX_SEG] = { 0 }, ns = 0, bar_at;
	snprintf(seg[ns], sizeof seg[0], "%s", label);
	prio[ns++] = 0;
	bar_at = ns;
	seg[ns][0] = '\0'; /* the bar, sized last */
	prio[ns++] = 90;
	snprintf(seg[ns], sizeof seg[0], "%3.0f%%", frac < 0 ? 0 : 100 * frac);
	prio[ns++] = 1;
	snprintf(seg[ns], sizeof seg[0], "%llu %s", done, unit);
	prio[ns++] = 5;
	snprintf(seg[ns], sizeof seg[0], "%.1f/s", rate);
	prio[ns++] = 91;
	snprintf(seg[ns], sizeof seg[0], "%s", elapsed);
	prio[ns++] = 92;
	snprintf(seg[ns], sizeof seg[0], "ETA %s", eta);
	prio[ns++] = 2;
	/* extra: "key value" pairs, kept from the front (the caller puts the
	 * figures that matter most first) */
	const char *p = extra ? extra : "";
	for (int k = 0; *p && ns < MAX_SEG; k++) {
		while (*p == ' ')
			p++;
		const char *e = p;
		for (int words = 0; *e && words < 2;) { /* two words */
			while (*e && *e != ' ')
				e++;
			words++;
			if (words < 2)
				while (*e == ' ')
					e++;
		}
		if (e == p)
			break;
		snprintf(seg[ns], sizeof seg[0], "%.*s", (int)(e - p), p);
		prio[ns++] = k < 2 ? 3 + k : 10 + k;
		p = e;
	}
	int room = cols - 1; /* never the last column: some terminals wrap there */
	int used = 0;
	for (int pr = 0; pr < 90; pr++)
		for (int i = 0; i < ns; i++)
			if (prio[i] == pr && !keep[i]) {
				int w = (int)strlen(seg[i]) + (used ? 1 : 0);
				if (used + w <= room) {
					keep[i] = 1;
					used += w;
				}
			}
	/* then the bar, as wide as is left (at most 30), and rate, elapsed */
	int left = room - used - 3; /* " [" "]" */
	if (left >= 10) {
		int bw = left < 30 ? left : 30, fill = frac < 0 ? 0 : (int)(frac * bw + 0.5);
		char *b = seg[bar_at];
		b[0] = '[';
		for (int i = 0; i < bw; i++)
			b[1 + i] = i < fill ? '#' : '.';
		b[1 + bw] = ']';
		b[2 + bw] = '\0';
		keep[bar_at] = 1;
		used += bw + 3;
	}
	for (int pr = 91; pr <= 92; pr++)
		for (int i = 0; i < ns; i++)
			if (prio[i] == pr && used + 1 + (int)strlen(seg[i]) <= room) {
				keep[i] = 1;
				used += 1 + (int)strlen(seg[i]);
			}
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < ns && o + 1 < n; i++)
		if (keep[i]) {
			int w = snprintf(out + o, n - o, "%s%s", o ? " " : "", seg[i]);
			o += w > 0 ? (size_t)w : 0;
			if (o >= n)
				o = n - 1;
		}
	if ((int)strlen(out) > room && room > 0 && (size_t)room < n)
		out[room] = '\0'; /* the label alone is wider than the terminal */
}

static void draw(struct progress *p, uint64_t done, const char *extra, int final)
{
	double now = cli_now(), el = now - p->start;
	double rate = el > 0 ? (double)(done - p->first) / el : 0;
	double f = fraction(p, done, el);
	char eta[32], ela[32];
	fmt_time(ela, sizeof ela, el);
	fmt_time(eta, sizeof eta, f > 0 ? el * (1 - f) / f : -1);
	if (p->tty) {
		char line[512];
		progress_fit(line, sizeof line, term_cols(p->out), p->label, f,
			     (unsigned long long)done, p->unit, rate, ela, eta, extra);
		fprintf(p->out, "\r\033[K%s%s", line, final ? "\n" : "");
	} else {
		fprintf(p->out, "%s: %llu %s, %.1f/s, %s elapsed, %s%s left%s%s\n", p->label,
			(unsigned long long)done, p->unit, rate, ela, f < 0 ? "~" : "", eta,
			extra && *extra ? ", " : "", extra ? extra : "");
	}
	fflush(p->out);
	p->last = now;
	p->drawn = 1;
}

void progress_update(struct progress *p, uint64_t done, const char *extra)
{
	if (p->quiet)
		return;
	double now = cli_now();
	if (now - p->last < (p->tty ? 0.1 : p->interval))
		return;
	draw(p, done, extra, 0);
}

void progress_clear(struct progress *p)
{
	if (p->quiet || !p->tty || !p->drawn)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
}

void progress_end(struct progress *p, uint64_t done, const char *extra)
{
	if (p->quiet)
		return;
	draw(p, done, extra, 1);
}
