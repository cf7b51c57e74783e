/* Checkpoint container: named, typed records, zlib-compressed, CRC-32,
 * written atomically (see ckpt.h for the layout). The reader trusts nothing:
 * every size is checked against the bytes that remain. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "io/ckpt.h"
#include "io/file.h"

#define CKPT_MAGIC "FDENCKPT"
#define CKPT_VERSION 1u
#define CKPT_HDR 36u                         /* 8 magic + 4 + 4 + 8 + 8 + 4 */
#define CKPT_MAX_PAYLOAD ((uint64_t)4 << 30) /* 4 GiB uncompressed */
#define CKPT_MAX_RATIO 1032u                 /* deflate's best ratio */
#define CKPT_ALIGN 64u
#define CHUNK ((size_t)1 << 16)
#define SRC_LEN 160

static size_t type_size(int type)
{
	switch (type) {
	case FD_CKPT_F32: return 4;
	case FD_CKPT_I32: return 4;
	case FD_CKPT_U64: return 8;
	case FD_CKPT_F64: return 8;
	case FD_CKPT_BYTES: return 1;
	}
	return 0;
}

static const char *type_name(int type)
{
	switch (type) {
	case FD_CKPT_F32: return "f32";
	case FD_CKPT_I32: return "i32";
	case FD_CKPT_U64: return "u64";
	case FD_CKPT_F64: return "f64";
	case FD_CKPT_BYTES: return "bytes";
	}
	return "?";
}

/* Little-endian integers. */
static void put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Records hold little-endian elements; swap on big-endian hosts. */
static void to_le(void *data, size_t nbytes, size_t esize)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	unsigned char *p = data, t;
	size_t i, j;

	if (esize < 2)
		return;
	for (i = 0; i + esize <= nbytes; i += esize)
		for (j = 0; j < esize / 2; j++) {
			t = p[i + j];
			p[i + j] = p[i + esize - 1 - j];
			p[i + esize - 1 - j] = t;
		}
#else
	(void)data;
	(void)nbytes;
	(void)esize;
#endif
}

/* zlib's allocations through the caller's allocator. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	size_t n;

	if (fd_mul_overflow(items, size, &n))
		return Z_NULL;
	return fd_malloc(opaque, n);
}

static void z_free(voidpf opaque, voidpf p)
{
	fd_free(opaque, p);
}

static const struct fden_allocator *keep_alloc(struct fden_allocator *dst,
					       const struct fden_allocator *a)
{
	if (!a)
		return NULL;
	*dst = *a;
	return dst;
}

/* ---- writer ---- */

struct fd_ckpt_writer {
	struct fden_allocator alloc_copy;
	const struct fden_allocator *a;
	struct fd_err *err;
	uint32_t kind;
	int status;         /* sticky: the first failed put */
	unsigned char *buf; /* payload */
	size_t len, cap;
	size_t *names; /* payload offset of each record's name length */
	size_t n, ncap;
};

int fd_ckpt_writer_new(uint32_t kind, const struct fden_allocator *a, struct fd_err *err,
		       struct fd_ckpt_writer **out)
{
	struct fd_ckpt_writer *w;

	if (!out)
		return fd_err_set(err, FDEN_E_INVALID, "checkpoint writer: out is NULL");
	w = fd_calloc(a, 1, sizeof *w);
	if (!w)
		return fd_err_set(err, FDEN_E_NOMEM, "checkpoint writer: out of memory");
	w->a = keep_alloc(&w->alloc_copy, a);
	w->err = err;
	w->kind = kind;
	*out = w;
	return FDEN_OK;
}

void fd_ckpt_writer_free(struct fd_ckpt_writer *w)
{
	const struct fden_allocator *a;
	struct fden_allocator copy;

	if (!w)
		return;
	copy = w->alloc_copy;
	a = w->a ? &copy : NULL;
	fd_free(a, w->buf);
	fd_free(a, w->names);
	fd_free(a, w);
}

