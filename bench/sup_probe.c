/* sup_probe: how far BLIS's small-matrix ("sup") sgemm kernels read outside
 * their operands (flame/blis#635), measured with guard pages. Not a test.
 *
 *   build-x/bench/sup_probe NTHREADS LDEXTRA BETA          small sweep
 *   build-x/bench/sup_probe NTHREADS LDEXTRA L             large sweep
 *   build-x/bench/sup_probe NTHREADS LDEXTRA BETA ta tb m n k op   one shape
 *
 * Each run forks: the child places one operand (A, B or C) so that its last
 * element ends `pad` bytes before a PROT_NONE page, runs bli_sgemm_ex with
 * sup enabled, and on SIGSEGV reports the fault address; the parent raises
 * pad past it until the product runs clean, which gives the largest
 * over-read. Also checked: a guard page right before the operand (reads
 * before the start; a FAULT there can also be the trailing page when the
 * data fill whole pages), and a read-only page after C (writes past C).
 * Lines are printed only for shapes that over-read. Results on this
 * machine (BLIS 0.9.0, zen3, skx and haswell kernels, each run with
 * BLIS_ARCH_TYPE = 6, 0, 3): bench/README.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <blis.h>
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t PG;
/* map `bytes` of data so the data END is `pad` bytes before a guard page (after=1),
 * or data START right after a guard page (after=0) */
static float *place(size_t bytes, size_t pad, int after, char **mapout, size_t *mapn)
{
	size_t data = (bytes + pad + PG - 1) / PG * PG;
	size_t tot = data + 2 * PG;
	char *map = mmap(NULL, tot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(map, PG, PROT_NONE);
	mprotect(map + PG + data, PG, PROT_NONE);
	*mapout = map;
	*mapn = tot;
	if (after)
		return (float *)(map + PG + data - pad - bytes);
	return (float *)(map + PG);
}

static char *g_end;
static int pfd[2];
static void segv2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	long off = (char *)si->si_addr - g_end;
	write(pfd[1], &off, sizeof off);
	_exit(3);
}

/* which: 0 A, 1 B, 2 C; returns fault offset from end (after) or -1 none */
static int LDX = 0;
static float BETA = 0.5f;
static long run(int ta, int tb, int m, int n, int k, int which, size_t pad, int after, int nt, int sup)
{
	pipe(pfd);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = segv2;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		int lda = (ta ? m : k) + LDX, ldb = (tb ? k : n) + LDX, ldc = n + LDX;
		size_t na = ta ? (size_t)(k - 1) * lda + m : (size_t)(m - 1) * lda + k;
		size_t nb = tb ? (size_t)(n - 1) * ldb + k : (size_t)(k - 1) * ldb + n;
		size_t nc = (size_t)(m - 1) * ldc + n;
		size_t ns[3] = { na, nb, nc };
		float *p[3];
		char *mp;
		size_t mn;
		for (int i = 0; i < 3; i++) {
			if (i == which)
				p[i] = place(ns[i] * 4, pad, after, &mp, &mn);
			else
				p[i] = aligned_alloc(64, (ns[i] * 4 + 8192 + 63) / 64 * 64 + 8192);
			for (size_t j = 0; j < ns[i]; j++) p[i][j] = 0.001f * (j % 97);
		}
		g_end = after ? (char *)(p[which] + ns[which]) : (char *)p[which];
		rntm_t r = BLIS_RNTM_INITIALIZER;
		bli_rntm_set_num_threads(nt, &r);
		if (sup)
			bli_rntm_enable_l3_sup(&r);
		else
			bli_rntm_disable_l3_sup(&r);
		float al = 1, be = BETA;
		if (after == 2) mprotect(g_end + pad - (((size_t)g_end + pad) % PG ? 0 : 0), PG, PROT_READ);
		inc_t rsa = ta ? 1 : lda, csa = ta ? lda : 1, rsb = tb ? 1 : ldb, csb = tb ? ldb : 1;
		bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &al, p[0], rsa, csa,
			     p[1], rsb, csb, &be, p[2], ldc, 1, NULL, &r);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	close(pfd[1]);
	long off = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		read(pfd[0], &off, sizeof off);
	else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		off = -999;
	close(pfd[0]);
	return off;
}

