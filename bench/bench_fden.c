/* bench_fden: libfden's side of the performance comparison (issue 6).
 *
 *   bench_fden gemm  --threads T                 BLIS sgemm GFLOP/s, square and skinny
 *   bench_fden train --dim D --batch N --threads T
 *   bench_fden infer --dim D --threads T [--batches 1,16,256,4096]
 *   bench_fden flops --dim D --batch N            analytic product FLOPs only
 *   bench_fden arch                               the BLIS kernel family libfden runs
 *                                                 (after its own choice, FDEN_BLIS_ARCH)
 * common: --warmup W --reps R --min-time S --dropout P --seed S --ref 0|1 (0: no sgemm reference)
 *         --preset paper|default (paper: the preset below; default: what `fden train` runs)
 *
 * One JSON line per figure on stdout (bench/run.py reads them and prints the
 * table). Run one configuration per process: peak_rss_kb is this process's
 * ru_maxrss, so a fresh process gives the configuration's own peak.
 *
 * Timing protocol (the same as bench/torch_peer.py): call until at least W
 * calls and S seconds have passed (warm-up), choose k so one repetition of
 * k calls lasts >= S, then time R repetitions; report the median, minimum
 * and maximum seconds per call.
 *
 * Episode layout of a training batch: 4-way, 2 shots + 2 queries per class,
 * 16 rows an episode, so 16/64/256/1024 rows are exactly 1/4/16/64 episodes
 * (5-way episodes cannot give those row counts: 5 does not divide them).
 *
 * Model, --preset paper: FDEN_PRESET_PAPER (the paper's MLP disentangler
 * and widths, batch norm on each sub-network's first layer, dropout 0.2 on
 * every layer, leaky ReLU 0.01, Adam 1e-4 / 0.5 / 0.999, clipping on, no
 * cross-correlation or style-adversary terms), prototypical alignment head.
 *
 * --preset default: FDEN_PRESET_DEFAULT as it is (what `fden train` and the
 * bindings run): the flow disentangler (8 affine couplings, nets
 * Dim/2 -> 256 -> 256 -> Dim), E its exact inverse, the density term,
 * cross-correlation, the statistician 1024-256-64 on [f_ide, f_sty], the
 * prototypical head, per-tensor clipping of the MINE gradient, Adam 1e-3.
 * Episodes 20-way 1-shot 5-query (120 rows), so 480 and 1920 rows are 4 and
 * 16 episodes (the batch of `fden train --episodes 4`).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <blis.h>
#include <fden/fden.h>

struct opts {
	const char *mode;
	int dim, batch, threads, warmup, reps, seed, ref, dflt; /* dflt: --preset default */
	double min_time, dropout;
	const char *batches;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifndef FDEN_BENCH_NO_MODEL
static long peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}

