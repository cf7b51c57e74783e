/* IDX reader: every element type, gzip and plain, from files and memory;
 * truncated, malformed and mismatched files; Fashion-MNIST when installed. */
#include <math.h>
#include <stdint.h>
#include <zlib.h>

#include "../testutil.h"
#include "core/error.h"
#include "io/idx.h"
#include <fden/data.h>

static const int types[6] = { 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E };
static const size_t esz[6] = { 1, 1, 2, 4, 4, 8 };

/* A value representable in type t, varied by i. */
static double val(int t, size_t i)
{
	switch (t) {
	case 0x08: return (double)((i * 37) % 256);
	case 0x09: return (double)((int)((i * 37) % 256) - 128);
	case 0x0B: return (double)((int)((i * 4099) % 65536) - 32768);
	case 0x0C: return (double)((int64_t)(i * 2654435761u % 4294967296u) - 2147483648ll);
	case 0x0D: return (double)(float)((double)i * 0.37 - 5.0);
	default: return (double)i * 1e-3 - 1.0 / 3.0;
	}
}

/* Big-endian IDX bytes: {0,0,t,ndim}, dims, n values. */
static unsigned char *make_idx(int t, int ndim, const uint32_t *dims, size_t *len)
{
	size_t n = 1, e = 0, i, k;
	unsigned char *b, *p;

	for (i = 0; i < (size_t)ndim; i++)
		n *= dims[i];
	for (k = 0; k < 6; k++)
		if (types[k] == t)
			e = esz[k];
	*len = 4 + 4 * (size_t)ndim + n * e;
	b = p = malloc(*len);
	ck_assert_ptr_nonnull(b);
	*p++ = 0;
	*p++ = 0;
	*p++ = (unsigned char)t;
	*p++ = (unsigned char)ndim;
	for (i = 0; i < (size_t)ndim; i++, p += 4) {
		p[0] = (unsigned char)(dims[i] >> 24);
		p[1] = (unsigned char)(dims[i] >> 16);
		p[2] = (unsigned char)(dims[i] >> 8);
		p[3] = (unsigned char)dims[i];
	}
	for (i = 0; i < n; i++, p += e) {
		double v = val(t, i);
		uint64_t u = 0;

		if (t == 0x0D) {
			float f = (float)v;
			uint32_t w;

			memcpy(&w, &f, 4);
			u = w;
		} else if (t == 0x0E) {
			memcpy(&u, &v, 8);
		} else {
			u = (uint64_t)(int64_t)v;
		}
		for (k = 0; k < e; k++)
			p[k] = (unsigned char)(u >> (8 * (e - 1 - k)));
	}
	return b;
}

static void write_gz(const char *path, const void *p, size_t n)
{
	gzFile g = gzopen(path, "wb");

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(gzwrite(g, p, (unsigned)n), (int)n);
	ck_assert_int_eq(gzclose(g), Z_OK);
}

START_TEST(test_every_type)
{
	static const uint32_t dims[3] = { 7, 3, 5 };
	char path[512];
	int k, gz;

	tu_mkdir();
	for (k = 0; k < 6; k++)
		for (gz = 0; gz < 3; gz++) {
			struct fd_array a;
			struct fd_err err;
			size_t len, i;
			unsigned char *b = make_idx(types[k], 3, dims, &len);
			unsigned char *mem = NULL;
			int st;

			tu_path(path, sizeof path, gz ? "x.idx.gz" : "x.idx");
			if (gz == 1) {
				write_gz(path, b, len);
				st = fd_idx_read(path, FD_ARRAY_FLOAT, 0.5, NULL, &err, &a);
			} else if (gz == 2) { /* gzip bytes from memory */
				write_gz(path, b, len);
				mem = tu_slurp(path, &len);
				st = fd_idx_read_mem(mem, len, "m", FD_ARRAY_FLOAT, 0.5, NULL, &err, &a);
			} else {
				tu_write(path, b, len);
				st = fd_idx_read(path, FD_ARRAY_FLOAT, 0.5, NULL, &err, &a);
			}
			ck_assert_msg(st == 0, "type %x gz %d: %s", types[k], gz, err.msg);
			ck_assert_int_eq(a.ndim, 3);
			ck_assert_uint_eq(a.rows, 7);
			ck_assert_uint_eq(a.cols, 15);
			ck_assert_ptr_null(a.i32);
			for (i = 0; i < 105; i++)
				ck_assert_msg(a.f32[i] == (float)(val(types[k], i) * 0.5),
					      "type %x gz %d item %zu: %g vs %g", types[k], gz, i,
					      (double)a.f32[i], val(types[k], i) * 0.5);
			fd_array_free(&a, NULL);
			/* plain from memory too */
			st = fd_idx_read_mem(b, 4 + 12 + 105 * esz[k], "m", FD_ARRAY_FLOAT, 1.0, NULL,
					     &err, &a);
			ck_assert_int_eq(st, 0);
			ck_assert(a.f32[104] == (float)val(types[k], 104));
			fd_array_free(&a, NULL);
			free(b);
			free(mem);
		}
	tu_rmdir();
}
END_TEST

