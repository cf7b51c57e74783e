/* The plug-in contract: a host network (a fixed random 2-layer MLP encoder
 * and decoder, implemented here) is used through the vtable while an FDEN
 * model trains on its latents. libfden must never change the host: its
 * weights sit in read-only pages (a write would crash the test), their
 * checksum and the host's outputs must be bit-for-bit what they were. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <fden/fden.h>
#include "../testutil.h"

enum { IN = 24,
       HID = 40,
       LAT = 16,
       CLASSES = 8,
       PER_CLASS = 30,
       NPROBE = 10 };

struct host {
	float *mem; /* one mmap'd block, read-only after init */
	size_t bytes;
	const float *w1, *b1, *w2, *b2; /* encoder: IN -> HID (tanh) -> LAT */
	const float *w3, *b3, *w4, *b4; /* decoder: LAT -> HID (tanh) -> IN */
	int encodes, decodes;
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static float unif(uint64_t *s) /* in [-1, 1) */
{
	return (float)((double)lcg(s) / 4503599627370496.0 * 2 - 1);
}

/* y (n x out) = act(x (n x in) W (in x out) + b) */
static void dense(const float *x, size_t n, int in, int out, const float *W, const float *b,
		  int act_tanh, float *y)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < out; j++) {
			float s = b[j];
			for (int q = 0; q < in; q++)
				s += x[i * in + q] * W[q * out + j];
			y[i * out + j] = act_tanh ? tanhf(s) : s;
		}
}

static int host_encode(void *ud, const float *x, size_t n, float *z)
{
	struct host *h = ud;
	float *t = malloc(n * HID * sizeof(float));

	if (!t)
		return -1;
	dense(x, n, IN, HID, h->w1, h->b1, 1, t);
	dense(t, n, HID, LAT, h->w2, h->b2, 0, z);
	free(t);
	h->encodes++;
	return 0;
}