static long cur_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts a[0..n) and returns its median. */
static double median_of(double *a, int n)
{
	qsort(a, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

struct timing {
	double median, min, max; /* wall seconds per call */
	double cpu;              /* median process CPU seconds per call (all threads) */
	long calls;              /* calls per repetition */
};

/* The protocol above; fn returns 0 on success. */
static int time_calls(int (*fn)(void *), void *ctx, const struct opts *o, struct timing *t)
{
	double t0 = now(), per, ts[64], cs[64];
	long done = 0, k;
	int r, reps = o->reps > 64 ? 64 : o->reps;

	while (done < o->warmup || now() - t0 < o->min_time) {
		if (fn(ctx))
			return -1;
		done++;
	}
	per = (now() - t0) / (double)done;
	k = (long)ceil(o->min_time / (per > 1e-9 ? per : 1e-9));
	if (k < 1)
		k = 1;
	for (r = 0; r < reps; r++) {
		double s = now(), c = cpu_now();

		for (long i = 0; i < k; i++)
			if (fn(ctx))
				return -1;
		ts[r] = (now() - s) / (double)k;
		cs[r] = (cpu_now() - c) / (double)k;
	}
	t->cpu = median_of(cs, reps);
	t->median = median_of(ts, reps); /* ts sorted */
	t->min = ts[0];
	t->max = ts[reps - 1];
	t->calls = k;
	return 0;
}

static float *alloc_floats(size_t n)
{
	float *p = NULL;

	if (posix_memalign((void **)&p, 64, n * sizeof(float) + 64))
		return NULL;
	return p;
}

/* Deterministic normal-ish fill (sum of uniforms), no libfden internals. */
static void fill_random(float *x, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		float acc = 0;

		for (int j = 0; j < 4; j++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			acc += (float)(s >> 40) * (1.0f / 16777216.0f);
		}
		x[i] = (acc - 2.0f) * 1.7320508f; /* unit variance */
	}
}

/* ---- BLIS sgemm peak ---------------------------------------------------- */

struct gemm_ctx {
	int m, n, k, ta, tb;
	float *A, *B, *C;
	rntm_t rntm;
};

static int gemm_call(void *p)
{
	struct gemm_ctx *g = p;
	float one = 1.0f, zero = 0.0f;
	/* row-major storage; with ta, A is stored k x m, with tb, B is n x k
	 * (BLIS strides describe the stored matrix) */
	inc_t rsa = g->ta ? g->m : g->k, rsb = g->tb ? g->k : g->n;

	bli_sgemm_ex(g->ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		     g->tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		     g->m, g->n, g->k, &one, g->A, rsa, 1, g->B, rsb, 1,
		     &zero, g->C, g->n, 1, NULL, &g->rntm);
	return 0;
}

static int run_gemm(const struct opts *o)
{
	/* m, n, k, op(A) transposed, op(B) transposed; the model's own shapes:
	 * a 512x512 layer forward/dW/dX at 1024 rows, the statistician's first
	 * layer at 2x1024 rows, batch-16 and batch-1 layers, inference at 4096 */
	static const int shapes[][5] = {
		{ 2048, 2048, 2048, 0, 0 },
		{ 1024, 512, 512, 0, 0 },
		{ 1024, 512, 512, 0, 1 },
		{ 512, 512, 1024, 1, 0 },
		{ 2048, 1024, 1024, 0, 0 },
		{ 4096, 512, 512, 0, 0 },
		{ 16, 512, 1024, 0, 0 },
		{ 16, 512, 512, 0, 0 },
		{ 1, 512, 512, 0, 0 },
		/* the default flow's coupling net d1 -> 256 -> 256 -> 2 d2: a
		 * 480-row step at Dim 64 (d1 = d2 = 32), inference at 4096 rows
		 * (Dim 64 and 512: the 256-wide middle, Dim 512's 512-wide output) */
		{ 480, 256, 32, 0, 0 },
		{ 480, 256, 256, 0, 0 },
		{ 480, 64, 256, 0, 0 },
		{ 4096, 256, 256, 0, 0 },
		{ 4096, 512, 256, 0, 0 },
	};
	const char *arch;

	bli_init(); /* before the query: with BLIS_ARCH_TYPE set, BLIS 0.9 checks it against gks */
	arch = bli_arch_string(bli_arch_query_id());
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct gemm_ctx g = { .m = shapes[s][0], .n = shapes[s][1], .k = shapes[s][2], .ta = shapes[s][3], .tb = shapes[s][4] };
		struct timing t;
		size_t na = (size_t)g.m * g.k, nb = (size_t)g.k * g.n, nc = (size_t)g.m * g.n;

		bli_rntm_init(&g.rntm);
		bli_rntm_set_num_threads(o->threads, &g.rntm);
		g.A = alloc_floats(na);
		g.B = alloc_floats(nb);
		g.C = alloc_floats(nc);
		if (!g.A || !g.B || !g.C)
			return 1;
		fill_random(g.A, na, 1);
		fill_random(g.B, nb, 2);
		memset(g.C, 0, nc * sizeof(float));
		if (time_calls(gemm_call, &g, o, &t))
			return 1;
		printf("{\"side\": \"blis\", \"mode\": \"gemm\", \"arch\": \"%s\", \"blis\": \"%s\", "
		       "\"threads\": %d, \"m\": %d, \"n\": %d, \"k\": %d, \"ta\": %d, \"tb\": %d, "
		       "\"calls\": %ld, \"median\": %.9g, \"min\": %.9g, \"max\": %.9g, "
		       "\"cpu\": %.9g, \"gflops\": %.6g}\n",
		       arch, bli_info_get_version_str(), o->threads, g.m, g.n, g.k, g.ta, g.tb,
		       t.calls, t.median, t.min, t.max, t.cpu,
		       2.0 * g.m * g.n * g.k / t.median * 1e-9);
		fflush(stdout);
		free(g.A);
		free(g.B);
		free(g.C);
	}
	return 0;
}

