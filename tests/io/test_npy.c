/* NPY reader and writer: round trips, numpy-written files of every dtype
 * (when python3 with numpy is available), malformed headers and data. */
#include <stdint.h>
#include <sys/mman.h>

#include "../testutil.h"
#include "core/error.h"
#include "io/npy.h"
#include <fden/data.h>

/* Write a .npy by hand: v1 header from a dict string, then raw bytes. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
		       size_t n)
{
	size_t pre = major == 1 ? 10 : 12, dl = strlen(dict), hl = dl + 1;

	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = 0;
	buf[8] = (unsigned char)hl;
	buf[9] = (unsigned char)(hl >> 8);
	if (major > 1)
		buf[10] = buf[11] = 0;
	memcpy(buf + pre, dict, dl);
	buf[pre + dl] = '\n';
	memcpy(buf + pre + hl, data, n);
	return pre + hl + n;
}

START_TEST(test_roundtrip)
{
	float x[12];
	int32_t y[6] = { 5, -1, 2147483647, 0, 3, -2147483647 - 1 };
	struct fden_dataset *ds;
	struct fd_array a;
	struct fd_err err;
	unsigned char *b;
	char xp[512], yp[512];
	size_t i, len;

	for (i = 0; i < 12; i++)
		x[i] = (float)i * 0.25f - 1.0f;
	tu_mkdir();
	tu_path(xp, sizeof xp, "x.npy");
	tu_path(yp, sizeof yp, "y.npy");
	ck_assert_int_eq(fden_npy_save_f32(xp, x, 6, 2), 0);
	ck_assert_int_eq(fden_npy_save_i32(yp, y, 6), 0);
	ck_assert_int_eq(tu_count_files(), 2);
	b = tu_slurp(xp, &len);
	ck_assert_uint_eq((len - 48) % 64, 0); /* header padded to 64 */
	ck_assert_uint_eq(len, 128 + 48);
	ck_assert_int_eq(b[127], '\n');
	free(b);
	ck_assert_int_eq(fd_npy_read(xp, FD_ARRAY_FLOAT, NULL, &err, &a), 0);
	ck_assert_uint_eq(a.rows, 6);
	ck_assert_uint_eq(a.cols, 2);
	ck_assert_mem_eq(a.f32, x, sizeof x);
	fd_array_free(&a, NULL);
	ck_assert_int_eq(fd_npy_read(yp, FD_ARRAY_LABELS, NULL, &err, &a), 0);
	ck_assert_uint_eq(a.rows, 6);
	ck_assert_mem_eq(a.i32, y, sizeof y);
	fd_array_free(&a, NULL);
	/* through the public loader */
	ck_assert_int_eq(fden_dataset_load_npy(xp, yp, &ds), 0);
	ck_assert_uint_eq(fden_dataset_size(ds), 6);
	ck_assert_uint_eq(fden_dataset_dim(ds), 2);
	ck_assert_mem_eq(fden_dataset_data(ds), x, sizeof x);
	ck_assert_mem_eq(fden_dataset_labels(ds), y, sizeof y);
	fden_dataset_free(ds);
	/* labels vs rows mismatch */
	ck_assert_int_eq(fden_npy_save_i32(yp, y, 5), 0);
	ck_assert_int_eq(fden_dataset_load_npy(xp, yp, &ds), FDEN_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "y.npy"));
	/* a float file is no label file */
	ck_assert_int_eq(fden_dataset_load_npy(xp, xp, &ds), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "x.npy"));
	/* IDX labels beside .npy rows (any name not ending in .npy) */
	{
		unsigned char idx[8 + 6] = { 0, 0, 0x08, 1, 0, 0, 0, 6, 4, 0, 9, 1, 1, 255 };
		char ip[512];
		FILE *f;

		tu_path(ip, sizeof ip, "y-idx1-ubyte");
		f = fopen(ip, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(idx, 1, sizeof idx, f), sizeof idx);
		fclose(f);
		ck_assert_int_eq(fden_dataset_load_npy(xp, ip, &ds), 0);
		ck_assert_uint_eq(fden_dataset_size(ds), 6);
		ck_assert_int_eq(fden_dataset_labels(ds)[1], 0);
		ck_assert_int_eq(fden_dataset_labels(ds)[2], 9);
		ck_assert_int_eq(fden_dataset_labels(ds)[5], 255);
		fden_dataset_free(ds);
		/* a .npy that is not a label file, under another name: IDX's error */
		ck_assert_int_eq(fden_dataset_load_npy(xp, xp, &ds), FDEN_E_FORMAT);
		rename(xp, ip);
		ck_assert_int_eq(fden_dataset_load_npy(yp, ip, &ds), FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(fden_last_error(), "y-idx1-ubyte"));
		rename(ip, xp);
	}
	/* writer argument checks */
	ck_assert_int_eq(fden_npy_save_f32(xp, NULL, 6, 2), FDEN_E_INVALID);
	ck_assert_int_eq(fden_npy_save_f32(xp, x, 0, 2), FDEN_E_INVALID);
	ck_assert_int_eq(fden_npy_save_f32(xp, x, SIZE_MAX / 2, 4), FDEN_E_OVERFLOW);
	tu_path(xp, sizeof xp, "none/x.npy");
	ck_assert_int_eq(fden_npy_save_f32(xp, x, 6, 2), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "none/x.npy"));
	tu_rmdir();
}
END_TEST

