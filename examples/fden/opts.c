/* The option layer of every subcommand: parse a command's own options and
 * its data options, print its help with the defaults, suggest the nearest
 * option for a mistyped one. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The command's options then its data options, as one list. */
static const struct opt *nth(const struct opt_cmd *c, size_t i)
{
	size_t k = 0;
	for (const struct opt *o = c->opts; o && o->name; o++, k++)
		if (k == i)
			return o;
	for (const struct opt *o = c->data; o && o->name; o++, k++)
		if (k == i)
			return o;
	return NULL;
}

static size_t count(const struct opt_cmd *c)
{
	size_t n = 0;
	while (nth(c, n))
		n++;
	return n;
}

static const struct opt *find(const struct opt_cmd *c, const char *name, size_t len, int *negated)
{
	const struct opt *o;
	*negated = 0;
	for (size_t i = 0; (o = nth(c, i)); i++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	if (len > 3 && !strncmp(name, "no-", 3))
		for (size_t i = 0; (o = nth(c, i)); i++)
			if (o->type == OPT_FLAG && strlen(o->name) == len - 3 &&
			    !strncmp(o->name, name + 3, len - 3)) {
				*negated = 1;
				return o;
			}
	return NULL;
}

size_t opt_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
	size_t row[64], i, j;
	if (nb >= sizeof row / sizeof row[0])
		return (size_t)-1;
	for (j = 0; j <= nb; j++)
		row[j] = j;
	for (i = 1; i <= na; i++) {
		size_t diag = row[0]; /* d(i-1, j-1) */
		row[0] = i;
		for (j = 1; j <= nb; j++) {
			size_t up = row[j]; /* d(i-1, j) */
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[nb];
}

/* The option nearest to a mistyped name, or NULL when none is near: at
 * most 2 edits, and fewer than half the name's length (git's rule of
 * thumb). A --no- prefix is matched against the flags. */
static const struct opt *nearest(const struct opt_cmd *c, const char *name, size_t len, int *neg)
{
	const struct opt *o, *best = NULL;
	size_t best_d = (size_t)-1;
	for (int pass = 0; pass < 2; pass++) {
		const char *s = name;
		size_t n = len;
		if (pass) {
			if (len <= 3 || strncmp(name, "no-", 3))
				break;
			s += 3;
			n -= 3;
		}
		for (size_t i = 0; (o = nth(c, i)); i++) {
			if (pass && o->type != OPT_FLAG)
				continue;
			size_t d = opt_edit_distance(s, n, o->name, strlen(o->name));
			if (d < best_d) {
				best_d = d;
				best = o;
				*neg = pass;
			}
		}
	}
	if (!best || best_d > 2 || 2 * best_d >= len)
		return NULL;
	return best;
}

static int set_value(const char *cmd, const struct opt *o, const char *v)
{
	char *end = NULL;
	errno = 0;
	switch (o->type) {
	case OPT_STR:
		*(const char **)o->ptr = v;
		return 0;
	case OPT_SIZE:
	case OPT_U64: {
		if (*v == '-' || !*v)
			break;
		unsigned long long x = strtoull(v, &end, 10);
		if (errno || *end)
			break;
		if (!x && o->range == OPT_POSITIVE)
			return cli_usage(cmd, "--%s must be at least 1, not %s (see 'fden %s "
					      "--help')",
					 o->name, v, cmd);
		if (o->type == OPT_SIZE)
			*(size_t *)o->ptr = (size_t)x;
		else
			*(uint64_t *)o->ptr = (uint64_t)x;
		return 0;
	}
	case OPT_DBL: {
		double x = strtod(v, &end);
		if (errno || *end || end == v || !isfinite(x))
			break;
		if ((o->range == OPT_POSITIVE && !(x > 0)) ||
		    (o->range == OPT_NONNEGATIVE && x < 0))
			return cli_usage(cmd, "--%s must be %s 0, not %s (see 'fden %s --help')",
					 o->name, o->range == OPT_POSITIVE ? "above" : "at least", v,
					 cmd);
		*(double *)o->ptr = x;
		return 0;
	}
	case OPT_CALL:
		if (o->call(o->ctx, v) == 0)
			return 0;
		break;
	case OPT_FLAG:
		break;
	}
	return cli_usage(cmd, "invalid value '%s' for --%s (see 'fden %s --help')", v, o->name,
			 cmd);
}

/* The default of o as help shows it, from the value it holds now. */
static char *default_text(const struct opt *o)
{
	char buf[128] = "";
	if (o->def)
		snprintf(buf, sizeof buf, "%s", o->def);
	else
		switch (o->type) {
		case OPT_FLAG:
			if (*(const int *)o->ptr)
				snprintf(buf, sizeof buf, "on");
			break;
		case OPT_STR:
			if (*(const char *const *)o->ptr)
				snprintf(buf, sizeof buf, "%s", *(const char *const *)o->ptr);
			break;
		case OPT_SIZE:
			snprintf(buf, sizeof buf, "%zu", *(const size_t *)o->ptr);
			break;
		case OPT_U64:
			snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)o->ptr);
			break;
		case OPT_DBL:
			snprintf(buf, sizeof buf, "%g", *(const double *)o->ptr);
			break;
		case OPT_CALL:
			if (o->show)
				o->show(o->ctx, buf, sizeof buf);
			break;
		}
	size_t n = strlen(buf) + 1;
	char *s = malloc(n);
	if (s)
		memcpy(s, buf, n);
	return s;
}