/* The reference product, sgemm 1024^3 on o->threads threads. */
#define REF_N 1024
#define REF_FLOPS (2.0 * REF_N * REF_N * REF_N)

static void ref_close(struct gemm_ctx *g)
{
	free(g->A);
	free(g->B);
	free(g->C);
}

/* g ready for gemm_call; -1 (nothing left allocated) when out of memory */
static int ref_open(const struct opts *o, struct gemm_ctx *g)
{
	size_t nn = (size_t)REF_N * REF_N;

	*g = (struct gemm_ctx){ .m = REF_N, .n = REF_N, .k = REF_N };
	bli_rntm_init(&g->rntm);
	bli_rntm_set_num_threads(o->threads, &g->rntm);
	g->A = alloc_floats(nn);
	g->B = alloc_floats(nn);
	g->C = alloc_floats(nn);
	if (!g->A || !g->B || !g->C) {
		ref_close(g);
		return -1;
	}
	fill_random(g->A, nn, 3);
	fill_random(g->B, nn, 4);
	return 0;
}

/* The BLIS rate right now, in this process: the reference product, timed
 * by the same protocol just after a figure, so a loaded machine slows the
 * reference as much as the figure it is compared with. */
static int ref_rate(const struct opts *o, double *gf_wall, double *gf_cpu)
{
	if (!o->ref) { /* --ref 0: profiling the figure alone */
		*gf_wall = *gf_cpu = 0;
		return 0;
	}
	struct gemm_ctx g;
	struct opts q = *o;
	struct timing t;
	int rc;

	q.reps = o->reps < 3 ? 3 : o->reps;
	q.warmup = 2;
	if (ref_open(o, &g))
		return -1;
	rc = time_calls(gemm_call, &g, &q, &t);
	ref_close(&g);
	if (rc)
		return -1;
	*gf_wall = REF_FLOPS / t.median * 1e-9;
	*gf_cpu = REF_FLOPS / t.cpu * 1e-9;
	return 0;
}

/* The figure against the reference in pairs: each repetition times k
 * calls of fn, then sgemm 1024^3 for about as long, and keeps the ratio
 * of the two rates; the median ratio. A machine whose speed drifts
 * between the figure and ref_rate (other tenants, clocks) moves both
 * halves of a pair alike. 0 with --ref 0. */
static int paired_frac(int (*fn)(void *), void *ctx, long k, double flops, const struct opts *o,
		       double *frac)
{
	struct gemm_ctx g;
	double r[64], t0, tg;
	int reps = o->reps < 5 ? 5 : o->reps > 64 ? 64
						  : o->reps,
	    rc = -1;
	long kr;

	*frac = 0;
	if (!o->ref)
		return 0;
	if (ref_open(o, &g))
		return -1;
	if (gemm_call(&g) || gemm_call(&g))
		goto out;
	t0 = now();
	if (gemm_call(&g))
		goto out;
	tg = now() - t0;
	for (int i = 0; i < reps; i++) {
		double s = now(), tf, tr;

		for (long j = 0; j < k; j++)
			if (fn(ctx))
				goto out;
		tf = now() - s;
		kr = (long)ceil(tf / (tg > 1e-9 ? tg : 1e-9));
		if (kr < 1)
			kr = 1;
		s = now();
		for (long j = 0; j < kr; j++)
			if (gemm_call(&g))
				goto out;
		tr = now() - s;
		r[i] = (flops * (double)k / tf) / (REF_FLOPS * (double)kr / tr);
	}
	*frac = median_of(r, reps);
	rc = 0;
out:
	ref_close(&g);
	return rc;
}

/* ---- analytic FLOPs ----------------------------------------------------- */