/* Make room for extra more payload bytes (doubling). */
static int w_reserve(struct fd_ckpt_writer *w, size_t extra)
{
	size_t need, cap;
	unsigned char *p;

	if (extra > SIZE_MAX - w->len || w->len + extra > CKPT_MAX_PAYLOAD)
		return fd_err_set(w->err, FDEN_E_OVERFLOW,
				  "checkpoint payload would exceed %llu bytes",
				  (unsigned long long)CKPT_MAX_PAYLOAD);
	need = w->len + extra;
	if (need <= w->cap)
		return FDEN_OK;
	cap = w->cap ? w->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = fd_malloc(w->a, cap);
	if (!p)
		return fd_err_set(w->err, FDEN_E_NOMEM, "checkpoint writer: cannot allocate %zu bytes",
				  cap);
	if (w->len)
		memcpy(p, w->buf, w->len);
	fd_free(w->a, w->buf);
	w->buf = p;
	w->cap = cap;
	return FDEN_OK;
}

static int w_has_name(const struct fd_ckpt_writer *w, const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		const unsigned char *p = w->buf + w->names[i];

		if (get_le(p, 2) == nlen && memcmp(p + 2, name, nlen) == 0)
			return 1;
	}
	return 0;
}

int fd_ckpt_put(struct fd_ckpt_writer *w, const char *name, int type, const void *data,
		size_t count)
{
	size_t esize, nbytes, nlen, rec;
	int st;

	if (!w)
		return fd_err_set(NULL, FDEN_E_INVALID, "checkpoint writer is NULL");
	if (w->status)
		return w->status;
	esize = type_size(type);
	if (!name || !*name) {
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint record name is empty");
		goto fail;
	}
	nlen = strlen(name);
	if (nlen > 0xFFFF) {
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint record name too long (%zu)", nlen);
		goto fail;
	}
	if (!esize) {
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint record '%s': bad type %d", name,
				type);
		goto fail;
	}
	if (count && !data) {
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint record '%s': data is NULL", name);
		goto fail;
	}
	if (fd_mul_overflow(count, esize, &nbytes) || nbytes > CKPT_MAX_PAYLOAD) {
		st = fd_err_set(w->err, FDEN_E_OVERFLOW, "checkpoint record '%s': %zu elements too many",
				name, count);
		goto fail;
	}
	if (w_has_name(w, name, nlen)) {
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint record '%s' written twice", name);
		goto fail;
	}
	if (w->n == w->ncap) {
		size_t ncap = w->ncap ? w->ncap * 2 : 32;
		size_t *p = fd_calloc(w->a, ncap, sizeof *p);

		if (!p) {
			st = fd_err_set(w->err, FDEN_E_NOMEM, "checkpoint writer: out of memory");
			goto fail;
		}
		if (w->n)
			memcpy(p, w->names, w->n * sizeof *p);
		fd_free(w->a, w->names);
		w->names = p;
		w->ncap = ncap;
	}
	st = w_reserve(w, 2 + nlen + 1 + 8 + nbytes);
	if (st)
		goto fail;
	rec = w->len;
	put_le(w->buf + rec, nlen, 2);                /* u16 name length */
	memcpy(w->buf + rec + 2, name, nlen);         /* name */
	w->buf[rec + 2 + nlen] = (unsigned char)type; /* u8 type */
	put_le(w->buf + rec + 3 + nlen, nbytes, 8);   /* u64 byte count */
	if (nbytes) {
		memcpy(w->buf + rec + 11 + nlen, data, nbytes); /* bytes */
		to_le(w->buf + rec + 11 + nlen, nbytes, esize);
	}
	w->len += 11 + nlen + nbytes;
	w->names[w->n++] = rec;
	return FDEN_OK;
fail:
	w->status = st;
	return st;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, n);
}

/* Stream-compress the payload into f after a placeholder header, then
 * patch the header with the compressed size. */