START_TEST(test_labels_every_width)
{
	static const int itypes[4] = { 0x08, 0x09, 0x0B, 0x0C };
	uint32_t n = 1000;
	char path[512];
	int k;

	tu_mkdir();
	tu_path(path, sizeof path, "y.idx.gz");
	for (k = 0; k < 4; k++) {
		struct fd_array a;
		struct fd_err err;
		size_t len, i;
		unsigned char *b = make_idx(itypes[k], 1, &n, &len);

		write_gz(path, b, len);
		ck_assert_int_eq(fd_idx_read(path, FD_ARRAY_LABELS, 1.0, NULL, &err, &a), 0);
		ck_assert_uint_eq(a.rows, 1000);
		ck_assert_ptr_null(a.f32);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(a.i32[i], (int32_t)val(itypes[k], i));
		fd_array_free(&a, NULL);
		free(b);
	}
	/* float labels and 2-D labels are refused */
	{
		struct fd_array a;
		struct fd_err err;
		uint32_t d2[2] = { 10, 2 };
		size_t len;
		unsigned char *b = make_idx(0x0D, 1, &n, &len);

		ck_assert_int_eq(fd_idx_read_mem(b, len, "f.idx", FD_ARRAY_LABELS, 1, NULL, &err, &a),
				 FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(err.msg, "integers"));
		ck_assert_ptr_nonnull(strstr(err.msg, "f.idx"));
		free(b);
		b = make_idx(0x08, 2, d2, &len);
		ck_assert_int_eq(fd_idx_read_mem(b, len, "f.idx", FD_ARRAY_LABELS, 1, NULL, &err, &a),
				 FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(err.msg, "1-D"));
		free(b);
	}
	tu_rmdir();
}
END_TEST