/* Products of one net: 2*rows*in*out per product; `prods` products per layer,
 * minus the first layer's dX when `no_dx0` (its input needs no gradient). */
static double net_flops(int in, const int *w, int nl, double rows, int fwd, int bwd, int no_dx0)
{
	double f = 0;

	for (int i = 0; i < nl; i++) {
		double p = (double)fwd + 2.0 * bwd; /* forward; dW and dX per backward */

		if (i == 0 && no_dx0)
			p -= bwd;
		f += 2.0 * rows * in * w[i] * p;
		in = w[i];
	}
	return f;
}

struct arch {
	int dim, dw, dtd, dhd, s1, s2, s3, ebw, ebd, etw, etd;
	int flow, fl, fw, fd, di; /* flow disentangler: layers, width, depth, f_ide width */
};

#define MAXL 16

static int widths(int hidden, int depth, int out, int *w)
{
	for (int i = 0; i < depth && i < MAXL - 1; i++)
		w[i] = hidden;
	w[depth] = out;
	return depth + 1;
}

/* Training: D (trunk + two heads) forward once and backward twice (g_u and
 * g_m are needed apart for the clipping; up to 256 rows libfden runs them
 * as one backward, the same products); the statistician on 2n rows (joint
 * and shuffled), its first layer as libfden computes it: split into the
 * f_ide and f_sty column blocks, each an n-row product (half the 2n-row
 * product's FLOPs; the PyTorch peer runs the 2n-row one unless --split-t);
 * E forward and backward once. The prototypical head's distances are left
 * out (n_query*ways*Dim, < 0.1%). */
/* The default configuration as libfden runs it: per coupling, the net
 * d1 -> fw^fd -> 2 d2 forward once and backward twice (g_u and g_m), each
 * backward with dW and dX of every layer (the coupling's x1 needs its
 * gradient); the statistician on [f_ide, f_sty] (Dim wide) as above, with
 * its input gradient (the flow needs it); the cross-correlation's
 * R = A^T B and its two gradient products (6 n di ds). Inference: every
 * coupling net forward once (the inverse runs the same nets). */
static void flops_default(const struct arch *a, int n, double *train, double *dis, double *ent)
{
	int w[MAXL], nl, D = a->dim, d1 = D / 2, d2 = D - d1;
	int st[4] = { a->s1, a->s2, a->s3, 1 };
	double tr = 0, fw;

	nl = widths(a->fw, a->fd, 2 * d2, w);
	fw = net_flops(d1, w, nl, n, 1, 0, 0);
	tr += a->fl * net_flops(d1, w, nl, n, 1, 2, 0);
	memcpy(w, st, sizeof(st));
	tr += net_flops(D, w, 4, 2.0 * n, 1, 1, 0);
	tr -= 0.5 * net_flops(D, w, 1, 2.0 * n, 1, 1, 0); /* the split first layer */
	tr += 6.0 * n * a->di * (D - a->di);
	*train = tr;
	*dis = a->fl * fw;
	*ent = a->fl * fw;
}

static void flops_of(const struct arch *a, int n, double *train, double *dis, double *ent)
{
	int w[MAXL], nl, D = a->dim;
	double tr = 0, di = 0, en = 0;
	int st[3] = { a->s1, a->s2, a->s3 };

	if (a->flow) {
		flops_default(a, n, train, dis, ent);
		return;
	}

	nl = widths(a->dw, a->dtd, 2 * D, w);
	tr += net_flops(D, w, nl, n, 1, 2, 1);
	di += net_flops(D, w, nl, n, 1, 0, 0);
	nl = widths(a->dw, a->dhd, D, w);
	tr += 2 * net_flops(2 * D, w, nl, n, 1, 2, 0);
	di += 2 * net_flops(2 * D, w, nl, n, 1, 0, 0);
	memcpy(w, st, sizeof(st));
	w[3] = 1;
	tr += net_flops(2 * D, w, 4, 2.0 * n, 1, 1, 0);
	tr -= 0.5 * net_flops(2 * D, w, 1, 2.0 * n, 1, 1, 0); /* the split first layer */
	nl = widths(a->ebw, a->ebd, D, w);
	tr += 2 * net_flops(D, w, nl, n, 1, 1, 0);
	en += 2 * net_flops(D, w, nl, n, 1, 0, 0);
	nl = widths(a->etw, a->etd, D, w);
	tr += net_flops(2 * D, w, nl, n, 1, 1, 0);
	en += net_flops(2 * D, w, nl, n, 1, 0, 0);
	*train = tr;
	*dis = di;
	*ent = en;
}

