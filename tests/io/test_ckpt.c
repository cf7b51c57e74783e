/* Checkpoint container: round trip, corruption, truncation, versions,
 * hostile payloads, atomic writes, allocator failures. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../testutil.h"
#include "core/error.h"
#include "io/ckpt.h"
#include "io/file.h"

static const float f32v[5] = { 1.5f, -2.25f, 3.0f, 0.0f, 1e-30f };
static const int32_t i32v[3] = { -7, 0, 2147483647 };
static const uint64_t u64v[2] = { 0, 18446744073709551615ull };
static const double f64v[2] = { 3.141592653589793, -1e300 };

static void write_sample(const char *path, uint32_t kind)
{
	struct fd_ckpt_writer *w;
	struct fd_err err;

	ck_assert_int_eq(fd_ckpt_writer_new(kind, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "w.f32", FD_CKPT_F32, f32v, 5), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "a.i32", FD_CKPT_I32, i32v, 3), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "step", FD_CKPT_U64, u64v, 2), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "pi", FD_CKPT_F64, f64v, 2), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "blob", FD_CKPT_BYTES, "hello", 5), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "empty", FD_CKPT_F32, NULL, 0), 0);
	ck_assert_int_eq(fd_ckpt_write(w, path), 0);
}

/* Header(36) + zlib(payload) with a correct CRC, for hand-made payloads. */
static unsigned char *make_file(const unsigned char *payload, size_t plen, uint32_t version,
				size_t *len)
{
	uLongf cl = compressBound(plen);
	unsigned char *f = malloc(36 + cl);
	uint32_t crc = (uint32_t)crc32(0L, payload, (uInt)plen);
	int i;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(compress2(f + 36, &cl, payload, plen, 6), Z_OK);
	memcpy(f, "FDENCKPT", 8);
	for (i = 0; i < 4; i++) {
		f[8 + i] = (unsigned char)(version >> (8 * i));
		f[12 + i] = (unsigned char)(FD_CKPT_MODEL >> (8 * i));
		f[32 + i] = (unsigned char)(crc >> (8 * i));
	}
	for (i = 0; i < 8; i++) {
		f[16 + i] = (unsigned char)((uint64_t)plen >> (8 * i));
		f[24 + i] = (unsigned char)((uint64_t)cl >> (8 * i));
	}
	*len = 36 + cl;
	return f;
}

/* Append one record {u16 nlen, name, u8 type, u64 nbytes, bytes}. */
static size_t rec(unsigned char *p, const char *name, int type, uint64_t nbytes,
		  const void *data, size_t have)
{
	size_t nl = strlen(name), o = 0;
	int i;

	p[o++] = (unsigned char)nl;
	p[o++] = (unsigned char)(nl >> 8);
	memcpy(p + o, name, nl);
	o += nl;
	p[o++] = (unsigned char)type;
	for (i = 0; i < 8; i++)
		p[o++] = (unsigned char)(nbytes >> (8 * i));
	memcpy(p + o, data, have);
	return o + have;
}

