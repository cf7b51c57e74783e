/* Every loader's allocation is bounded by what its file actually holds.
 *
 * One table: each row builds a small file whose header (or configuration)
 * claims huge sizes, loads it in a child process and asserts a clear refusal
 * (status and a word of the message) with the child's peak RSS growing by
 * less than RSS_BOUND_MB. Outside sanitizer builds the child's address space
 * is also capped (AS_CAP_MB over what it has), so a loader that allocates
 * from the header fails with NOMEM instead of hurting the machine.
 *
 * Adding a loader: write a load_* function (path -> status, message into
 * msg) and add rows; a checkpoint-based file is just a kind and a list of
 * records (struct rec), raw bytes go through .raw/.rawlen. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "../testutil.h"
#include <fden/fden.h>
#include "fden/config.h"
#include "io/ckpt.h"
#include "io/idx.h"
#include "io/npy.h"

#define RSS_BOUND_MB 64
#define AS_CAP_MB 1024
#define MSG_LEN 512
#define MAX_RECS 8


/* ---- loaders: path -> status, the detail message into msg ---- */

static int load_invnet(const char *path, char *msg)
{
	struct fden_invnet *net = NULL;
	int rc = fden_invnet_load(path, &net);

	snprintf(msg, MSG_LEN, "%s", fden_last_error());
	fden_invnet_free(net);
	return rc;
}

static int load_model(const char *path, char *msg)
{
	struct fden_model *m = NULL;
	int rc = fden_model_load(path, NULL, &m);

	snprintf(msg, MSG_LEN, "%s", fden_last_error());
	fden_model_free(m);
	return rc;
}

static int load_ckpt_model_kind(const char *path, char *msg)
{
	struct fd_ckpt_reader *r = NULL;
	struct fd_err err;
	int rc;

	fd_err_clear(&err);
	rc = fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r);
	snprintf(msg, MSG_LEN, "%s", err.msg);
	fd_ckpt_reader_free(r);
	return rc;
}

static int load_array(const char *path, char *msg, int npy, int want)
{
	struct fd_array a;
	struct fd_err err;
	int rc;

	fd_err_clear(&err);
	memset(&a, 0, sizeof a);
	rc = npy ? fd_npy_read(path, want, NULL, &err, &a)
		 : fd_idx_read(path, want, 1.0, NULL, &err, &a);
	snprintf(msg, MSG_LEN, "%s", err.msg);
	if (rc == FDEN_OK)
		fd_array_free(&a, NULL);
	return rc;
}

static int load_npy_f32(const char *path, char *msg) { return load_array(path, msg, 1, FD_ARRAY_FLOAT); }
static int load_npy_lab(const char *path, char *msg) { return load_array(path, msg, 1, FD_ARRAY_LABELS); }
static int load_idx_f32(const char *path, char *msg) { return load_array(path, msg, 0, FD_ARRAY_FLOAT); }
static int load_idx_lab(const char *path, char *msg) { return load_array(path, msg, 0, FD_ARRAY_LABELS); }

/* ---- file builders ---- */

struct rec {
	const char *name;
	int type; /* FD_CKPT_U64 records carry u64[]; others are zeros */
	size_t count;
	uint64_t u64[8];
	int config; /* 1: an F64 "config" record from cfg_wide() */
	int flow;   /* with config: the flow disentangler */
};

/* A configuration whose networks would need gigabytes. */
static void cfg_wide(struct fden_config *c, int flow)
{
	memset(c, 0, sizeof *c);
	fd_config_fill(c, FDEN_PRESET_PAPER);
	c->v[FDEN_P_DIM] = 4096;
	c->v[FDEN_P_DIS_WIDTH] = 65536;
	c->v[FDEN_P_ENT_TRUNK_WIDTH] = 65536;
	c->v[FDEN_P_ENT_BRANCH_WIDTH] = 65536;
	c->v[FDEN_P_STAT_WIDTH1] = 65536;
	if (flow) {
		c->v[FDEN_P_DISENTANGLER] = FDEN_DIS_FLOW;
		c->v[FDEN_P_FLOW_WIDTH] = 65536;
		c->v[FDEN_P_FLOW_LAYERS] = 8;
	}
}