static int w_deflate(struct fd_ckpt_writer *w, struct fd_afile *f, const char *path)
{
	unsigned char hdr[CKPT_HDR];
	unsigned char *out;
	uint64_t csize;
	size_t in_left = w->len;
	z_stream z;
	int zr, flush, st = FDEN_OK;

	out = fd_malloc(w->a, CHUNK);
	if (!out)
		return fd_err_set(w->err, FDEN_E_NOMEM, "%s: out of memory", path);
	memset(&z, 0, sizeof z);
	z.zalloc = z_alloc;
	z.zfree = z_free;
	z.opaque = (voidpf)w->a;
	zr = deflateInit(&z, Z_DEFAULT_COMPRESSION);
	if (zr != Z_OK) {
		fd_free(w->a, out);
		return fd_err_set(w->err, zr == Z_MEM_ERROR ? FDEN_E_NOMEM : FDEN_E_IO,
				  "%s: deflateInit failed (%d)", path, zr);
	}
	memset(hdr, 0, sizeof hdr);
	st = fd_afile_write(f, hdr, sizeof hdr);
	z.next_in = w->buf;
	do {
		if (st)
			break;
		if (z.avail_in == 0 && in_left) {
			z.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
			in_left -= z.avail_in;
		}
		flush = in_left == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_out = out;
		z.avail_out = (uInt)CHUNK;
		zr = deflate(&z, flush);
		if (zr == Z_STREAM_ERROR) {
			st = fd_err_set(w->err, FDEN_E_IO, "%s: deflate failed", path);
			break;
		}
		if (CHUNK - z.avail_out)
			st = fd_afile_write(f, out, CHUNK - z.avail_out);
	} while (zr != Z_STREAM_END);
	csize = z.total_out;
	deflateEnd(&z);
	fd_free(w->a, out);
	if (st)
		return st;
	memcpy(hdr, CKPT_MAGIC, 8);
	put_le(hdr + 8, CKPT_VERSION, 4);
	put_le(hdr + 12, w->kind, 4);
	put_le(hdr + 16, w->len, 8);
	put_le(hdr + 24, csize, 8);
	put_le(hdr + 32, crc_of(w->buf, w->len), 4);
	return fd_afile_pwrite(f, hdr, sizeof hdr, 0);
}

int fd_ckpt_write(struct fd_ckpt_writer *w, const char *path)
{
	struct fd_afile f;
	int st;

	if (!w)
		return fd_err_set(NULL, FDEN_E_INVALID, "checkpoint writer is NULL");
	st = w->status;
	if (!st && !path)
		st = fd_err_set(w->err, FDEN_E_INVALID, "checkpoint path is NULL");
	if (!st)
		st = fd_afile_open(&f, path, w->err);
	if (!st) {
		st = w_deflate(w, &f, path);
		if (st)
			fd_afile_abort(&f);
		else
			st = fd_afile_commit(&f);
	}
	fd_ckpt_writer_free(w);
	return st;
}

/* ---- reader ---- */

struct rrec {
	const char *name; /* NUL-terminated, in the arena */
	int type;
	size_t count;
	const void *data; /* 64-byte aligned, in the arena; NULL when count is 0 */
};

struct fd_ckpt_reader {
	struct fden_allocator alloc_copy;
	const struct fden_allocator *a;
	struct fd_err *err;
	struct rrec *recs; /* sorted by name */
	size_t n;
	unsigned char *arena;
	char src[SRC_LEN]; /* the file name, for messages */
};

void fd_ckpt_reader_free(struct fd_ckpt_reader *r)
{
	const struct fden_allocator *a;
	struct fden_allocator copy;

	if (!r)
		return;
	copy = r->alloc_copy;
	a = r->a ? &copy : NULL;
	fd_free(a, r->recs);
	fd_free(a, r->arena);
	fd_free(a, r);
}

static int rec_cmp(const void *x, const void *y)
{
	return strcmp(((const struct rrec *)x)->name, ((const struct rrec *)y)->name);
}