#ifndef FDEN_BENCH_NO_MODEL

static int cfg_int(const struct fden_config *c, int key)
{
	double v = 0;

	if (fden_config_get(c, key, &v))
		return -1;
	return (int)v;
}

static int arch_of(const struct fden_config *c, struct arch *a)
{
	a->dim = cfg_int(c, FDEN_P_DIM);
	a->dw = cfg_int(c, FDEN_P_DIS_WIDTH);
	a->dtd = cfg_int(c, FDEN_P_DIS_TRUNK_DEPTH);
	a->dhd = cfg_int(c, FDEN_P_DIS_HEAD_DEPTH);
	a->s1 = cfg_int(c, FDEN_P_STAT_WIDTH1);
	a->s2 = cfg_int(c, FDEN_P_STAT_WIDTH2);
	a->s3 = cfg_int(c, FDEN_P_STAT_WIDTH3);
	a->ebw = cfg_int(c, FDEN_P_ENT_BRANCH_WIDTH);
	a->ebd = cfg_int(c, FDEN_P_ENT_BRANCH_DEPTH);
	a->etw = cfg_int(c, FDEN_P_ENT_TRUNK_WIDTH);
	a->etd = cfg_int(c, FDEN_P_ENT_TRUNK_DEPTH);
	a->flow = cfg_int(c, FDEN_P_DISENTANGLER) == FDEN_DIS_FLOW;
	a->fl = cfg_int(c, FDEN_P_FLOW_LAYERS);
	a->fw = cfg_int(c, FDEN_P_FLOW_WIDTH);
	a->fd = cfg_int(c, FDEN_P_FLOW_DEPTH);
	a->di = cfg_int(c, FDEN_P_IDE_DIM);
	if (a->di <= 0)
		a->di = a->dim / 2;
	if (a->flow && (a->fl < 1 || a->fd < 0 || a->fd >= MAXL - 1))
		return -1;
	return a->dim > 0 && a->dtd >= 0 && a->dtd < MAXL - 1 && a->dhd < MAXL - 1 &&
			       a->ebd < MAXL - 1 && a->etd < MAXL - 1
		       ? 0
		       : -1;
}