START_TEST(test_roundtrip)
{
	struct fd_ckpt_reader *r;
	struct fd_err err;
	const void *d;
	size_t n, i;
	char path[512];
	const char *name;
	int type;

	tu_mkdir();
	tu_path(path, sizeof path, "m.ckpt");
	write_sample(path, FD_CKPT_MODEL);
	ck_assert_int_eq(tu_count_files(), 1); /* no temporary left */
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), 0);
	ck_assert_uint_eq(fd_ckpt_count(r), 6);
	ck_assert_int_eq(fd_ckpt_get(r, "w.f32", FD_CKPT_F32, 5, &d, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq((uintptr_t)d % 64, 0);
	ck_assert_mem_eq(d, f32v, sizeof f32v);
	ck_assert_int_eq(fd_ckpt_get(r, "a.i32", FD_CKPT_I32, 0, &d, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(d, i32v, sizeof i32v);
	ck_assert_int_eq(fd_ckpt_get(r, "step", FD_CKPT_U64, 2, &d, NULL), 0);
	ck_assert_mem_eq(d, u64v, sizeof u64v);
	ck_assert_int_eq(fd_ckpt_get(r, "pi", FD_CKPT_F64, 2, &d, NULL), 0);
	ck_assert_mem_eq(d, f64v, sizeof f64v);
	ck_assert_int_eq(fd_ckpt_get(r, "blob", FD_CKPT_BYTES, 5, &d, NULL), 0);
	ck_assert_mem_eq(d, "hello", 5);
	ck_assert_int_eq(fd_ckpt_get(r, "empty", FD_CKPT_F32, 0, &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* wrong type, wrong count, missing: FORMAT naming the record */
	ck_assert_int_eq(fd_ckpt_get(r, "w.f32", FD_CKPT_F64, 5, &d, NULL), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "w.f32"));
	ck_assert_int_eq(fd_ckpt_get(r, "w.f32", FD_CKPT_F32, 4, &d, NULL), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "expected 4"));
	ck_assert_int_eq(fd_ckpt_get(r, "nope", FD_CKPT_F32, 0, &d, NULL), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "nope"));
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "m.ckpt"));
	/* records listed in name order */
	for (i = 0; i < fd_ckpt_count(r); i++) {
		const char *prev = name;

		ck_assert_int_eq(fd_ckpt_record(r, i, &name, &type, NULL, NULL), 0);
		if (i)
			ck_assert_int_lt(strcmp(prev, name), 0);
	}
	ck_assert_int_eq(fd_ckpt_record(r, 6, &name, &type, NULL, NULL), FDEN_E_INVALID);
	fd_ckpt_reader_free(r);
	fd_ckpt_reader_free(NULL);
	fd_ckpt_writer_free(NULL);
	/* wrong kind */
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_PCA, NULL, &err, &r), FDEN_E_FORMAT);
	ck_assert_int_eq(err.status, FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "kind"));
	tu_rmdir();
}
END_TEST

START_TEST(test_corrupt_every_byte)
{
	struct fd_ckpt_reader *r;
	struct fd_err err;
	unsigned char *buf;
	size_t len, i;
	char path[512];

	tu_mkdir();
	tu_path(path, sizeof path, "m.ckpt");
	write_sample(path, FD_CKPT_MODEL);
	buf = tu_slurp(path, &len);
	ck_assert_uint_gt(len, 36);
	ck_assert_int_eq(fd_ckpt_read_mem(buf, len, FD_CKPT_MODEL, NULL, &err, &r), 0);
	fd_ckpt_reader_free(r);
	/* any flipped byte in the CRC or the compressed payload: CORRUPT */
	for (i = 32; i < len; i++) {
		buf[i] ^= 0x41;
		r = NULL;
		ck_assert_msg(fd_ckpt_read_mem(buf, len, FD_CKPT_MODEL, NULL, &err, &r) ==
				      FDEN_E_CORRUPT,
			      "byte %zu: %s", i, err.msg);
		ck_assert_ptr_null(r);
		buf[i] ^= 0x41;
	}
	/* any flipped header byte before the CRC: some error, never OK */
	for (i = 0; i < 32; i++) {
		buf[i] ^= 0x10;
		ck_assert_int_lt(fd_ckpt_read_mem(buf, len, FD_CKPT_MODEL, NULL, &err, &r), 0);
		buf[i] ^= 0x10;
	}
	/* on disk too, naming the file */
	buf[len - 3] ^= 0xff;
	tu_write(path, buf, len);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), path));
	free(buf);
	tu_rmdir();
}
END_TEST

START_TEST(test_truncated)
{
	struct fd_ckpt_reader *r;
	struct fd_err err;
	unsigned char *buf;
	size_t len, i;
	char path[512];

	tu_mkdir();
	tu_path(path, sizeof path, "m.ckpt");
	write_sample(path, FD_CKPT_MODEL);
	buf = tu_slurp(path, &len);
	for (i = 0; i < len; i++)
		ck_assert_msg(fd_ckpt_read_mem(buf, i, FD_CKPT_MODEL, NULL, &err, &r) ==
				      FDEN_E_FORMAT,
			      "length %zu: %s", i, err.msg);
	tu_write(path, buf, len / 2);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	tu_write(path, buf, 0);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_FORMAT);
	/* trailing garbage */
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	ck_assert_int_eq(fd_ckpt_read_mem(buf, len + 1, FD_CKPT_MODEL, NULL, &err, &r),
			 FDEN_E_FORMAT);
	free(buf);
	/* missing file: IO with path and strerror */
	tu_path(path, sizeof path, "missing.ckpt");
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
	tu_rmdir();
}
END_TEST