static size_t align_up(size_t n)
{
	return (n + CKPT_ALIGN - 1) & ~(size_t)(CKPT_ALIGN - 1);
}

/* Inflate exactly usize bytes from exactly csize bytes. The file's length
 * already matched the header, so any disagreement here is corruption. */
static int r_inflate(const unsigned char *in, uint64_t csize, unsigned char *out, uint64_t usize,
		     const struct fden_allocator *a, struct fd_err *err, const char *src)
{
	unsigned char dummy;
	uint64_t in_left = csize, out_left = usize;
	z_stream z;
	int zr;

	memset(&z, 0, sizeof z);
	z.zalloc = z_alloc;
	z.zfree = z_free;
	z.opaque = (voidpf)a;
	zr = inflateInit(&z);
	if (zr != Z_OK)
		return fd_err_set(err, zr == Z_MEM_ERROR ? FDEN_E_NOMEM : FDEN_E_FORMAT,
				  "%s: inflateInit failed (%d)", src, zr);
	z.next_in = (unsigned char *)in;
	z.next_out = usize ? out : &dummy;
	for (;;) {
		if (z.avail_in == 0 && in_left) {
			z.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
			in_left -= z.avail_in;
		}
		if (z.avail_out == 0 && out_left) {
			z.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
			out_left -= z.avail_out;
		}
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END || zr != Z_OK)
			break;
	}
	inflateEnd(&z);
	if (zr == Z_MEM_ERROR)
		return fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory while inflating", src);
	if (zr == Z_STREAM_END && z.total_out == usize && z.total_in == csize)
		return FDEN_OK;
	if (zr == Z_STREAM_END)
		return fd_err_set(err, FDEN_E_CORRUPT,
				  "%s: compressed payload has %llu bytes, header says %llu", src,
				  (unsigned long long)z.total_out, (unsigned long long)usize);
	if (zr == Z_BUF_ERROR && z.avail_out == 0 && out_left == 0)
		return fd_err_set(err, FDEN_E_CORRUPT,
				  "%s: compressed payload is longer than the %llu bytes in the header",
				  src, (unsigned long long)usize);
	return fd_err_set(err, FDEN_E_CORRUPT, "%s: compressed payload is corrupt (%s)", src,
			  z.msg ? z.msg : "unexpected end");
}

/* Walk the records: validate (pass 1: out == NULL) or fill (pass 2). */
static int r_walk(const unsigned char *p, size_t len, struct rrec *out, unsigned char *arena,
		  size_t *n_out, size_t *arena_out, struct fd_err *err, const char *src)
{
	size_t off = 0, n = 0, asz = 0;

	while (off < len) {
		size_t nlen, esize, nbytes, dsz;
		uint64_t nb;
		int type;

		if (len - off < 2)
			return fd_err_set(err, FDEN_E_FORMAT, "%s: record %zu: truncated name length",
					  src, n);
		nlen = (size_t)get_le(p + off, 2);
		off += 2;
		if (nlen == 0)
			return fd_err_set(err, FDEN_E_FORMAT, "%s: record %zu: empty name", src, n);
		if (len - off < nlen + 9)
			return fd_err_set(err, FDEN_E_FORMAT, "%s: record %zu: truncated header", src,
					  n);
		if (memchr(p + off, '\0', nlen))
			return fd_err_set(err, FDEN_E_FORMAT, "%s: record %zu: NUL byte in its name",
					  src, n);
		type = p[off + nlen];
		esize = type_size(type);
		if (!esize)
			return fd_err_set(err, FDEN_E_FORMAT, "%s: record %zu: unknown type %d", src, n,
					  type);
		nb = get_le(p + off + nlen + 1, 8);
		if (nb > len - off - nlen - 9)
			return fd_err_set(err, FDEN_E_FORMAT,
					  "%s: record %zu: %llu data bytes, only %zu remain", src, n,
					  (unsigned long long)nb, len - off - nlen - 9);
		nbytes = (size_t)nb;
		if (nbytes % esize)
			return fd_err_set(err, FDEN_E_FORMAT,
					  "%s: record %zu: %zu bytes is not a whole number of %s", src,
					  n, nbytes, type_name(type));
		dsz = align_up(nbytes) + align_up(nlen + 1);
		if (out) {
			unsigned char *d = arena + asz;
			char *nm = (char *)d + align_up(nbytes);

			memcpy(nm, p + off, nlen);
			nm[nlen] = '\0';
			if (nbytes) {
				memcpy(d, p + off + nlen + 9, nbytes);
				to_le(d, nbytes, esize);
			}
			out[n].name = nm;
			out[n].type = type;
			out[n].count = nbytes / esize;
			out[n].data = nbytes ? d : NULL;
		}
		if (asz > SIZE_MAX - dsz)
			return fd_err_set(err, FDEN_E_OVERFLOW, "%s: records too large", src);
		asz += dsz;
		off += nlen + 9 + nbytes;
		n++;
	}
	*n_out = n;
	*arena_out = asz;
	return FDEN_OK;
}