static int make_config(const struct opts *o, struct fden_config **out)
{
	struct fden_config *c = NULL;
	int rc;

	if ((rc = fden_config_new(&c)))
		return rc;
	if (o->dflt) { /* FDEN_PRESET_DEFAULT untouched but for size, threads, seed */
		if ((rc = fden_config_set(c, FDEN_P_DIM, o->dim)) ||
		    (rc = fden_config_set(c, FDEN_P_THREADS, o->threads)) ||
		    (rc = fden_config_set(c, FDEN_P_SEED, o->seed))) {
			fprintf(stderr, "bench_fden: config: %s: %s\n", fden_strerror(rc), fden_last_error());
			fden_config_free(c);
			return rc;
		}
		*out = c;
		return 0;
	}
	if ((rc = fden_config_preset(c, FDEN_PRESET_PAPER)) ||
	    (rc = fden_config_set(c, FDEN_P_DIM, o->dim)) ||
	    (rc = fden_config_set(c, FDEN_P_THREADS, o->threads)) ||
	    (rc = fden_config_set(c, FDEN_P_DROPOUT, o->dropout)) ||
	    (rc = fden_config_set(c, FDEN_P_ALIGN_HEAD, FDEN_ALIGN_PROTOTYPICAL)) ||
	    (rc = fden_config_set(c, FDEN_P_DISENTANGLER, FDEN_DIS_MLP)) || /* the paper's D, */
	    (rc = fden_config_set(c, FDEN_P_XCORR, 0)) ||                   /* no extra terms */
	    (rc = fden_config_set(c, FDEN_P_STY_ADV, 0)) ||
	    (rc = fden_config_set(c, FDEN_P_SEED, o->seed))) {
		fprintf(stderr, "bench_fden: config: %s: %s\n", fden_strerror(rc), fden_last_error());
		fden_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

struct train_ctx {
	struct fden_model *m;
	struct fden_episodes ep;
	struct fden_step_stats st;
};

static int train_call(void *p)
{
	struct train_ctx *t = p;
	int rc = fden_train_step(t->m, &t->ep, &t->st);

	if (rc)
		fprintf(stderr, "bench_fden: train step: %s: %s\n", fden_strerror(rc),
			fden_model_last_error(t->m));
	return rc;
}

static int run_train(const struct opts *o)
{
	/* paper: 4-way 2-shot 2-query (16 rows); default: 20-way 1-shot 5-query (120) */
	const size_t ways = o->dflt ? 20 : 4, shots = o->dflt ? 1 : 2, queries = o->dflt ? 5 : 2;
	const size_t per = ways * (shots + queries);
	struct fden_config *cfg = NULL;
	struct train_ctx t = { 0 };
	struct timing tm;
	struct arch a;
	double ftr, fdi, fen, rw, rc;
	long base_rss = cur_rss_kb(), peak;
	float *z;
	int32_t *lab;
	size_t n = (size_t)o->batch;

	if (n % per) {
		fprintf(stderr, "bench_fden: batch must be a multiple of %zu\n", per);
		return 1;
	}
	if (make_config(o, &cfg))
		return 1;
	if (arch_of(cfg, &a) || fden_model_new(cfg, &t.m)) {
		fprintf(stderr, "bench_fden: model: %s\n", fden_last_error());
		return 1;
	}
	fden_config_free(cfg);
	z = alloc_floats(n * (size_t)o->dim);
	lab = malloc(n * sizeof(*lab));
	if (!z || !lab)
		return 1;
	fill_random(z, n * (size_t)o->dim, (uint64_t)o->seed);
	/* per episode: support rows class-major (c c .. shots), then queries */
	for (size_t e = 0; e < n / per; e++) {
		int32_t *l = lab + e * per;

		for (size_t i = 0; i < ways * shots; i++)
			l[i] = (int32_t)(i / shots);
		for (size_t i = 0; i < ways * queries; i++)
			l[ways * shots + i] = (int32_t)(i / queries);
	}
	t.ep = (struct fden_episodes){ .struct_size = sizeof(t.ep), .n_episodes = n / per, .ways = ways, .shots = shots, .queries = queries, .z = z, .z_log_sigma = NULL, .labels = lab };
	t.st.struct_size = sizeof(t.st);
	if (time_calls(train_call, &t, o, &tm))
		return 1;
	flops_of(&a, (int)n, &ftr, &fdi, &fen);
	peak = peak_rss_kb(); /* before the reference's buffers */
	if (ref_rate(o, &rw, &rc))
		return 1;
	printf("{\"side\": \"fden\", \"mode\": \"train\", \"preset\": \"%s\", \"threads\": %d, \"dim\": %d, "
	       "\"batch\": %zu, \"episodes\": %zu, \"ways\": %zu, \"shots\": %zu, \"queries\": %zu, "
	       "\"calls\": %ld, \"median\": %.9g, \"min\": %.9g, \"max\": %.9g, \"cpu\": %.9g, "
	       "\"flops\": %.6g, \"loss\": %.6g, \"ref_gflops\": %.6g, \"ref_gflops_cpu\": %.6g, "
	       "\"base_rss_kb\": %ld, \"peak_rss_kb\": %ld}\n",
	       o->dflt ? "default" : "paper", o->threads, o->dim, n, n / per, ways, shots, queries, tm.calls, tm.median,
	       tm.min, tm.max, tm.cpu, ftr, t.st.loss, rw, rc, base_rss, peak);
	fden_model_free(t.m);
	free(z);
	free(lab);
	return 0;
}

struct infer_ctx {
	struct fden_model *m;
	float *z, *fi, *fs, *out;
	size_t n;
};

static int dis_call(void *p)
{
	struct infer_ctx *c = p;

	return fden_disentangle(c->m, c->z, c->n, c->fi, c->fs);
}

static int ent_call(void *p)
{
	struct infer_ctx *c = p;

	return fden_entangle(c->m, c->fi, c->fs, c->n, c->out);
}

static int run_infer(const struct opts *o)
{
	struct fden_config *cfg = NULL;
	struct infer_ctx c = { 0 };
	struct arch a;
	long base_rss = cur_rss_kb(), peak = 0;
	char list[256], *tok, *save = NULL;

	if (make_config(o, &cfg))
		return 1;
	if (arch_of(cfg, &a) || fden_model_new(cfg, &c.m)) {
		fprintf(stderr, "bench_fden: model: %s\n", fden_last_error());
		return 1;
	}
	fden_config_free(cfg);
	snprintf(list, sizeof(list), "%s", o->batches);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t n = (size_t)strtoul(tok, NULL, 10), nd = n * (size_t)o->dim;
		struct timing td, te;
		double ftr, fdi, fen, rw, rc, pd, pe;

		if (!n)
			continue;
		c.n = n;
		c.z = alloc_floats(nd);
		c.fi = alloc_floats(nd);
		c.fs = alloc_floats(nd);
		c.out = alloc_floats(nd);
		if (!c.z || !c.fi || !c.fs || !c.out)
			return 1;
		fill_random(c.z, nd, (uint64_t)o->seed + n);
		if (dis_call(&c) || time_calls(dis_call, &c, o, &td) ||
		    time_calls(ent_call, &c, o, &te)) {
			fprintf(stderr, "bench_fden: inference: %s\n", fden_last_error());
			return 1;
		}
		flops_of(&a, (int)n, &ftr, &fdi, &fen);
		if (peak_rss_kb() > peak)
			peak = peak_rss_kb(); /* before the reference's buffers */
		if (ref_rate(o, &rw, &rc))
			return 1;
		/* paired only where a call is long enough to pair (batch >= 256) */
		pd = pe = 0;
		if (n >= 256 && (paired_frac(dis_call, &c, td.calls, fdi, o, &pd) ||
				 paired_frac(ent_call, &c, te.calls, fen, o, &pe))) {
			fprintf(stderr, "bench_fden: inference: %s\n", fden_last_error());
			return 1;
		}
		printf("{\"side\": \"fden\", \"mode\": \"disentangle\", \"preset\": \"%s\", \"threads\": %d, \"dim\": %d, "
		       "\"batch\": %zu, \"calls\": %ld, \"median\": %.9g, \"min\": %.9g, \"max\": %.9g, "
		       "\"cpu\": %.9g, \"flops\": %.6g, \"ref_gflops\": %.6g, \"ref_gflops_cpu\": %.6g, "
		       "\"paired_frac\": %.6g}\n",
		       o->dflt ? "default" : "paper", o->threads, o->dim, n, td.calls, td.median, td.min, td.max, td.cpu, fdi, rw, rc, pd);
		printf("{\"side\": \"fden\", \"mode\": \"entangle\", \"preset\": \"%s\", \"threads\": %d, \"dim\": %d, "
		       "\"batch\": %zu, \"calls\": %ld, \"median\": %.9g, \"min\": %.9g, \"max\": %.9g, "
		       "\"cpu\": %.9g, \"flops\": %.6g, \"ref_gflops\": %.6g, \"ref_gflops_cpu\": %.6g, "
		       "\"paired_frac\": %.6g}\n",
		       o->dflt ? "default" : "paper", o->threads, o->dim, n, te.calls, te.median, te.min, te.max, te.cpu, fen, rw, rc, pe);
		fflush(stdout);
		free(c.z);
		free(c.fi);
		free(c.fs);
		free(c.out);
	}
	printf("{\"side\": \"fden\", \"mode\": \"infer_mem\", \"preset\": \"%s\", \"threads\": %d, "
	       "\"dim\": %d, \"base_rss_kb\": %ld, \"peak_rss_kb\": %ld}\n",
	       o->dflt ? "default" : "paper", o->threads, o->dim, base_rss,
	       peak);
	fden_model_free(c.m);
	return 0;
}

/* The family BLIS runs once libfden has made its first product. */
static int run_arch(const struct opts *o)
{
	struct fden_config *cfg = NULL;
	struct fden_model *m = NULL;
	float z[64] = { 0 }, fi[64], fs[64];
	struct opts q = *o;

	q.dim = 16;
	q.dflt = 1;
	if (make_config(&q, &cfg) || fden_model_new(cfg, &m) || fden_disentangle(m, z, 1, fi, fs)) {
		fprintf(stderr, "bench_fden: arch: %s\n", fden_last_error());
		return 1;
	}
	printf("{\"side\": \"fden\", \"mode\": \"arch\", \"arch\": \"%s\", \"blis\": \"%s\", "
	       "\"fden_blis_arch\": \"%s\"}\n",
	       bli_arch_string(bli_arch_query_id()),
	       bli_info_get_version_str(), getenv("FDEN_BLIS_ARCH") ? getenv("FDEN_BLIS_ARCH") : "");
	fden_model_free(m);
	fden_config_free(cfg);
	return 0;
}

#endif /* FDEN_BENCH_NO_MODEL */

/* The paper's architecture, for `flops` without a model. */
static int run_flops(const struct opts *o)
{
	struct arch a = { .dim = o->dim, .dw = 512, .dtd = 3, .dhd = 2, .s1 = 1024, .s2 = 256, .s3 = 64, .ebw = 256, .ebd = 2, .etw = 512, .etd = 3 };
	double ftr, fdi, fen;

	flops_of(&a, o->batch, &ftr, &fdi, &fen);
	printf("{\"side\": \"fden\", \"mode\": \"flops\", \"dim\": %d, \"batch\": %d, "
	       "\"train\": %.6g, \"disentangle\": %.6g, \"entangle\": %.6g}\n",
	       o->dim, o->batch, ftr, fdi, fen);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_fden gemm|train|infer|flops|arch [--dim D] [--batch N] "
			"[--batches a,b,..] [--threads T] [--warmup W] [--reps R] [--min-time S] [--ref 0|1] "
			"[--dropout P] [--seed S] [--preset paper|default]\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .dim = 512, .batch = 16, .threads = 1, .warmup = 3, .reps = 5, .seed = 1, .ref = 1, .min_time = 0.2, .dropout = 0.2, .batches = "1,16,256,4096" };

	if (argc < 2) {
		usage();
		return 2;
	}
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(k, "--dim"))
			o.dim = atoi(v);
		else if (!strcmp(k, "--batch"))
			o.batch = atoi(v);
		else if (!strcmp(k, "--batches"))
			o.batches = v;
		else if (!strcmp(k, "--threads"))
			o.threads = atoi(v);
		else if (!strcmp(k, "--warmup"))
			o.warmup = atoi(v);
		else if (!strcmp(k, "--reps"))
			o.reps = atoi(v);
		else if (!strcmp(k, "--min-time"))
			o.min_time = atof(v);
		else if (!strcmp(k, "--dropout"))
			o.dropout = atof(v);
		else if (!strcmp(k, "--seed"))
			o.seed = atoi(v);
		else if (!strcmp(k, "--ref")) /* 0: skip the sgemm 1024^3 reference */
			o.ref = atoi(v);
		else if (!strcmp(k, "--preset") && (!strcmp(v, "default") || !strcmp(v, "paper")))
			o.dflt = !strcmp(v, "default");
		else {
			usage();
			return 2;
		}
	}
	if (o.threads < 1 || o.reps < 1 || o.dim < 1 || o.batch < 1) {
		usage();
		return 2;
	}
	if (!strcmp(o.mode, "gemm"))
		return run_gemm(&o);
	if (!strcmp(o.mode, "flops") && !o.dflt)
		return run_flops(&o);
#ifndef FDEN_BENCH_NO_MODEL
	if (!strcmp(o.mode, "train"))
		return run_train(&o);
	if (!strcmp(o.mode, "infer"))
		return run_infer(&o);
	if (!strcmp(o.mode, "arch"))
		return run_arch(&o);
#endif
	usage();
	return 2;
}
