/* Progress reports for long loops: on a terminal a bar with rate and ETA
 * redrawn in place, otherwise a plain line every `interval` seconds. */
#ifndef FDEN_CLI_PROGRESS_H
#define FDEN_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct progress {
	FILE *out;
	const char *label;
	const char *unit; /* "steps", "episodes" */
	uint64_t total;   /* 0: unknown */
	double budget;    /* seconds; 0: none. Fraction done = max(count, time) */
	double interval;  /* seconds between plain lines */
	double start, last;
	uint64_t first; /* count at start (for resumed runs) */
	int tty, quiet, drawn;
};

/* interval <= 0: 10 s. */
void progress_start(struct progress *p, const char *label, const char *unit, uint64_t first,
		    uint64_t total, double budget, double interval, int quiet);
/* Redraw (TTY, at most 10 times a second) or print a line when due. */
void progress_update(struct progress *p, uint64_t done, const char *extra);
/* The terminal line: label, percent, ETA and the first two "key value"
 * pairs of extra are kept first, then the count and more pairs, then a bar
 * as wide as the rest allows (at most 30), rate and elapsed time; nothing
 * goes past cols - 1 columns. Exposed for tests. */
void progress_fit(char *out, size_t n, int cols, const char *label, double frac,
		  unsigned long long done, const char *unit, double rate, const char *elapsed,
		  const char *eta, const char *extra);
/* Clear a terminal's unfinished bar before another line is printed (the
 * next update redraws it); nothing off a terminal. */
void progress_clear(struct progress *p);
/* Final line. */
void progress_end(struct progress *p, uint64_t done, const char *extra);

#endif
