/* The plug-in interface: registration checks, error mapping of host
 * callbacks, destroy exactly once, pass-through of data and user_data. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fden/fden.h>
#include "../testutil.h"

struct host {
	int encode_rc, decode_rc, dist_rc;
	int destroyed;
	int calls;
};

/* z = 2x + 1 on the first two of three inputs; x = (z - 1) / 2, 0 */
static int h_encode(void *ud, const float *x, size_t n, float *z)
{
	struct host *h = ud;
	h->calls++;
	if (h->encode_rc)
		return h->encode_rc;
	for (size_t i = 0; i < n; i++) {
		z[2 * i] = 2 * x[3 * i] + 1;
		z[2 * i + 1] = 2 * x[3 * i + 1] + 1;
	}
	return 0;
}

static int h_decode(void *ud, const float *z, size_t n, float *x)
{
	struct host *h = ud;
	h->calls++;
	if (h->decode_rc)
		return h->decode_rc;
	for (size_t i = 0; i < n; i++) {
		x[3 * i] = (z[2 * i] - 1) / 2;
		x[3 * i + 1] = (z[2 * i + 1] - 1) / 2;
		x[3 * i + 2] = 0;
	}
	return 0;
}

static int h_dist(void *ud, const float *x, size_t n, float *mu, float *ls)
{
	struct host *h = ud;
	if (h->dist_rc)
		return h->dist_rc;
	for (size_t i = 0; i < 2 * n; i++)
		ls[i] = -1;
	return h_encode(ud, x, n, mu);
}

static void h_destroy(void *ud)
{
	((struct host *)ud)->destroyed++;
}

static struct fden_invnet_ops good_ops(void)
{
	struct fden_invnet_ops o;
	memset(&o, 0, sizeof o);
	o.struct_size = sizeof o;
	o.version = FDEN_INVNET_OPS_VERSION;
	o.encode = h_encode;
	o.decode = h_decode;
	o.destroy = h_destroy;
	return o;
}

#define SENTINEL ((struct fden_invnet *)(void *)0x1)

START_TEST(test_good)
{
	struct host h = { 0 };
	struct fden_invnet_ops o = good_ops();
	struct fden_invnet *net = NULL;
	float x[6] = { 1, 2, 3, 4, 5, 6 }, z[4], xr[6];

	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_OK);
	ck_assert_ptr_nonnull(net);
	memset(&o, 0xff, sizeof o); /* the struct was copied */
	ck_assert_uint_eq(fden_invnet_input_dim(net), 3);
	ck_assert_uint_eq(fden_invnet_latent_dim(net), 2);
	ck_assert_int_eq(fden_invnet_encode(net, x, 2, z), FDEN_OK);
	ck_assert_float_eq(z[0], 3);
	ck_assert_float_eq(z[1], 5);
	ck_assert_float_eq(z[2], 9);
	ck_assert_float_eq(z[3], 11);
	ck_assert_int_eq(fden_invnet_decode(net, z, 2, xr), FDEN_OK);
	ck_assert_float_eq(xr[0], 1);
	ck_assert_float_eq(xr[4], 5);
	ck_assert_float_eq(xr[5], 0);
	ck_assert_int_eq(h.calls, 2);
	/* n = 0 calls nothing */
	ck_assert_int_eq(fden_invnet_encode(net, x, 0, z), FDEN_OK);
	ck_assert_int_eq(h.calls, 2);
	ck_assert_int_eq(h.destroyed, 0);
	fden_invnet_free(net);
	ck_assert_int_eq(h.destroyed, 1);
	fden_invnet_free(NULL);
}
END_TEST

START_TEST(test_size_version)
{
	struct host h = { 0 };
	struct fden_invnet_ops o = good_ops();
	struct fden_invnet *net = SENTINEL;

	o.struct_size = sizeof o - sizeof(void *);
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_VERSION);
	ck_assert_ptr_eq(net, SENTINEL);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "struct_size"));
	o.struct_size = 0;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_VERSION);
	o = good_ops();
	o.version = 2;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_VERSION);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "version 2"));
	o.version = 0;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_VERSION);
	ck_assert_ptr_eq(net, SENTINEL);
	ck_assert_int_eq(h.destroyed, 0);
}
END_TEST

/* A host built against a newer header with a larger struct (extra members
 * at the end) is accepted; the extra bytes are ignored. */