static int host_decode(void *ud, const float *z, size_t n, float *x)
{
	struct host *h = ud;
	float *t = malloc(n * HID * sizeof(float));

	if (!t)
		return -1;
	dense(z, n, LAT, HID, h->w3, h->b3, 1, t);
	dense(t, n, HID, IN, h->w4, h->b4, 0, x);
	free(t);
	h->decodes++;
	return 0;
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

static void host_init(struct host *h)
{
	size_t sizes[8] = { IN * HID, HID, HID * LAT, LAT, LAT * HID, HID, HID * IN, IN };
	const float **ptrs[8] = { &h->w1, &h->b1, &h->w2, &h->b2, &h->w3, &h->b3, &h->w4, &h->b4 };
	size_t total = 0, off = 0;
	uint64_t s = 12345;

	memset(h, 0, sizeof *h);
	for (int i = 0; i < 8; i++)
		total += sizes[i];
	h->bytes = total * sizeof(float);
	h->mem = mmap(NULL, h->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(h->mem, MAP_FAILED);
	for (size_t i = 0; i < total; i++)
		h->mem[i] = 0.3f * unif(&s);
	for (int i = 0; i < 8; i++) {
		*ptrs[i] = h->mem + off;
		off += sizes[i];
	}
	ck_assert_int_eq(mprotect(h->mem, h->bytes, PROT_READ), 0);
}

static void set(struct fden_config *c, int key, double v)
{
	ck_assert_msg(fden_config_set(c, key, v) == FDEN_OK, "key %d = %g: %s", key, v,
		      fden_last_error());
}

START_TEST(test_host_unchanged_while_fden_trains)
{
	struct host h;
	struct fden_invnet_ops ops;
	struct fden_invnet *net = NULL;
	struct fden_config *cfg = NULL;
	struct fden_model *model = NULL;
	struct fden_dataset *images = NULL;
	struct fden_sampler *sampler = NULL;
	float *x = malloc(sizeof(float) * CLASSES * PER_CLASS * IN);
	int32_t *y = malloc(sizeof(int32_t) * CLASSES * PER_CLASS);
	float probe[NPROBE * IN], z0[NPROBE * LAT], z1[NPROBE * LAT];
	float x0[NPROBE * IN], x1[NPROBE * IN];
	const size_t EP = 4, WAYS = 5, SHOTS = 1, QUERIES = 2;
	const size_t rows = EP * WAYS * (SHOTS + QUERIES);
	float *xb = malloc(sizeof(float) * rows * IN), *zb = malloc(sizeof(float) * rows * LAT);
	int32_t *lb = malloc(sizeof(int32_t) * rows);
	float fi[NPROBE * LAT], fs[NPROBE * LAT], zt[NPROBE * LAT], xt[NPROBE * IN];
	uint64_t sum0, s = 99;

	host_init(&h);
	sum0 = fnv1a(h.mem, h.bytes);
	memset(&ops, 0, sizeof ops);
	ops.struct_size = sizeof ops;
	ops.version = FDEN_INVNET_OPS_VERSION;
	ops.encode = host_encode;
	ops.decode = host_decode;
	ck_assert_int_eq(fden_invnet_new(&ops, IN, LAT, &h, &net), FDEN_OK);

	/* images: class prototypes plus noise */
	for (int c = 0; c < CLASSES; c++) {
		float proto[IN];
		for (int j = 0; j < IN; j++)
			proto[j] = 2 * unif(&s);
		for (int i = 0; i < PER_CLASS; i++) {
			size_t r = (size_t)c * PER_CLASS + i;
			for (int j = 0; j < IN; j++)
				x[r * IN + j] = proto[j] + 0.3f * unif(&s);
			y[r] = c;
		}
	}
	for (int i = 0; i < NPROBE * IN; i++)
		probe[i] = unif(&s);
	ck_assert_int_eq(fden_invnet_encode(net, probe, NPROBE, z0), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, z0, NPROBE, x0), FDEN_OK);

	ck_assert_int_eq(fden_config_new(&cfg), FDEN_OK);
	set(cfg, FDEN_P_DIM, LAT);
	set(cfg, FDEN_P_DIS_WIDTH, 32);
	set(cfg, FDEN_P_STAT_WIDTH1, 32);
	set(cfg, FDEN_P_STAT_WIDTH2, 16);
	set(cfg, FDEN_P_STAT_WIDTH3, 8);
	set(cfg, FDEN_P_ENT_BRANCH_WIDTH, 32);
	set(cfg, FDEN_P_ENT_TRUNK_WIDTH, 32);
	set(cfg, FDEN_P_LR, 1e-3);
	set(cfg, FDEN_P_SEED, 3);
	ck_assert_int_eq(fden_model_new(cfg, &model), FDEN_OK);

	/* train: episodes of images, encoded through the vtable at each step */
	ck_assert_int_eq(fden_dataset_new(x, y, CLASSES * PER_CLASS, IN, &images), FDEN_OK);
	ck_assert_int_eq(fden_sampler_new(images, WAYS, SHOTS, QUERIES, 7, &sampler), FDEN_OK);
	for (int step = 0; step < 25; step++) {
		struct fden_episodes e;
		struct fden_step_stats st;

		ck_assert_int_eq(fden_sampler_next(sampler, EP, xb, lb, NULL), FDEN_OK);
		ck_assert_int_eq(fden_invnet_encode(net, xb, rows, zb), FDEN_OK);
		memset(&e, 0, sizeof e);
		e.struct_size = sizeof e;
		e.n_episodes = EP;
		e.ways = WAYS;
		e.shots = SHOTS;
		e.queries = QUERIES;
		e.z = zb;
		e.labels = lb;
		memset(&st, 0, sizeof st);
		st.struct_size = sizeof st;
		ck_assert_msg(fden_train_step(model, &e, &st) == FDEN_OK, "step %d: %s", step,
			      fden_last_error());
		ck_assert(isfinite(st.loss));
	}
	ck_assert_uint_eq(fden_model_step(model), 25);

	/* FDEN's reconstruction through the host's decoder: decode(E(D(z))) */
	ck_assert_int_eq(fden_disentangle(model, z0, NPROBE, fi, fs), FDEN_OK);
	ck_assert_int_eq(fden_entangle(model, fi, fs, NPROBE, zt), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, zt, NPROBE, xt), FDEN_OK);
	for (int i = 0; i < NPROBE * IN; i++)
		ck_assert(isfinite(xt[i]));

	/* the host is bit-for-bit what it was */
	ck_assert_uint_eq(fnv1a(h.mem, h.bytes), sum0);
	ck_assert_int_eq(fden_invnet_encode(net, probe, NPROBE, z1), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, z1, NPROBE, x1), FDEN_OK);
	ck_assert_mem_eq(z0, z1, sizeof z0);
	ck_assert_mem_eq(x0, x1, sizeof x0);
	ck_assert_int_eq(h.encodes, 27);
	ck_assert_int_eq(h.decodes, 3);

	fden_sampler_free(sampler);
	fden_dataset_free(images);
	fden_model_free(model);
	fden_config_free(cfg);
	fden_invnet_free(net);
	munmap(h.mem, h.bytes);
	free(x);
	free(y);
	free(xb);
	free(zb);
	free(lb);
}
END_TEST

static Suite *plugin_suite(void)
{
	Suite *s = suite_create("invnet_plugin");
	TCase *tc = tcase_create("plugin");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_host_unchanged_while_fden_trains);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(plugin_suite(), 0);
}