static void free_defaults(char **defs, size_t n)
{
	for (size_t i = 0; defs && i < n; i++)
		free(defs[i]);
	free(defs);
}

int opt_parse(const struct opt_cmd *c, int argc, char **argv)
{
	const char *cmd = c->name;
	size_t n = count(c);
	int help = 0;
	/* the defaults, before the command line changes them */
	char **defs = calloc(n ? n : 1, sizeof *defs);
	for (size_t i = 0; defs && i < n; i++)
		defs[i] = default_text(nth(c, i));

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = 1;
			continue;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			free_defaults(defs, n);
			return cli_usage(cmd, "unexpected argument '%s' (see 'fden %s --help')", a,
					 cmd);
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int neg;
		const struct opt *o = find(c, name, len, &neg);
		if (!o) {
			const struct opt *near = nearest(c, name, len, &neg);
			free_defaults(defs, n);
			if (near)
				return cli_usage(cmd, "unknown option '--%.*s'; did you mean '--%s%s'? "
						      "(see 'fden %s --help')",
						 (int)len, name,
						 neg ? "no-" : "", near->name, cmd);
			return cli_usage(cmd, "unknown option '--%.*s' (see 'fden %s --help')",
					 (int)len, name, cmd);
		}
		if (o->type == OPT_FLAG) {
			if (eq) {
				free_defaults(defs, n);
				return cli_usage(cmd, "option '--%s' takes no value", o->name);
			}
			*(int *)o->ptr = !neg;
			continue;
		}
		const char *v;
		if (eq) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc) {
				free_defaults(defs, n);
				return cli_usage(cmd, "option '--%s' needs a value (%s)", o->name,
						 o->arg ? o->arg : "VALUE");
			}
			v = argv[++i];
		}
		if (set_value(cmd, o, v)) {
			free_defaults(defs, n);
			return EXIT_USAGE;
		}
	}
	if (help)
		opt_help(stdout, c, defs);
	free_defaults(defs, n);
	return help ? OPT_HELP_SHOWN : 0;
}

static void print_opts(FILE *f, const struct opt *opts, char *const *defs, size_t *k)
{
	for (const struct opt *o = opts; o && o->name; o++, (*k)++) {
		char left[64];
		const char *def = defs ? defs[*k] : NULL;
		char *own = def ? NULL : default_text(o);
		if (!def)
			def = own;
		if (o->type == OPT_FLAG)
			snprintf(left, sizeof left, "--[no-]%s", o->name);
		else
			snprintf(left, sizeof left, "--%s %s", o->name, o->arg ? o->arg : "VALUE");
		size_t hl = strlen(o->help);
		int paren = hl && o->help[hl - 1] == ')'; /* "... (0: all)" -> "... (0: all; default: N)" */
		if (strlen(left) > 26)
			fprintf(f, "  %s\n  %-26s  ", left, "");
		else
			fprintf(f, "  %-26s  ", left);
		if (def && *def && paren)
			fprintf(f, "%.*s; default: %s)\n", (int)(hl - 1), o->help, def);
		else if (def && *def)
			fprintf(f, "%s (default: %s)\n", o->help, def);
		else
			fprintf(f, "%s\n", o->help);
		free(own);
	}
}

void opt_help(FILE *f, const struct opt_cmd *c, char *const *defs)
{
	size_t k = 0;
	fprintf(f, "Usage: fden %s %s\n\n%s\n\nOptions:\n", c->name, c->synopsis, c->desc);
	print_opts(f, c->opts, defs, &k);
	fprintf(f, "  %-26s  %s\n", "-h, --help", "show this help and exit");
	if (c->data && c->data->name) {
		fprintf(f, "\nData options:\n");
		print_opts(f, c->data, defs, &k);
	}
	if (c->footer)
		fprintf(f, "\n%s", c->footer);
}