START_TEST(test_malformed)
{
	static const uint32_t dims[2] = { 4, 6 };
	struct fd_array a;
	struct fd_err err;
	unsigned char *b, *gzb;
	size_t len, glen, i;
	char path[512];

	tu_mkdir();
	b = make_idx(0x0B, 2, dims, &len);
	/* every truncation, plain: FORMAT naming the file */
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(fd_idx_read_mem(b, i, "t.idx", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
				 FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(err.msg, "t.idx"));
		ck_assert_ptr_null(a.f32);
	}
	/* every truncation of the gzip file, from disk */
	tu_path(path, sizeof path, "t.idx.gz");
	write_gz(path, b, len);
	gzb = tu_slurp(path, &glen);
	for (i = 0; i < glen; i++) {
		int st;

		tu_write(path, gzb, i);
		st = fd_idx_read(path, FD_ARRAY_FLOAT, 1, NULL, &err, &a);
		ck_assert_msg(st == FDEN_E_FORMAT, "gz length %zu: %d %s", i, st, err.msg);
		ck_assert_ptr_nonnull(strstr(err.msg, path));
		st = fd_idx_read_mem(gzb, i, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a);
		ck_assert_msg(st == FDEN_E_FORMAT, "gz mem length %zu: %d %s", i, st, err.msg);
	}
	/* trailing byte */
	b = realloc(b, len + 1);
	b[len] = 7;
	ck_assert_int_eq(fd_idx_read_mem(b, len + 1, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "unexpected"));
	/* bad magic, bad type, no dims, zero dim, overflowing dims */
	b[0] = 1;
	ck_assert_int_eq(fd_idx_read_mem(b, len, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
	b[0] = 0;
	b[2] = 0x0A;
	ck_assert_int_eq(fd_idx_read_mem(b, len, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "type 0x0a"));
	b[2] = 0x0B;
	b[3] = 0;
	ck_assert_int_eq(fd_idx_read_mem(b, len, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	b[3] = 2;
	memset(b + 4, 0, 4);
	ck_assert_int_eq(fd_idx_read_mem(b, len, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "size 0"));
	{
		/* 5 dims of 2^32-1: the product overflows */
		unsigned char h[24] = { 0, 0, 8, 5 };

		memset(h + 4, 0xff, 20);
		ck_assert_int_eq(fd_idx_read_mem(h, 24, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
				 FDEN_E_FORMAT);
		/* 2 dims claiming 2^56 values but no data: truncated, no giant allocation */
		h[3] = 2;
		memset(h + 4, 0, 8);
		h[4] = 0x10;
		h[8] = 0x10;
		ck_assert_int_eq(fd_idx_read_mem(h, 12, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
				 FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
	}
	/* corrupt gzip payload */
	gzb[glen / 2] ^= 0xff;
	gzb[glen / 2 + 1] ^= 0xff;
	ck_assert_int_eq(fd_idx_read_mem(gzb, glen, "t", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	tu_write(path, gzb, glen);
	ck_assert_int_eq(fd_idx_read(path, FD_ARRAY_FLOAT, 1, NULL, &err, &a), FDEN_E_FORMAT);
	/* missing file: IO with the path */
	tu_path(path, sizeof path, "missing.idx");
	ck_assert_int_eq(fd_idx_read(path, FD_ARRAY_FLOAT, 1, NULL, &err, &a), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing.idx"));
	free(gzb);
	free(b);
	tu_rmdir();
}
END_TEST

START_TEST(test_dataset_idx)
{
	static const uint32_t dims[3] = { 30, 2, 2 };
	uint32_t n = 30, n2 = 29;
	struct fden_dataset *ds = NULL;
	size_t len;
	unsigned char *b;
	char xp[512], yp[512];

	tu_mkdir();
	tu_path(xp, sizeof xp, "x.idx");
	tu_path(yp, sizeof yp, "y.idx.gz");
	b = make_idx(0x08, 3, dims, &len);
	tu_write(xp, b, len);
	free(b);
	b = make_idx(0x08, 1, &n, &len);
	write_gz(yp, b, len);
	free(b);
	ck_assert_int_eq(fden_dataset_load_idx(xp, yp, 1.0 / 255, &ds), 0);
	ck_assert_uint_eq(fden_dataset_size(ds), 30);
	ck_assert_uint_eq(fden_dataset_dim(ds), 4);
	ck_assert_float_eq_tol(fden_dataset_data(ds)[5], (float)(val(8, 5) / 255), 1e-7);
	ck_assert_int_eq(fden_dataset_labels(ds)[29], (int32_t)val(8, 29));
	fden_dataset_free(ds);
	ck_assert_int_eq(fden_dataset_load_idx(xp, NULL, 1.0, &ds), 0);
	ck_assert_int_eq(fden_dataset_labels(ds)[3], 0);
	fden_dataset_free(ds);
	/* count mismatch: SHAPE naming both files */
	b = make_idx(0x0C, 1, &n2, &len);
	tu_write(yp, b, len);
	free(b);
	ds = NULL;
	ck_assert_int_eq(fden_dataset_load_idx(xp, yp, 1.0, &ds), FDEN_E_SHAPE);
	ck_assert_ptr_null(ds);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "x.idx"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "y.idx.gz"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "29"));
	tu_rmdir();
}
END_TEST

START_TEST(test_fashion_mnist)
{
	const char *dir = "/usr/share/datasets/fashion-mnist";
	char xp[512], yp[512];
	struct fden_dataset *ds;
	const int32_t *l;
	size_t i, hist[10] = { 0 };
	float mx = 0;

	snprintf(xp, sizeof xp, "%s/train-images-idx3-ubyte.gz", dir);
	snprintf(yp, sizeof yp, "%s/train-labels-idx1-ubyte.gz", dir);
	if (access(xp, R_OK) != 0 || access(yp, R_OK) != 0) {
		fprintf(stderr, "fashion-mnist not installed: skipped\n");
		return;
	}
	ck_assert_msg(fden_dataset_load_idx(xp, yp, 1.0 / 255, &ds) == 0, "%s", fden_last_error());
	ck_assert_uint_eq(fden_dataset_size(ds), 60000);
	ck_assert_uint_eq(fden_dataset_dim(ds), 784);
	l = fden_dataset_labels(ds);
	for (i = 0; i < 60000; i++) {
		ck_assert_int_ge(l[i], 0);
		ck_assert_int_lt(l[i], 10);
		hist[l[i]]++;
	}
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(hist[i], 6000);
	for (i = 0; i < 60000 * 784; i++)
		mx = fmaxf(mx, fden_dataset_data(ds)[i]);
	ck_assert_float_eq(mx, 1.0f);
	fden_dataset_free(ds);
}
END_TEST

/* Inputs the fuzzer found, kept as regressions (run them under ASan+UBSan). */
START_TEST(test_regressions)
{
	/* i32 data cut inside the first value: no output array exists yet */
	static const unsigned char short_chunk[8] = { 0, 0, 0x0c, 1, 0x3a, 0x02, 0x03, 0x00 };
	/* f64 values beyond float range saturate to +-inf instead of an undefined cast */
	static const unsigned char f64[4 + 4 + 24] = {
		0, 0, 0x0e, 1, 0, 0, 0, 3,
		0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c, /* 1e300 */
		0xfe, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c, /* -1e300 */
		0x3f, 0xf0, 0, 0, 0, 0, 0, 0,                   /* 1.0 */
	};
	struct fd_array a;
	struct fd_err err;

	ck_assert_int_eq(fd_idx_read_mem(short_chunk, 8, "r", FD_ARRAY_FLOAT, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_int_eq(fd_idx_read_mem(short_chunk, 8, "r", FD_ARRAY_LABELS, 1, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_int_eq(fd_idx_read_mem(f64, sizeof f64, "r", FD_ARRAY_FLOAT, 1, NULL, &err, &a), 0);
	ck_assert(isinf(a.f32[0]) && a.f32[0] > 0);
	ck_assert(isinf(a.f32[1]) && a.f32[1] < 0);
	ck_assert_float_eq(a.f32[2], 1.0f);
	fd_array_free(&a, NULL);
}
END_TEST

static Suite *idx_suite(void)
{
	Suite *s = suite_create("idx");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_type);
	tcase_add_test(tc, test_labels_every_width);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_dataset_idx);
	tcase_add_test(tc, test_fashion_mnist);
	tcase_add_test(tc, test_regressions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(idx_suite(), 0);
}