START_TEST(test_larger_struct)
{
	struct newer {
		struct fden_invnet_ops v1;
		void *future_member;
	} nw;
	struct host h = { 0 };
	struct fden_invnet *net = NULL;
	float x[3] = { 1, 1, 1 }, z[2];

	memset(&nw, 0, sizeof nw);
	nw.v1 = good_ops();
	nw.v1.struct_size = sizeof nw;
	nw.future_member = &h;
	ck_assert_int_eq(fden_invnet_new(&nw.v1, 3, 2, &h, &net), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode(net, x, 1, z), FDEN_OK);
	ck_assert_float_eq(z[0], 3);
	fden_invnet_free(net);
	ck_assert_int_eq(h.destroyed, 1);
}
END_TEST

START_TEST(test_required_members)
{
	struct host h = { 0 };
	struct fden_invnet_ops o = good_ops();
	struct fden_invnet *net = SENTINEL;

	o.encode = NULL;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "encode"));
	o = good_ops();
	o.decode = NULL;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "decode"));
	o = good_ops();
	ck_assert_int_eq(fden_invnet_new(&o, 0, 2, &h, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "input_dim"));
	ck_assert_int_eq(fden_invnet_new(&o, 3, 0, &h, &net), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "latent_dim"));
	ck_assert_int_eq(fden_invnet_new(NULL, 3, 2, &h, &net), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, NULL), FDEN_E_INVALID);
	ck_assert_ptr_eq(net, SENTINEL);
	/* optional members may be NULL */
	o.destroy = NULL;
	o.encode_dist = NULL;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, NULL, &net), FDEN_OK);
	fden_invnet_free(net);
	ck_assert_int_eq(h.destroyed, 0);
}
END_TEST

START_TEST(test_failing_callbacks)
{
	struct host h = { 0 };
	struct fden_invnet_ops o = good_ops();
	struct fden_invnet *net = NULL;
	float x[3] = { 0 }, z[2], mu[2], ls[2];

	o.encode_dist = h_dist;
	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_OK);
	h.encode_rc = 7;
	ck_assert_int_eq(fden_invnet_encode(net, x, 1, z), FDEN_E_HOST);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "encode"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "7"));
	h.encode_rc = 0;
	h.decode_rc = -3;
	ck_assert_int_eq(fden_invnet_decode(net, z, 1, x), FDEN_E_HOST);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "decode"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "-3"));
	h.dist_rc = 42;
	ck_assert_int_eq(fden_invnet_encode_dist(net, x, 1, mu, ls), FDEN_E_HOST);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "encode_dist"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "42"));
	h.dist_rc = 0;
	ck_assert_int_eq(fden_invnet_encode_dist(net, x, 1, mu, ls), FDEN_OK);
	ck_assert_float_eq(mu[0], 1);
	ck_assert_float_eq(ls[1], -1);
	/* NULL buffers */
	ck_assert_int_eq(fden_invnet_encode(net, NULL, 1, z), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_decode(net, z, 1, NULL), FDEN_E_INVALID);
	ck_assert_int_eq(fden_invnet_encode(NULL, x, 1, z), FDEN_E_INVALID);
	fden_invnet_free(net);
	ck_assert_int_eq(h.destroyed, 1);
}
END_TEST

START_TEST(test_no_dist_no_save)
{
	struct host h = { 0 };
	struct fden_invnet_ops o = good_ops();
	struct fden_invnet *net = NULL, *net2 = SENTINEL;
	float x[3] = { 0 }, mu[2], ls[2];
	char path[] = "/tmp/fden-invnet-XXXXXX";
	int fd;

	ck_assert_int_eq(fden_invnet_new(&o, 3, 2, &h, &net), FDEN_OK);
	ck_assert_int_eq(fden_invnet_encode_dist(net, x, 1, mu, ls), FDEN_E_UNSUPPORTED);
	ck_assert_int_eq(fden_invnet_save(net, "/tmp/never-written.ckpt"), FDEN_E_UNSUPPORTED);
	ck_assert_int_eq(access("/tmp/never-written.ckpt", F_OK), -1);
	fden_invnet_free(net);
	ck_assert_int_eq(fden_invnet_load("/nonexistent/dir/x.ckpt", &net2), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "/nonexistent/dir/x.ckpt"));
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not a checkpoint at all", 23), 23);
	close(fd);
	ck_assert_int_eq(fden_invnet_load(path, &net2), FDEN_E_FORMAT);
	ck_assert_ptr_eq(net2, SENTINEL);
	unlink(path);
}
END_TEST

static Suite *vtable_suite(void)
{
	Suite *s = suite_create("invnet_vtable");
	TCase *tc = tcase_create("vtable");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_size_version);
	tcase_add_test(tc, test_larger_struct);
	tcase_add_test(tc, test_required_members);
	tcase_add_test(tc, test_failing_callbacks);
	tcase_add_test(tc, test_no_dist_no_save);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(vtable_suite(), 0);
}