/* fd_npy_map: float32 data at a 64-byte offset are used in place (a view
 * of the read-only mapping, never copied); other files are converted into
 * memory of their own; the public loader takes the view, frees by munmap;
 * the checks are the reader's. */
START_TEST(test_map)
{
	float x[12];
	int32_t y[6] = { 0, 1, 0, 1, 2, 2 };
	double x8[12];
	unsigned char buf[512];
	struct fden_dataset *ds;
	struct fd_array a;
	struct fd_err err;
	void *map;
	size_t i, len, ml;
	char xp[512], yp[512], dp[512], tp[512];
	FILE *f;

	for (i = 0; i < 12; i++) {
		x[i] = (float)i * 0.5f - 2.0f;
		x8[i] = x[i];
	}
	tu_mkdir();
	tu_path(xp, sizeof xp, "x.npy");
	tu_path(yp, sizeof yp, "y.npy");
	tu_path(dp, sizeof dp, "d.npy");
	tu_path(tp, sizeof tp, "t.npy");
	ck_assert_int_eq(fden_npy_save_f32(xp, x, 6, 2), 0);
	ck_assert_int_eq(fden_npy_save_i32(yp, y, 6), 0);
	ck_assert_int_eq(fd_npy_map(xp, NULL, &err, &a, &map, &ml), 0);
	ck_assert_ptr_nonnull(map);
	ck_assert_int_eq(a.view, 1);
	ck_assert_ptr_eq(a.f32, (float *)((char *)map + 128)); /* in the mapping, past the header */
	ck_assert_uint_eq(ml, 128 + sizeof x);
	ck_assert_uint_eq(a.rows, 6);
	ck_assert_uint_eq(a.cols, 2);
	ck_assert_mem_eq(a.f32, x, sizeof x);
	fd_array_free(&a, NULL); /* a view: frees nothing (munmap below would fault otherwise) */
	ck_assert_int_eq(munmap(map, ml), 0);
	/* f8: converted, no mapping kept */
	len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6, 2), }",
		       x8, sizeof x8);
	f = fopen(dp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(fd_npy_map(dp, NULL, &err, &a, &map, &ml), 0);
	ck_assert_ptr_null(map);
	ck_assert_int_eq(a.view, 0);
	ck_assert_mem_eq(a.f32, x, sizeof x);
	fd_array_free(&a, NULL);
	/* f4 at an offset that is not 64-aligned (a hand-made short header): converted */
	len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }",
		       x, sizeof x);
	f = fopen(dp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(fd_npy_map(dp, NULL, &err, &a, &map, &ml), 0);
	ck_assert_ptr_null(map);
	ck_assert_mem_eq(a.f32, x, sizeof x);
	fd_array_free(&a, NULL);
	/* truncated and trailing data: the reader's errors, nothing mapped */
	f = fopen(tp, "wb");
	ck_assert_ptr_nonnull(f);
	{
		unsigned char *b = tu_slurp(xp, &len);
		ck_assert_uint_eq(fwrite(b, 1, len - 4, f), len - 4);
		free(b);
	}
	ck_assert_int_eq(fclose(f), 0);
	map = (void *)1;
	ck_assert_int_eq(fd_npy_map(tp, NULL, &err, &a, &map, &ml), FDEN_E_FORMAT);
	ck_assert_ptr_null(map);
	ck_assert_ptr_null(a.f32);
	ck_assert_int_eq(fd_npy_map(yp, NULL, &err, &a, &map, &ml), 0); /* i4 rows: converted */
	ck_assert_ptr_null(map);
	fd_array_free(&a, NULL);
	tu_path(dp, sizeof dp, "missing.npy");
	ck_assert_int_eq(fd_npy_map(dp, NULL, &err, &a, &map, &ml), FDEN_E_IO);
	/* the public loader maps; its data are the file's */
	ck_assert_int_eq(fden_dataset_load_npy(xp, yp, &ds), 0);
	ck_assert_mem_eq(fden_dataset_data(ds), x, sizeof x);
	ck_assert_mem_eq(fden_dataset_labels(ds), y, sizeof y);
	ck_assert_uint_eq((uintptr_t)fden_dataset_data(ds) % 64, 0);
	fden_dataset_free(ds);
	ck_assert_int_eq(fden_npy_save_i32(yp, y, 5), 0);
	ck_assert_int_eq(fden_dataset_load_npy(xp, yp, &ds), FDEN_E_SHAPE); /* mapping released */
	tu_rmdir();
}
END_TEST

