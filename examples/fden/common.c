/* Error reporting, exit codes, clocks and paths shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

int cli_quiet;

int cli_exit_code(int status)
{
	switch (status) {
	case FDEN_OK:
		return 0;
	case FDEN_E_INVALID:
		return EXIT_USAGE;
	case FDEN_E_IO:
	case FDEN_E_FORMAT:
	case FDEN_E_VERSION:
	case FDEN_E_CORRUPT:
		return EXIT_FILE;
	case FDEN_E_NONFINITE:
		return EXIT_DIVERGED;
	case FDEN_E_SHAPE:
		return EXIT_DATA;
	default:
		return EXIT_RUNTIME;
	}
}

int cli_fail(const char *cmd, int status, const char *what, ...)
{
	va_list ap;
	const char *detail = fden_last_error();
	fprintf(stderr, "fden: %s: ", cmd);
	va_start(ap, what);
	vfprintf(stderr, what, ap);
	va_end(ap);
	if (!detail || !*detail)
		detail = fden_strerror(status);
	fprintf(stderr, ": %s\n", detail);
	return cli_exit_code(status);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fden: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

void cli_info(const char *fmt, ...)
{
	va_list ap;
	if (cli_quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -1;
		buf[i] = c;
	}
	struct stat st;
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

const char *cli_path(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

FILE *cli_open_output(const char *cmd, const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "fden: %s: opening '%s': %s\n", cmd, path, strerror(errno));
	return f;
}

int cli_close_output(const char *cmd, FILE *f, const char *path)
{
	int bad = f == stdout ? fflush(f) != 0 || ferror(f) : fclose(f) != 0;
	if (bad) {
		fprintf(stderr, "fden: %s: writing '%s' failed\n", cmd,
			f == stdout ? "standard output" : path);
		return EXIT_FILE;
	}
	return 0;
}
