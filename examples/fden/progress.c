/* Progress bar (terminal) or periodic plain lines (pipes, logs). */
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

static void draw(struct progress *p, uint64_t done, const char *extra, int final)
{
	double now = cli_now(), el = now - p->start;
	double rate = el > 0 ? (double)(done - p->first) / el : 0;
	double f = fraction(p, done, el);
	char eta[32], ela[32];
	fmt_time(ela, sizeof ela, el);
	fmt_time(eta, sizeof eta, f > 0 ? el * (1 - f) / f : -1);
	if (p->tty) {
		char bar[31];
		int w = f < 0 ? 0 : (int)(f * 30 + 0.5);
		for (int i = 0; i < 30; i++)
			bar[i] = i < w ? '#' : '.';
		bar[30] = '\0';
		char line[512];
		struct winsize ws;
		int cols = ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
		snprintf(line, sizeof line, "%s [%s] %3.0f%% %llu %s %.1f/s %s ETA %s %s", p->label,
			 bar, f < 0 ? 0 : 100 * f, (unsigned long long)done, p->unit, rate, ela, eta,
			 extra ? extra : "");
		if ((size_t)cols - 1 < sizeof line)
			line[cols - 1] = '\0'; /* never wrap: \r only rewinds one line */
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

void progress_end(struct progress *p, uint64_t done, const char *extra)
{
	if (p->quiet)
		return;
	draw(p, done, extra, 1);
}