START_TEST(test_malformed)
{
	static const float v[6] = { 1, 2, 3, 4, 5, 6 };
	unsigned char buf[1024];
	struct fd_array a;
	struct fd_err err;
	size_t n, i;
	struct {
		const char *dict;
		int status;
		const char *needle;
	} cases[] = {
		{ "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", FDEN_E_FORMAT,
		  "fortran_order" },
		{ "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", FDEN_E_FORMAT,
		  "little-endian" },
		{ "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", FDEN_E_FORMAT,
		  "dtype" },
		{ "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", FDEN_E_FORMAT,
		  "dtype" },
		{ "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", FDEN_E_FORMAT,
		  "structured" },
		{ "{'descr': '<f4', 'shape': (2, 3), }", FDEN_E_FORMAT, "missing" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", FDEN_E_FORMAT,
		  "unknown" },
		{ "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
		  FDEN_E_FORMAT, "repeated" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", FDEN_E_FORMAT,
		  "truncated" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", FDEN_E_FORMAT,
		  "unexpected" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", FDEN_E_FORMAT,
		  "scalar" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", FDEN_E_FORMAT,
		  "size 0" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1)}",
		  FDEN_E_FORMAT, "overflow" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
		  FDEN_E_FORMAT, "overflow" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", FDEN_E_FORMAT,
		  "header" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", FDEN_E_FORMAT,
		  "after" },
		{ "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", FDEN_E_FORMAT,
		  "dtype" },
		{ "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", FDEN_OK, "" },
		{ "{'shape': (6,),'fortran_order':False,'descr':'<f4'}", FDEN_OK, "" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", FDEN_OK, "" },
	};

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int st;

		n = make_npy(buf, 1, cases[i].dict, v, sizeof v);
		st = fd_npy_read_mem(buf, n, "bad.npy", FD_ARRAY_FLOAT, NULL, &err, &a);
		ck_assert_msg(st == cases[i].status, "case %zu: %d %s", i, st, err.msg);
		if (st) {
			ck_assert_msg(strstr(err.msg, cases[i].needle) && strstr(err.msg, "bad.npy"),
				      "case %zu: %s", i, err.msg);
			ck_assert_ptr_null(a.f32);
		} else {
			ck_assert_mem_eq(a.f32, v, sizeof v);
			fd_array_free(&a, NULL);
		}
	}
	/* bad magic, versions, truncated header */
	n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", v,
		     sizeof v);
	for (i = 0; i < 60; i++)
		ck_assert_int_eq(fd_npy_read_mem(buf, i, "t", FD_ARRAY_FLOAT, NULL, &err, &a),
				 FDEN_E_FORMAT);
	buf[6] = 4;
	ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_FLOAT, NULL, &err, &a),
			 FDEN_E_VERSION);
	buf[6] = 0;
	ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_FLOAT, NULL, &err, &a),
			 FDEN_E_FORMAT);
	buf[6] = 1;
	buf[0] = 'x';
	ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_FLOAT, NULL, &err, &a),
			 FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "magic"));
	/* version 2.0 header */
	n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)}", v,
		     sizeof v);
	ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_FLOAT, NULL, &err, &a), 0);
	ck_assert_uint_eq(a.cols, 2);
	fd_array_free(&a, NULL);
	/* labels out of int32 range */
	{
		int64_t big[2] = { 1, (int64_t)1 << 40 };
		uint32_t ubig[2] = { 1, 0x80000000u };

		n = make_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,)}", big,
			     sizeof big);
		ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_LABELS, NULL, &err, &a),
				 FDEN_E_FORMAT);
		ck_assert_ptr_nonnull(strstr(err.msg, "row 1"));
		n = make_npy(buf, 1, "{'descr': '<u4', 'fortran_order': False, 'shape': (2,)}", ubig,
			     sizeof ubig);
		ck_assert_int_eq(fd_npy_read_mem(buf, n, "t", FD_ARRAY_LABELS, NULL, &err, &a),
				 FDEN_E_FORMAT);
	}
}
END_TEST

