/* Table-driven long-option parser and help printer for the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct opt *find(const struct opt *opts, const char *name, size_t len, int *negated)
{
	*negated = 0;
	for (const struct opt *o = opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	if (len > 3 && !strncmp(name, "no-", 3))
		for (const struct opt *o = opts; o->name; o++)
			if (o->type == OPT_FLAG && strlen(o->name) == len - 3 &&
			    !strncmp(o->name, name + 3, len - 3)) {
				*negated = 1;
				return o;
			}
	return NULL;
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

int opt_parse(const char *cmd, const struct opt *opts, int argc, char **argv, int *help)
{
	*help = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = 1;
			continue;
		}
		if (strncmp(a, "--", 2) || !a[2])
			return cli_usage(cmd, "unexpected argument '%s' (see 'fden %s --help')", a,
					 cmd);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int neg;
		const struct opt *o = find(opts, name, len, &neg);
		if (!o)
			return cli_usage(cmd, "unknown option '--%.*s' (see 'fden %s --help')",
					 (int)len, name, cmd);
		if (o->type == OPT_FLAG) {
			if (eq)
				return cli_usage(cmd, "option '--%s' takes no value", o->name);
			*(int *)o->ptr = !neg;
			continue;
		}
		const char *v;
		if (eq) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc)
				return cli_usage(cmd, "option '--%s' needs a value (%s)", o->name,
						 o->arg ? o->arg : "VALUE");
			v = argv[++i];
		}
		if (set_value(cmd, o, v))
			return EXIT_USAGE;
	}
	return 0;
}

void opt_help(FILE *f, const char *cmd, const char *synopsis, const char *desc,
	      const struct opt *opts, const char *footer)
{
	fprintf(f, "Usage: fden %s %s\n\n%s\n\nOptions:\n", cmd, synopsis, desc);
	for (const struct opt *o = opts; o->name; o++) {
		char left[64];
		if (o->type == OPT_FLAG)
			snprintf(left, sizeof left, "--[no-]%s", o->name);
		else
			snprintf(left, sizeof left, "--%s %s", o->name, o->arg ? o->arg : "VALUE");
		if (strlen(left) > 26)
			fprintf(f, "  %s\n  %-26s  %s\n", left, "", o->help);
		else
			fprintf(f, "  %-26s  %s\n", left, o->help);
	}
	fprintf(f, "  %-26s  %s\n", "-h, --help", "show this help and exit");
	if (footer)
		fprintf(f, "\n%s", footer);
}