START_TEST(test_versions)
{
	struct fd_ckpt_reader *r;
	struct fd_err err;
	unsigned char payload[64], *f;
	size_t plen, len;

	plen = rec(payload, "x", FD_CKPT_I32, 4, "\1\0\0\0", 4);
	f = make_file(payload, plen, 1, &len);
	ck_assert_int_eq(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), 0);
	fd_ckpt_reader_free(r);
	free(f);
	f = make_file(payload, plen, 2, &len);
	ck_assert_int_eq(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_VERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "version 2"));
	free(f);
	f = make_file(payload, plen, 0xFFFFFFFFu, &len);
	ck_assert_int_eq(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_VERSION);
	free(f);
	f = make_file(payload, plen, 0, &len);
	ck_assert_int_eq(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_FORMAT);
	free(f);
}
END_TEST

/* Payloads that decompress fine but whose records are malformed. */
START_TEST(test_hostile_records)
{
	struct fd_ckpt_reader *r;
	struct fd_err err;
	unsigned char p[256], *f;
	size_t n, len;
	const char *needle;

	for (int c = 0; c < 8; c++) {
		n = 0;
		switch (c) {
		case 0: /* duplicate name */
			n += rec(p + n, "a", FD_CKPT_BYTES, 1, "x", 1);
			n += rec(p + n, "b", FD_CKPT_BYTES, 1, "x", 1);
			n += rec(p + n, "a", FD_CKPT_BYTES, 1, "y", 1);
			needle = "twice";
			break;
		case 1: /* unknown type */
			n += rec(p + n, "a", 9, 1, "x", 1);
			needle = "type";
			break;
		case 2: /* byte count larger than what remains */
			n += rec(p + n, "a", FD_CKPT_BYTES, 1000, "x", 1);
			needle = "remain";
			break;
		case 3: /* byte count not a multiple of the element size */
			n += rec(p + n, "a", FD_CKPT_F32, 6, "123456", 6);
			needle = "whole number";
			break;
		case 4: /* empty name */
			n += rec(p + n, "", FD_CKPT_BYTES, 0, "", 0);
			needle = "empty name";
			break;
		case 5: /* a lone byte after a good record */
			n += rec(p + n, "a", FD_CKPT_BYTES, 1, "x", 1);
			p[n++] = 5;
			needle = "truncated";
			break;
		case 6: /* NUL in a name */
			n += rec(p + n, "ab", FD_CKPT_BYTES, 0, "", 0);
			p[3] = 0;
			needle = "NUL";
			break;
		default: /* huge byte count (wraps when added) */
			n += rec(p + n, "a", FD_CKPT_BYTES, UINT64_MAX, "x", 1);
			needle = "remain";
			break;
		}
		f = make_file(p, n, 1, &len);
		r = NULL;
		ck_assert_msg(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r) ==
				      FDEN_E_FORMAT,
			      "case %d: %s", c, err.msg);
		ck_assert_msg(strstr(err.msg, needle) != NULL, "case %d: %s", c, err.msg);
		ck_assert_ptr_null(r);
		free(f);
	}
	/* header claims a giant payload: rejected before allocating */
	n = rec(p, "a", FD_CKPT_BYTES, 1, "x", 1);
	f = make_file(p, n, 1, &len);
	f[16 + 4] = 0x7f; /* usize ~ 2^38 */
	ck_assert_int_lt(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), 0);
	f[16 + 4] = 0;
	f[16 + 2] = 0x10; /* usize ~ 1 MiB from a tiny stream */
	ck_assert_int_eq(fd_ckpt_read_mem(f, len, FD_CKPT_MODEL, NULL, &err, &r), FDEN_E_CORRUPT);
	free(f);
}
END_TEST

START_TEST(test_writer_errors)
{
	struct fd_ckpt_writer *w;
	struct fd_err err;
	char path[512];
	float x = 1;

	tu_mkdir();
	tu_path(path, sizeof path, "w.ckpt");
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "x", FD_CKPT_F32, &x, 1), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "x", FD_CKPT_F32, &x, 1), FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
	/* sticky: the write fails and leaves no file */
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_E_INVALID);
	ck_assert_int_eq(tu_count_files(), 0);
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "", FD_CKPT_F32, &x, 1), FDEN_E_INVALID);
	fd_ckpt_writer_free(w);
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "t", 0, &x, 1), FDEN_E_INVALID);
	fd_ckpt_writer_free(w);
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "big", FD_CKPT_F64, &x, SIZE_MAX / 4), FDEN_E_OVERFLOW);
	fd_ckpt_writer_free(w);
	/* unwritable directory: IO naming the path, nothing left behind */
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "x", FD_CKPT_F32, &x, 1), 0);
	tu_path(path, sizeof path, "no/such/dir.ckpt");
	ck_assert_int_eq(fd_ckpt_write(w, path), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "no/such/dir.ckpt"));
	tu_rmdir();
}
END_TEST

