/* Error reporting, exit codes, clocks and paths shared by the subcommands. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- the output lock of `fden train` and a crashed save's leftovers ---- */

int cli_lock_output(const char *cmd, const char *out, struct cli_lock *lk)
{
	lk->fd = -1;
	if ((size_t)snprintf(lk->path, sizeof lk->path, "%s.lock", out) >= sizeof lk->path) {
		fprintf(stderr, "fden: %s: '%s': path too long\n", cmd, out);
		return EXIT_FILE;
	}
	for (int tries = 0; tries < 16; tries++) {
		struct stat a, b;
		int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0) {
			fprintf(stderr, "fden: %s: creating the lock file '%s': %s\n", cmd, lk->path,
				strerror(errno));
			return EXIT_FILE;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			char pid[32] = "";
			ssize_t r = read(fd, pid, sizeof pid - 1);
			close(fd);
			if (r > 0)
				pid[r] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			if (e == EWOULDBLOCK)
				fprintf(stderr, "fden: %s: '%s' is being written by another process "
						"(%s%s%s holds '%s'); give another --out or wait\n",
					cmd, out,
					*pid ? "pid " : "", *pid ? pid : "it", "", lk->path);
			else
				fprintf(stderr, "fden: %s: locking '%s': %s\n", cmd, lk->path, strerror(e));
			return EXIT_FILE;
		}
		/* the file we locked must still be the one at the path (a holder
		 * unlinks it when done: then lock the new one) */
		if (fstat(fd, &a) == 0 && stat(lk->path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			char pid[32];
			int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			/* the pid is for the message of a second trainer only */
			if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
				pid[0] = '\0';
			lk->since = (double)time(NULL);
			lk->fd = fd;
			return 0;
		}
		close(fd);
	}
	fprintf(stderr, "fden: %s: '%s' keeps changing; cannot lock it\n", cmd, lk->path);
	return EXIT_FILE;
}

void cli_unlock_output(struct cli_lock *lk)
{
	if (lk->fd < 0)
		return;
	unlink(lk->path); /* while still locked: see cli_lock_output */
	close(lk->fd);
	lk->fd = -1;
}

/* "<base>.tmp.<pid>.<6 alphanumerics>" (libfden's temporary files): the pid,
 * 0 when not; *old = 1 for "<base>.tmp.<6 alphanumerics>" (before 0.2). */
static long tmp_owner(const char *name, const char *base, size_t blen, int *old)
{
	const char *p, *sfx;
	char *end;
	long pid = 0;
	*old = 0;
	if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
		return 0;
	p = name + blen + 5;
	sfx = p;
	if (*p >= '1' && *p <= '9') {
		errno = 0;
		pid = strtol(p, &end, 10);
		if (!errno && pid > 0 && *end == '.')
			sfx = end + 1;
		else
			pid = 0;
	}
	if (strlen(sfx) != 6)
		return 0;
	for (p = sfx; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return 0;
	if (!pid)
		*old = sfx == name + blen + 5;
	return pid;
}

size_t cli_clean_stale(const char *out, const struct cli_lock *lk)
{
	char dir[4096];
	const char *slash = strrchr(out, '/'), *base = slash ? slash + 1 : out;
	size_t blen = strlen(base), removed = 0;
	struct dirent *de;
	DIR *d;
	if (!slash)
		strcpy(dir, ".");
	else if ((size_t)(slash - out) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", slash == out ? 1 : (int)(slash - out), out);
	else
		return 0;
	if (!blen || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)) != NULL) {
		int old;
		long pid = tmp_owner(de->d_name, base, blen, &old);
		struct stat sb;
		if (!pid && !old)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		/* ours for certain: its writer is gone (pid), or, an older
		 * library's name without one, it predates the lock we hold */
		if (pid ? pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH
			: !lk || lk->fd < 0 || (double)sb.st_mtime >= lk->since)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