static int r_parse(const unsigned char *buf, size_t len, uint32_t kind,
		   const struct fden_allocator *a, struct fd_err *err, const char *src,
		   struct fd_ckpt_reader **out)
{
	struct fd_ckpt_reader *r = NULL;
	unsigned char *payload = NULL;
	uint64_t version, fkind, usize, csize;
	uint32_t crc;
	size_t n = 0, asz = 0, i;
	int st;

	if (len < CKPT_HDR)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: truncated checkpoint (%zu bytes)", src,
				  len);
	if (memcmp(buf, CKPT_MAGIC, 8) != 0)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: not a libfden checkpoint (bad magic)",
				  src);
	version = get_le(buf + 8, 4);
	if (version == 0)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: bad checkpoint format version 0", src);
	if (version > CKPT_VERSION)
		return fd_err_set(err, FDEN_E_VERSION,
				  "%s: checkpoint format version %llu is newer than %u", src,
				  (unsigned long long)version, CKPT_VERSION);
	fkind = get_le(buf + 12, 4);
	if (fkind != kind)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: checkpoint holds kind %llu, expected %u",
				  src, (unsigned long long)fkind, kind);
	usize = get_le(buf + 16, 8);
	csize = get_le(buf + 24, 8);
	crc = (uint32_t)get_le(buf + 32, 4);
	if (csize > len - CKPT_HDR)
		return fd_err_set(err, FDEN_E_FORMAT,
				  "%s: truncated checkpoint (%llu compressed bytes expected, %zu present)",
				  src, (unsigned long long)csize, len - CKPT_HDR);
	if (csize < len - CKPT_HDR)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: %zu unexpected bytes after the payload",
				  src, (size_t)(len - CKPT_HDR - csize));
	if (usize > CKPT_MAX_PAYLOAD || usize > SIZE_MAX)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: payload of %llu bytes is over the limit",
				  src, (unsigned long long)usize);
	if (usize > csize * CKPT_MAX_RATIO + 1024)
		return fd_err_set(err, FDEN_E_CORRUPT,
				  "%s: %llu compressed bytes cannot hold %llu bytes", src,
				  (unsigned long long)csize, (unsigned long long)usize);
	if (usize) {
		payload = fd_malloc(a, (size_t)usize);
		if (!payload)
			return fd_err_set(err, FDEN_E_NOMEM, "%s: cannot allocate %llu bytes", src,
					  (unsigned long long)usize);
	}
	st = r_inflate(buf + CKPT_HDR, csize, payload, usize, a, err, src);
	if (!st && crc_of(payload, (size_t)usize) != crc)
		st = fd_err_set(err, FDEN_E_CORRUPT, "%s: CRC-32 mismatch (payload corrupt)", src);
	if (!st)
		st = r_walk(payload, (size_t)usize, NULL, NULL, &n, &asz, err, src);
	if (st)
		goto fail;
	r = fd_calloc(a, 1, sizeof *r);
	if (!r) {
		st = fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", src);
		goto fail;
	}
	r->a = keep_alloc(&r->alloc_copy, a);
	r->err = err;
	snprintf(r->src, sizeof r->src, "%s", src);
	if (n) {
		r->recs = fd_calloc(a, n, sizeof *r->recs);
		r->arena = fd_malloc(a, asz);
		if (!r->recs || !r->arena) {
			st = fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", src);
			goto fail;
		}
		st = r_walk(payload, (size_t)usize, r->recs, r->arena, &r->n, &asz, err, src);
		if (st)
			goto fail;
		qsort(r->recs, n, sizeof *r->recs, rec_cmp);
		for (i = 1; i < n; i++)
			if (strcmp(r->recs[i - 1].name, r->recs[i].name) == 0) {
				st = fd_err_set(err, FDEN_E_FORMAT, "%s: record '%s' appears twice", src,
						r->recs[i].name);
				goto fail;
			}
	}
	fd_free(a, payload);
	*out = r;
	return FDEN_OK;
