/* sup_sweep: where BLIS's small-matrix ("sup") sgemm path beats its
 * conventional one, shape by shape, on this machine's kernel family. Not a
 * test: it prints the figures behind sup_pays() in libfden/kernels/gemm.c.
 *
 *   build-x/bench/sup_sweep [NTHREADS]
 *
 * For each pattern (NN: X W, NT: dH W^T, TN: X^T dH with k = rows), each
 * pair of the layer widths 64, 256, 512, 1024 and each row count 16 ... 960,
 * the product runs with sup disabled and enabled, interleaved, best of 5
 * blocks of at least 0.2 GFLOP (thread CPU time at 1 thread, wall time
 * otherwise). A cell reads rows:off/on GFLOP/s and a mark: + sup faster by
 * more than 5%, - slower by more than 5%, = within. At the largest row
 * counts BLIS leaves sup by itself (its thresholds), so on = off there.
 * Results: bench/README.md ("BLIS sup and FD_GEMM_PAD"). */
#define _GNU_SOURCE
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static float *A, *B, *C;
static int nthreads = 1;

static double now(void)
{
	struct timespec t;

	clock_gettime(nthreads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double rate(int m, int n, int k, int ta, int tb, int sup)
{
	rntm_t r = BLIS_RNTM_INITIALIZER;
	int lda = ta ? m : k, ldb = tb ? k : n, it = (int)(2e8 / (2.0 * m * n * k)) + 1;
	float one = 1.0f, zero = 0.0f;
	double best = 1e30;

	bli_rntm_set_num_threads(nthreads, &r);
	if (sup)
		bli_rntm_enable_l3_sup(&r);
	else
		bli_rntm_disable_l3_sup(&r);
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now(), dt;

		for (int i = 0; i < it; i++)
			bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, A,
				     ta ? 1 : lda, ta ? lda : 1, B, tb ? 1 : ldb, tb ? ldb : 1,
				     &zero, C, n, 1, NULL, &r);
		dt = (now() - t0) / it;
		if (dt < best)
			best = dt;
	}
	return 2.0 * m * n * k / best * 1e-9;
}

int main(int argc, char **argv)
{
	static const int rows[] = { 16, 32, 64, 128, 256, 480, 960 };
	static const int widths[] = { 64, 256, 512, 1024 };
	static const char *pat[] = { "NN", "NT", "TN" };
	size_t big = (size_t)1024 * 1024;

	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (nthreads < 1) {
		fprintf(stderr, "usage: sup_sweep [NTHREADS]\n");
		return 2;
	}
	A = malloc(big * sizeof *A);
	B = malloc(big * sizeof *B);
	C = malloc(big * sizeof *C);
	if (!A || !B || !C)
		return 1;
	for (size_t i = 0; i < big; i++) {
		A[i] = (float)(i % 7) * 0.1f;
		B[i] = (float)(i % 5) * 0.1f;
	}
	printf("sup_sweep: BLIS %s, %d thread(s); cells rows:off/on GFLOP/s\n", bli_info_get_version_str(),
	       nthreads);
	for (int p = 0; p < 3; p++) {
		int ta = pat[p][0] == 'T', tb = pat[p][1] == 'T';

		printf("%s: %s\n", pat[p], ta ? "m x n (k = rows)" : "n x k (m = rows)");
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++) {
				printf("%s %4dx%-4d", pat[p], widths[a], widths[b]);
				for (int i = 0; i < 7; i++) {
					int m = ta ? widths[a] : rows[i], n = ta ? widths[b] : widths[a];
					int k = ta ? rows[i] : widths[b];
					double off = rate(m, n, k, ta, tb, 0), on = rate(m, n, k, ta, tb, 1);

					printf(" %d:%.0f/%.0f%c", rows[i], off, on,
					       on > 1.05 * off ? '+' : on < 0.95 * off ? '-'
										       : '=');
				}
				printf("\n");
				fflush(stdout);
			}
	}
	free(A);
	free(B);
	free(C);
	return 0;
}
