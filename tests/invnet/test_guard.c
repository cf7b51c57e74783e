/* Built-in networks never touch memory outside the caller's buffers: each
 * input and output array ends exactly at a PROT_NONE page, so a read or
 * write one element too far crashes (Check reports the signal). BLIS 0.9's
 * small-matrix ("sup") sgemm kernels over-read their operands
 * (flame/blis#635); fd_gemm must not let that reach callers' buffers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fden/fden.h>
#include "../testutil.h"

struct guarded {
	void *map;
	size_t bytes;
	float *p; /* n floats ending at the guard page */
};

static struct guarded guarded(size_t n)
{
	struct guarded g;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (n * sizeof(float) + pg - 1) / pg * pg;

	g.bytes = data + pg;
	g.map = mmap(NULL, g.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(g.map, MAP_FAILED);
	ck_assert_int_eq(mprotect((char *)g.map + data, pg, PROT_NONE), 0);
	g.p = (float *)((char *)g.map + data) - n;
	return g;
}

static void release(struct guarded *g)
{
	munmap(g->map, g->bytes);
}

/* Fit on ordinary memory, then encode/decode n rows from guarded buffers. */
static void roundtrip(struct fden_invnet *net, size_t d, size_t k, size_t n)
{
	struct guarded x = guarded(n * d), z = guarded(n * k), y = guarded(n * d);

	for (size_t i = 0; i < n * d; i++)
		x.p[i] = (float)((i * 7919) % 101) / 101.0f;
	ck_assert_int_eq(fden_invnet_encode(net, x.p, n, z.p), FDEN_OK);
	ck_assert_int_eq(fden_invnet_decode(net, z.p, n, y.p), FDEN_OK);
	release(&x);
	release(&z);
	release(&y);
}

static float *data(size_t n, size_t d)
{
	float *x = malloc(n * d * sizeof(float));
	for (size_t i = 0; i < n * d; i++)
		x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
	return x;
}

START_TEST(test_pca_guarded)
{
	const size_t d = 50, k = 6;
	float *x = data(200, d);
	struct fden_invnet *net = NULL;
	size_t ns[] = { 1, 2, 3, 7, 33 };

	ck_assert_int_eq(fden_invnet_fit_pca(x, 200, d, k, 1, &net), FDEN_OK);
	for (int i = 0; i < 5; i++)
		roundtrip(net, d, k, ns[i]);
	fden_invnet_free(net);
	free(x);
}
END_TEST

START_TEST(test_ae_guarded)
{
	const size_t d = 30, k = 5;
	float *x = data(64, d);
	struct fden_ae_options o;
	struct fden_invnet *net = NULL;
	size_t ns[] = { 1, 2, 5, 17 };

	fden_ae_options_default(&o);
	o.hidden = 24;
	o.epochs = 1;
	o.batch = 16;
	ck_assert_int_eq(fden_invnet_fit_autoencoder(x, 64, d, k, &o, &net), FDEN_OK);
	for (int i = 0; i < 4; i++)
		roundtrip(net, d, k, ns[i]);
	fden_invnet_free(net);
	free(x);
}
END_TEST

static Suite *guard_suite(void)
{
	Suite *s = suite_create("invnet_guard");
	TCase *tc = tcase_create("guard");

	tcase_add_test(tc, test_pca_guarded);
	tcase_add_test(tc, test_ae_guarded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(guard_suite(), 0);
}