START_TEST(test_atomic)
{
	struct fd_ckpt_reader *r;
	struct fd_afile f;
	struct fd_err err;
	unsigned char *before, *after;
	size_t nb, na;
	char path[512], dpath[512];
	const void *d;

	tu_mkdir();
	tu_path(path, sizeof path, "m.ckpt");
	write_sample(path, FD_CKPT_MODEL);
	before = tu_slurp(path, &nb);
	/* abort midway: old file byte-identical, temporary gone */
	ck_assert_int_eq(fd_afile_open(&f, path, &err), 0);
	ck_assert_int_eq(tu_count_files(), 2);
	ck_assert_ptr_nonnull(strstr(f.tmp, "m.ckpt.tmp."));
	ck_assert_int_eq(fd_afile_write(&f, "garbage", 7), 0);
	fd_afile_abort(&f);
	fd_afile_abort(&f); /* twice is harmless */
	ck_assert_int_eq(tu_count_files(), 1);
	after = tu_slurp(path, &na);
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(after, before, nb);
	free(after);
	/* the target is a directory: refused before writing; it becomes one
	 * while we write: refused at commit; the temporary file removed */
	tu_path(dpath, sizeof dpath, "dir");
	ck_assert_int_eq(fd_afile_open(&f, dpath, &err), 0);
	ck_assert_int_eq(fd_afile_write(&f, "abc", 3), 0);
	ck_assert_int_eq(mkdir(dpath, 0700), 0);
	tu_path(dpath, sizeof dpath, "dir/x");
	tu_write(dpath, "x", 1);
	tu_path(dpath, sizeof dpath, "dir");
	ck_assert_int_eq(fd_afile_commit(&f), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file any more"));
	ck_assert_int_eq(tu_count_files(), 2);
	ck_assert_int_eq(fd_file_write_atomic(dpath, "abc", 3, &err), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
	ck_assert_int_eq(tu_count_files(), 2);
	tu_path(dpath, sizeof dpath, "dir/x");
	unlink(dpath);
	tu_path(dpath, sizeof dpath, "dir");
	rmdir(dpath);
	/* a replacing write swaps the whole file */
	{
		struct fd_ckpt_writer *w;
		int32_t v = 42;

		ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_MODEL, NULL, &err, &w), 0);
		ck_assert_int_eq(fd_ckpt_put(w, "only", FD_CKPT_I32, &v, 1), 0);
		ck_assert_int_eq(fd_ckpt_write(w, path), 0);
	}
	ck_assert_int_eq(tu_count_files(), 1);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), 0);
	ck_assert_uint_eq(fd_ckpt_count(r), 1);
	ck_assert_int_eq(fd_ckpt_get(r, "only", FD_CKPT_I32, 1, &d, NULL), 0);
	ck_assert_int_eq(*(const int32_t *)d, 42);
	fd_ckpt_reader_free(r);
	free(before);
	tu_rmdir();
}
END_TEST