static void build_ckpt(const char *path, uint32_t kind, const struct rec *recs)
{
	struct fd_ckpt_writer *w;
	struct fd_err err;

	fd_err_clear(&err);
	ck_assert_int_eq(fd_ckpt_writer_new(kind, NULL, &err, &w), FDEN_OK);
	for (int i = 0; i < MAX_RECS && recs[i].name; i++) {
		const struct rec *r = &recs[i];
		void *zeros;

		if (r->config) {
			struct fden_config c;

			cfg_wide(&c, r->flow);
			ck_assert_int_eq(fd_ckpt_put(w, r->name, FD_CKPT_F64, c.v, FD_NKEYS + 1), 0);
		} else if (r->type == FD_CKPT_U64) {
			ck_assert_int_eq(fd_ckpt_put(w, r->name, r->type, r->u64, r->count), 0);
		} else {
			zeros = calloc(r->count ? r->count : 1, 8);
			ck_assert_ptr_nonnull(zeros);
			ck_assert_int_eq(fd_ckpt_put(w, r->name, r->type, zeros, r->count), 0);
			free(zeros);
		}
	}
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_OK);
}

/* A checkpoint header claiming a 4 GiB payload over a few compressed bytes. */
static const unsigned char ckpt_huge[] = {
	'F',
	'D',
	'E',
	'N',
	'C',
	'K',
	'P',
	'T',
	1,
	0,
	0,
	0,
	1,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	1,
	0,
	0,
	0, /* usize 2^32 */
	4,
	0,
	0,
	0,
	0,
	0,
	0,
	0, /* csize 4 */
	0,
	0,
	0,
	0,
	0x78,
	0x9c,
	3,
	0,
};

/* header padded by the builder to 118 bytes + 10 preamble = 128 */
static const char npy_huge2[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1048576), }";
static const char npy_huge1[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }";
static const char npy_lab[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (4000000000,), }";
static const char npy_ovf[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }";

static void build_npy(const char *path, const char *dict, size_t data_bytes)
{
	unsigned char buf[128 + 256];
	size_t dl = strlen(dict);

	ck_assert_uint_le(dl, 117);
	memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
	memset(buf + 10, ' ', 118);
	memcpy(buf + 10, dict, dl);
	buf[127] = '\n';
	memset(buf + 128, 0, sizeof buf - 128);
	tu_write(path, buf, 128 + (data_bytes < 256 ? data_bytes : 256));
}

/* IDX: magic {0,0,type,ndim}, big-endian sizes, a few data bytes. */
static void build_idx(const char *path, int type, int ndim, const uint32_t *dims, int gz)
{
	unsigned char buf[64];
	size_t n = 4;

	buf[0] = buf[1] = 0;
	buf[2] = (unsigned char)type;
	buf[3] = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++, n += 4) {
		buf[n] = (unsigned char)(dims[i] >> 24);
		buf[n + 1] = (unsigned char)(dims[i] >> 16);
		buf[n + 2] = (unsigned char)(dims[i] >> 8);
		buf[n + 3] = (unsigned char)dims[i];
	}
	memset(buf + n, 7, 16);
	n += 16;
	if (!gz) {
		tu_write(path, buf, n);
	} else {
		gzFile g = gzopen(path, "wb");

		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(gzwrite(g, buf, (unsigned)n), (int)n);
		ck_assert_int_eq(gzclose(g), Z_OK);
	}
}

/* ---- the table ---- */

enum build_kind { B_CKPT,
		  B_RAW,
		  B_NPY,
		  B_IDX,
		  B_DIR };

struct row {
	const char *what;
	enum build_kind build;
	uint32_t kind;             /* B_CKPT */
	struct rec recs[MAX_RECS]; /* B_CKPT */
	const unsigned char *raw;  /* B_RAW */
	size_t rawlen;
	const char *npy;                /* B_NPY: header dict */
	size_t npy_data;                /* B_NPY: data bytes present */
	int idx_type, idx_ndim, idx_gz; /* B_IDX */
	uint32_t idx_dims[4];
	int (*load)(const char *path, char *msg);
	int want;
	const char *msg; /* a word the detail must hold */
};

#define U64(N, C, ...) \
	{ \
		.name = (N), .type = FD_CKPT_U64, .count = (C), .u64 = { __VA_ARGS__ } \
	}