/* max over-read past the end in bytes (0 = none) */
static long overread(int ta, int tb, int m, int n, int k, int which, int nt, int *tries)
{
	size_t pad = 0;
	for (*tries = 0; *tries < 40; (*tries)++) {
		long off = run(ta, tb, m, n, k, which, pad, 1, nt, 1);
		if (off == -1) return pad == 0 ? 0 : (long)pad;
		if (off == -999) return -999;
		/* fault at off bytes past end: need pad > off */
		pad = (size_t)off + 4 > pad ? ((size_t)off + 4 + 3) / 4 * 4 : pad + 4;
	}
	return -2;
}

/* Each operand of one shape: bytes read past its end, a fault before its
 * start, bytes written past C; prints the shape when any is found. */
static void probe(int ta, int tb, int m, int n, int k, int nt)
{
	int tr;

	for (int w = 0; w < 3; w++) {
		long o = overread(ta, tb, m, n, k, w, nt, &tr);
		long u = run(ta, tb, m, n, k, w, 0, 0, nt, 1);
		long wr = w == 2 ? run(ta, tb, m, n, k, w, 0, 2, nt, 1) : -1;
		if (o != 0 || u != -1 || wr != -1)
			printf("ta%d tb%d m%4d n%5d k%5d op %c: past end %ld B, before start %s, write past %ld\n",
			       ta, tb, m, n, k, "ABC"[w], o, u == -1 ? "ok" : "FAULT", wr);
	}
}

int main(int argc, char **argv)
{
	PG = (size_t)sysconf(_SC_PAGESIZE);
	bli_init(); /* before the query: BLIS 0.9 checks BLIS_ARCH_TYPE against its families then */
	fprintf(stderr, "sup_probe: BLIS %s, %s kernels (BLIS_ARCH_TYPE picks another family)\n",
		bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()));
	int nt = argc > 1 ? atoi(argv[1]) : 1;
	LDX = argc > 2 ? atoi(argv[2]) : 0;
	BETA = argc > 3 ? atof(argv[3]) : 0.5f;
	if (argc > 4) { /* one shape: nt ldx beta ta tb m n k op */
		int ta = atoi(argv[4]), tb = atoi(argv[5]), m = atoi(argv[6]), n = atoi(argv[7]), k = atoi(argv[8]), w = atoi(argv[9]), tr;
		long o = overread(ta, tb, m, n, k, w, nt, &tr);
		long u = run(ta, tb, m, n, k, w, 0, 0, nt, 1);
		printf("past end %ld (tries %d), before-start fault offset %ld\n", o, tr, u);
		return 0;
	}
	if (argc > 3 && argv[3][0] == 'L') { /* large sweep */
		int ms[] = { 16, 32, 48, 64, 128, 256, 512, 1024 }, ns[] = { 1, 2, 16, 64, 256, 512, 1024 }, ks[] = { 16, 17, 32, 64, 512, 1024 };
		BETA = 0.5f;
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (unsigned a = 0; a < 8; a++)
					for (unsigned b = 0; b < 7; b++)
						for (unsigned c = 0; c < 6; c++) {
							probe(ta, tb, ms[a], ns[b], ks[c], nt);
							fflush(stdout);
						}
		return 0;
	}
	int ms[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17, 32, 33, 64 };
	int ns[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 512, 1024 };
	int ks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 512 };
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++)
			for (unsigned a = 0; a < sizeof ms / sizeof *ms; a++)
				for (unsigned b = 0; b < sizeof ns / sizeof *ns; b++)
					for (unsigned c = 0; c < sizeof ks / sizeof *ks; c++) {
						probe(ta, tb, ms[a], ns[b], ks[c], nt);
					}
	return 0;
}