/* Every allocation made along a write and a read fails in turn: NOMEM, no leak. */
START_TEST(test_alloc_failures)
{
	struct tu_counter s = { 0 };
	struct fden_allocator a = tu_counting_allocator(&s);
	struct fd_ckpt_writer *w;
	struct fd_ckpt_reader *r;
	struct fd_err err;
	unsigned char *buf;
	char path[512];
	long n, total;
	size_t len;
	float big[3000];
	int st, seen_nomem = 0;

	for (n = 0; n < 3000; n++)
		big[n] = (float)n;
	tu_mkdir();
	tu_path(path, sizeof path, "m.ckpt");
	/* count the allocations of a clean write + read */
	ck_assert_int_eq(fd_ckpt_writer_new(FD_CKPT_AE, &a, &err, &w), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "big", FD_CKPT_F32, big, 3000), 0);
	ck_assert_int_eq(fd_ckpt_put(w, "small", FD_CKPT_I32, big, 2), 0);
	ck_assert_int_eq(fd_ckpt_write(w, path), 0);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_AE, &a, &err, &r), 0);
	fd_ckpt_reader_free(r);
	ck_assert_int_eq(s.live, 0);
	total = s.calls;
	ck_assert_int_gt(total, 5);
	buf = tu_slurp(path, &len);
	for (n = 1; n <= total; n++) {
		memset(&s, 0, sizeof s);
		a = tu_counting_allocator(&s);
		s.fail_at = (size_t)n;
		st = fd_ckpt_writer_new(FD_CKPT_AE, &a, &err, &w);
		if (!st) {
			st = fd_ckpt_put(w, "big", FD_CKPT_F32, big, 3000);
			if (!st)
				st = fd_ckpt_put(w, "small", FD_CKPT_I32, big, 2);
			if (st)
				fd_ckpt_writer_free(w);
			else
				st = fd_ckpt_write(w, path);
		}
		if (!st) {
			r = NULL;
			st = fd_ckpt_read(path, FD_CKPT_AE, &a, &err, &r);
			fd_ckpt_reader_free(r);
		}
		ck_assert_msg(st == FDEN_OK || st == FDEN_E_NOMEM, "fail at %ld: %d %s", n, st,
			      err.msg);
		seen_nomem += st == FDEN_E_NOMEM;
		ck_assert_msg(s.live == 0, "fail at %ld: %ld blocks leaked", n, s.live);
		/* the file on disk is always a whole, valid checkpoint */
		ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_AE, NULL, &err, &r), 0);
		fd_ckpt_reader_free(r);
	}
	ck_assert_int_gt(seen_nomem, total / 2);
	free(buf);
	tu_rmdir();
}
END_TEST

/* The seed corpus is written by fuzz/gen_corpus.py, an independent Python
 * writer of the format: the reader must agree with it byte for byte. */
START_TEST(test_python_written)
{
	const char *root = getenv("FDEN_SOURCE_ROOT");
	struct fd_ckpt_reader *r;
	struct fd_err err;
	const void *d;
	char path[1024];
	size_t n, i;
	struct {
		const char *name;
		int status;
	} cases[] = {
		{ "bad_crc", FDEN_E_CORRUPT },
		{ "future_version", FDEN_E_VERSION },
		{ "truncated", FDEN_E_FORMAT },
		{ "duplicate", FDEN_E_FORMAT },
		{ "bad_count", FDEN_E_FORMAT },
	};

	if (!root) {
		fprintf(stderr, "FDEN_SOURCE_ROOT not set: skipped\n");
		return;
	}
	snprintf(path, sizeof path, "%s/fuzz/corpus/ckpt/valid_model", root);
	ck_assert_msg(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r) == 0, "%s", err.msg);
	ck_assert_uint_eq(fd_ckpt_count(r), 5);
	ck_assert_int_eq(fd_ckpt_get(r, "dis.w0", FD_CKPT_F32, 12, &d, NULL), 0);
	for (i = 0; i < 12; i++)
		ck_assert_float_eq(((const float *)d)[i], (float)i);
	ck_assert_int_eq(fd_ckpt_get(r, "step", FD_CKPT_U64, 1, &d, NULL), 0);
	ck_assert_uint_eq(*(const uint64_t *)d, 42);
	ck_assert_int_eq(fd_ckpt_get(r, "lr", FD_CKPT_F64, 1, &d, NULL), 0);
	ck_assert_double_eq(*(const double *)d, 1e-4);
	ck_assert_int_eq(fd_ckpt_get(r, "cfg", FD_CKPT_BYTES, 0, &d, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(d, "dim=8", 5);
	fd_ckpt_reader_free(r);
	snprintf(path, sizeof path, "%s/fuzz/corpus/ckpt/valid_empty", root);
	ck_assert_int_eq(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r), 0);
	ck_assert_uint_eq(fd_ckpt_count(r), 0);
	fd_ckpt_reader_free(r);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(path, sizeof path, "%s/fuzz/corpus/ckpt/%s", root, cases[i].name);
		ck_assert_msg(fd_ckpt_read(path, FD_CKPT_MODEL, NULL, &err, &r) == cases[i].status,
			      "%s: %s", cases[i].name, err.msg);
	}
}
END_TEST

static Suite *ckpt_suite(void)
{
	Suite *s = suite_create("ckpt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_corrupt_every_byte);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_hostile_records);
	tcase_add_test(tc, test_writer_errors);
	tcase_add_test(tc, test_atomic);
	tcase_add_test(tc, test_alloc_failures);
	tcase_add_test(tc, test_python_written);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_check_main(ckpt_suite(), 0);
}