#define F32(N, C) \
	{ \
		.name = (N), .type = FD_CKPT_F32, .count = (C) \
	}
#define CONFIG(FLOW) \
	{ \
		.name = "config", .config = 1, .flow = (FLOW) \
	}

static const struct row rows[] = {
	{ "ckpt: 4 GiB payload from 4 bytes", B_RAW, .raw = ckpt_huge, .rawlen = sizeof ckpt_huge,
	  .load = load_ckpt_model_kind, .want = FDEN_E_CORRUPT, .msg = "cannot hold" },
	{ "pca: 65536 x 65536, no records", B_CKPT, FD_CKPT_PCA, { U64("pca.dims", 2, 65536, 65536) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "missing" },
	{ "pca: 65536 x 65536, mean only", B_CKPT, FD_CKPT_PCA, { U64("pca.dims", 2, 65536, 65536), F32("pca.mean", 65536) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "pca.components" },
	{ "pca: components of the wrong count", B_CKPT, FD_CKPT_PCA, { U64("pca.dims", 2, 65536, 65536), F32("pca.mean", 65536), F32("pca.components", 16), F32("pca.variance", 65536) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "elements" },
	{ "ae: 2^24 wide, no records", B_CKPT, FD_CKPT_AE, { U64("ae.dims", 3, 1u << 24, 1u << 24, 1u << 24) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "missing" },
	{ "ae: 784 -> 2^20 -> 64, small weights", B_CKPT, FD_CKPT_AE, { U64("ae.dims", 3, 784, 1u << 20, 64), F32("enc.0.w", 784) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "enc.0.w" },
	{ "ali: 4096 x 4096 x 64, base 256, no records", B_CKPT, FD_CKPT_ALI, { U64("ali.dims", 6, 4096, 4096, 64, 65536, 256, 0) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "sizes" },
	{ "ali: 28 x 28, latent 2^16, base 256, small weights", B_CKPT, FD_CKPT_ALI, { U64("ali.dims", 6, 28, 28, 1, 65536, 256, 0), F32("gz0.w", 16) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "gz0.w" },
	{ "conv: 1024 x 1024 x 16 -> 256 (137 GB), no records", B_CKPT, FD_CKPT_CONV, { U64("conv.dims", 7, 1024, 1024, 16, 256, 256, 2, 0) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "missing" },
	{ "conv: 1024 x 1024 x 16 -> 256 (137 GB), small weights", B_CKPT, FD_CKPT_CONV, { U64("conv.dims", 7, 1024, 1024, 16, 256, 256, 2, 0), F32("enc0.w", 16) }, .load = load_invnet, .want = FDEN_E_FORMAT, .msg = "enc0.w" },
	{ "model: format and wide config only", B_CKPT, FD_CKPT_MODEL, { U64("format", 1, 1), CONFIG(0) }, .load = load_model, .want = FDEN_E_FORMAT, .msg = "parameter floats" },
	{ "model: wide flow config, a few floats", B_CKPT, FD_CKPT_MODEL, { U64("format", 1, 1), CONFIG(1), F32("flow#0.w", 4096) }, .load = load_model, .want = FDEN_E_FORMAT, .msg = "the file holds" },
	{ "npy: 2^40 x 2^20 floats, 256 bytes", B_NPY, .npy = npy_huge2, .npy_data = 256,
	  .load = load_npy_f32, .want = FDEN_E_FORMAT, .msg = "" },
	{ "npy: 10^9 floats, 16 bytes", B_NPY, .npy = npy_huge1, .npy_data = 16,
	  .load = load_npy_f32, .want = FDEN_E_FORMAT, .msg = "" },
	{ "npy labels: 4e9 int64, 64 bytes", B_NPY, .npy = npy_lab, .npy_data = 64,
	  .load = load_npy_lab, .want = FDEN_E_FORMAT, .msg = "" },
	{ "npy: shape product overflows", B_NPY, .npy = npy_ovf, .npy_data = 0,
	  .load = load_npy_f32, .want = FDEN_E_FORMAT, .msg = "overflow" },
	{ "idx: 2^31 x 2^31 bytes, 16 present", B_IDX, .idx_type = 0x08, .idx_ndim = 2,
	  .idx_dims = { 1u << 31, 1u << 31 }, .load = load_idx_f32, .want = FDEN_E_FORMAT,
	  .msg = "" },
	{ "idx.gz: 2^32-1 x 2^20 doubles", B_IDX, .idx_type = 0x0E, .idx_ndim = 2, .idx_gz = 1,
	  .idx_dims = { 0xFFFFFFFFu, 1u << 20 }, .load = load_idx_f32, .want = FDEN_E_FORMAT,
	  .msg = "" },
	{ "idx labels: 2^32-1 int32", B_IDX, .idx_type = 0x0C, .idx_ndim = 1,
	  .idx_dims = { 0xFFFFFFFFu }, .load = load_idx_lab, .want = FDEN_E_FORMAT, .msg = "" },
	{ "idx: 4 dims whose product overflows", B_IDX, .idx_type = 0x08, .idx_ndim = 4,
	  .idx_dims = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu }, .load = load_idx_f32,
	  .want = FDEN_E_FORMAT, .msg = "overflow" },
	{ "invnet: a directory", B_DIR, .load = load_invnet, .want = FDEN_E_IO,
	  .msg = "is a directory" },
	{ "model: a directory", B_DIR, .load = load_model, .want = FDEN_E_IO,
	  .msg = "is a directory" },
};

#define NROWS (sizeof rows / sizeof rows[0])

struct outcome {
	int status;
	long rss_kb; /* peak RSS growth in the child */
	char msg[MSG_LEN];
};

static long peak_kb(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss; /* kilobytes on Linux */
}

/* Load in a child: its peak RSS growth and the outcome come back by pipe. */
static void run_child(const struct row *r, const char *path, struct outcome *o)
{
	int fds[2], ws;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct outcome c;
		long before;

		close(fds[0]);
		alarm(60); /* a hang is a failure, not a stuck suite */
		memset(&c, 0, sizeof c);
		before = peak_kb();
		if (!UNDER_ASAN) { /* AS_CAP_MB more address space than now */
			FILE *f = fopen("/proc/self/statm", "r");
			unsigned long pages = 0;

			if (f && fscanf(f, "%lu", &pages) == 1) {
				struct rlimit rl;

				rl.rlim_cur = rl.rlim_max =
					(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
					((rlim_t)AS_CAP_MB << 20);
				setrlimit(RLIMIT_AS, &rl);
			}
			if (f)
				fclose(f);
		}
		c.status = r->load(path, c.msg);
		c.rss_kb = peak_kb() - before;
		if (write(fds[1], &c, sizeof c) != (ssize_t)sizeof c)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	memset(o, 0, sizeof *o);
	ck_assert_int_eq(read(fds[0], o, sizeof *o), (ssize_t)sizeof *o);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "%s: child died (status %d)", r->what,
		      ws);
}

START_TEST(test_loader_bounds)
{
	char path[512];
	const struct row *r = &rows[_i];
	struct outcome o;

	tu_mkdir();
	tu_path(path, sizeof path, "f");
	switch (r->build) {
	case B_CKPT: build_ckpt(path, r->kind, r->recs); break;
	case B_RAW: tu_write(path, r->raw, r->rawlen); break;
	case B_NPY: build_npy(path, r->npy, r->npy_data); break;
	case B_IDX: build_idx(path, r->idx_type, r->idx_ndim, r->idx_dims, r->idx_gz); break;
	case B_DIR: ck_assert_int_eq(mkdir(path, 0700), 0); break;
	}
	{
		struct stat sb;

		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_msg(S_ISDIR(sb.st_mode) || sb.st_size < 1 << 20, "%s: %lld-byte file",
			      r->what, (long long)sb.st_size);
	}
	run_child(r, path, &o);
	ck_assert_msg(o.status == r->want, "%s: status %d (%s), expected %d: %s", r->what,
		      o.status, fden_strerror(o.status), r->want, o.msg);
	ck_assert_msg(o.msg[0] && strstr(o.msg, r->msg), "%s: message '%s' lacks '%s'", r->what,
		      o.msg, r->msg);
	ck_assert_msg(o.rss_kb < RSS_BOUND_MB * 1024, "%s: peak RSS grew by %ld KB", r->what,
		      o.rss_kb);
	tu_rmdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loaders");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_loader_bounds, 0, (int)NROWS);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