fail:
	fd_free(a, payload);
	fd_ckpt_reader_free(r);
	return st;
}

int fd_ckpt_read_mem(const void *buf, size_t len, uint32_t kind, const struct fden_allocator *a,
		     struct fd_err *err, struct fd_ckpt_reader **out)
{
	if (!out || (!buf && len))
		return fd_err_set(err, FDEN_E_INVALID, "checkpoint: NULL argument");
	return r_parse(buf, len, kind, a, err, "<memory>", out);
}

int fd_ckpt_read(const char *path, uint32_t kind, const struct fden_allocator *a,
		 struct fd_err *err, struct fd_ckpt_reader **out)
{
	void *buf;
	size_t len;
	int st;

	if (!path || !out)
		return fd_err_set(err, FDEN_E_INVALID, "checkpoint: NULL argument");
	st = fd_file_read_all(path, a, CKPT_HDR + CKPT_MAX_PAYLOAD + (CKPT_MAX_PAYLOAD >> 8), err,
			      &buf, &len);
	if (st)
		return st;
	st = r_parse(buf, len, kind, a, err, path, out);
	fd_free(a, buf);
	return st;
}

int fd_ckpt_get(struct fd_ckpt_reader *r, const char *name, int type, size_t count,
		const void **data, size_t *count_out)
{
	struct rrec key, *hit;

	if (!r || !name || !data)
		return fd_err_set(r ? r->err : NULL, FDEN_E_INVALID, "checkpoint get: NULL argument");
	key.name = name;
	hit = r->n ? bsearch(&key, r->recs, r->n, sizeof *r->recs, rec_cmp) : NULL;
	if (!hit)
		return fd_err_set(r->err, FDEN_E_FORMAT, "%s: record '%s' is missing", r->src, name);
	if (hit->type != type)
		return fd_err_set(r->err, FDEN_E_FORMAT, "%s: record '%s' has type %s, expected %s",
				  r->src, name, type_name(hit->type), type_name(type));
	if (count && hit->count != count)
		return fd_err_set(r->err, FDEN_E_FORMAT,
				  "%s: record '%s' has %zu elements, expected %zu", r->src, name,
				  hit->count, count);
	*data = hit->data;
	if (count_out)
		*count_out = hit->count;
	return FDEN_OK;
}

size_t fd_ckpt_count(const struct fd_ckpt_reader *r)
{
	return r ? r->n : 0;
}

int fd_ckpt_record(const struct fd_ckpt_reader *r, size_t i, const char **name, int *type,
		   const void **data, size_t *count)
{
	if (!r || i >= r->n)
		return fd_err_set(r ? r->err : NULL, FDEN_E_INVALID, "checkpoint record %zu out of range",
				  i);
	if (name)
		*name = r->recs[i].name;
	if (type)
		*type = r->recs[i].type;
	if (data)
		*data = r->recs[i].data;
	if (count)
		*count = r->recs[i].count;
	return FDEN_OK;
}