/* Files written by numpy itself, every supported dtype. */
START_TEST(test_numpy_files)
{
	static const char *script =
		"import sys, numpy as np\n"
		"d = sys.argv[1]\n"
		"x = (np.arange(35).reshape(7, 5) * 0.5 - 3)\n"
		"np.save(d + '/f4.npy', x.astype('<f4'))\n"
		"np.save(d + '/f8.npy', x.astype('<f8'))\n"
		"np.save(d + '/f4_3d.npy', np.arange(24, dtype='<f4').reshape(2, 3, 4))\n"
		"np.save(d + '/fort.npy', np.asfortranarray(x.astype('<f4')))\n"
		"np.save(d + '/be.npy', x.astype('>f4'))\n"
		"y = np.array([0, 3, 1, 127, 2, 5, 4])\n"
		"for t in ['i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8']:\n"
		"    np.save(d + '/y_' + t + '.npy', y.astype('<' + t))\n"
		"np.save(d + '/y_neg.npy', np.array([-5, -128, 7], dtype='<i2'))\n"
		"with open(d + '/v2.npy', 'wb') as f:\n"
		"    np.lib.format.write_array(f, x.astype('<f4'), version=(2, 0))\n";
	static const char *ts[8] = { "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8" };
	static const int32_t y[7] = { 0, 3, 1, 127, 2, 5, 4 };
	char cmd[1024], path[512];
	struct fd_array a;
	struct fd_err err;
	FILE *f;
	size_t i;
	int k;

	tu_mkdir();
	tu_path(path, sizeof path, "gen.py");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>/dev/null", path, tu_dir);
	if (access("/usr/bin/python3", X_OK) != 0 || system(cmd) != 0) {
		fprintf(stderr, "python3 with numpy not available: skipped\n");
		tu_rmdir();
		return;
	}
	for (k = 0; k < 3; k++) {
		const char *nm[3] = { "f4.npy", "f8.npy", "v2.npy" };

		tu_path(path, sizeof path, nm[k]);
		ck_assert_msg(fd_npy_read(path, FD_ARRAY_FLOAT, NULL, &err, &a) == 0, "%s", err.msg);
		ck_assert_uint_eq(a.rows, 7);
		ck_assert_uint_eq(a.cols, 5);
		for (i = 0; i < 35; i++)
			ck_assert_float_eq(a.f32[i], (float)i * 0.5f - 3.0f);
		fd_array_free(&a, NULL);
	}
	tu_path(path, sizeof path, "f4_3d.npy");
	ck_assert_int_eq(fd_npy_read(path, FD_ARRAY_FLOAT, NULL, &err, &a), 0);
	ck_assert_uint_eq(a.rows, 2);
	ck_assert_uint_eq(a.cols, 12);
	ck_assert_float_eq(a.f32[23], 23.0f);
	fd_array_free(&a, NULL);
	tu_path(path, sizeof path, "fort.npy");
	ck_assert_int_eq(fd_npy_read(path, FD_ARRAY_FLOAT, NULL, &err, &a), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "fortran_order"));
	ck_assert_ptr_nonnull(strstr(err.msg, "fort.npy"));
	tu_path(path, sizeof path, "be.npy");
	ck_assert_int_eq(fd_npy_read(path, FD_ARRAY_FLOAT, NULL, &err, &a), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "little-endian"));
	for (k = 0; k < 8; k++) {
		char nm[32];

		snprintf(nm, sizeof nm, "y_%s.npy", ts[k]);
		tu_path(path, sizeof path, nm);
		ck_assert_msg(fd_npy_read(path, FD_ARRAY_LABELS, NULL, &err, &a) == 0, "%s: %s", nm,
			      err.msg);
		ck_assert_uint_eq(a.rows, 7);
		ck_assert_mem_eq(a.i32, y, sizeof y);
		fd_array_free(&a, NULL);
	}
	tu_path(path, sizeof path, "y_neg.npy");
	ck_assert_int_eq(fd_npy_read(path, FD_ARRAY_LABELS, NULL, &err, &a), 0);
	ck_assert_int_eq(a.i32[0], -5);
	ck_assert_int_eq(a.i32[1], -128);
	ck_assert_int_eq(a.i32[2], 7);
	fd_array_free(&a, NULL);
	/* and numpy reads what we write */
	{
		float x[6] = { 1.5f, -2, 3, 4, 5, 6 };
		int32_t l[3] = { 7, -8, 9 };

		tu_path(path, sizeof path, "ours.npy");
		ck_assert_int_eq(fden_npy_save_f32(path, x, 3, 2), 0);
		tu_path(path, sizeof path, "ours_y.npy");
		ck_assert_int_eq(fden_npy_save_i32(path, l, 3), 0);
		snprintf(cmd, sizeof cmd,
			 "/usr/bin/python3 -c \"import numpy as np; "
			 "a = np.load('%s/ours.npy'); b = np.load('%s/ours_y.npy'); "
			 "assert a.dtype == np.float32 and a.shape == (3, 2) and a[0, 0] == 1.5 "
			 "and a[2, 1] == 6; "
			 "assert b.dtype == np.int32 and b.shape == (3,) and b[1] == -8\"",
			 tu_dir, tu_dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	tu_rmdir();
}
END_TEST

static Suite *npy_suite(void)
{
	Suite *s = suite_create("npy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_numpy_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(npy_suite(), 0);
}
