/* IDX reader: plain or gzip, from a file (gzread) or from memory (inflate),
 * every element type, streamed in chunks so a hostile header never makes
 * us allocate more than the data actually present (times two). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "io/idx.h"

#define CHUNK ((size_t)1 << 16)     /* multiple of every element size */
#define FIRST_CAP ((size_t)1 << 18) /* initial output elements */

/* A byte source: a gzFile, or memory (plain, or gzip through inflate). */
struct bsrc {
	const char *name;
	struct fd_err *err;
	const struct fden_allocator *a;
	gzFile gz;
	const unsigned char *mem;
	size_t len, off;
	int gzmem;       /* memory holds gzip: inflate it */
	int zinit, zend; /* inflate initialised / all members done */
	z_stream z;
};

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

static int mem_inflate(struct bsrc *s, unsigned char *buf, size_t n, size_t *got)
{
	int zr;

	if (!s->zinit) {
		memset(&s->z, 0, sizeof s->z);
		s->z.zalloc = z_alloc;
		s->z.zfree = z_free;
		s->z.opaque = (voidpf)s->a;
		zr = inflateInit2(&s->z, 15 + 16); /* gzip wrapper */
		if (zr != Z_OK)
			return fd_err_set(s->err, zr == Z_MEM_ERROR ? FDEN_E_NOMEM : FDEN_E_FORMAT,
					  "%s: inflateInit failed (%d)", s->name, zr);
		s->zinit = 1;
	}
	s->z.next_out = buf;
	s->z.avail_out = (uInt)n;
	while (s->z.avail_out > 0 && !s->zend) {
		if (s->z.avail_in == 0 && s->off < s->len) {
			size_t k = s->len - s->off > UINT_MAX ? UINT_MAX : s->len - s->off;

			s->z.next_in = (unsigned char *)s->mem + s->off;
			s->z.avail_in = (uInt)k;
			s->off += k;
		}
		zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			/* another gzip member follows? (trailing garbage is ignored, as gzread does) */
			if (s->z.avail_in == 0 && s->off < s->len) {
				s->z.next_in = (unsigned char *)s->mem + s->off;
				s->z.avail_in = 1;
				s->off++;
			}
			if (s->z.avail_in >= 1 && s->z.next_in[0] == 0x1f) {
				zr = inflateReset(&s->z);
				if (zr == Z_OK)
					continue;
			}
			s->zend = 1;
			break;
		}
		if (zr == Z_MEM_ERROR)
			return fd_err_set(s->err, FDEN_E_NOMEM, "%s: out of memory in inflate", s->name);
		if (zr == Z_BUF_ERROR && s->z.avail_in == 0 && s->off >= s->len)
			return fd_err_set(s->err, FDEN_E_FORMAT, "%s: gzip stream truncated", s->name);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return fd_err_set(s->err, FDEN_E_FORMAT, "%s: gzip data corrupt (%s)", s->name,
					  s->z.msg ? s->z.msg : "?");
	}
	*got = n - s->z.avail_out;
	return FDEN_OK;
}

/* Read up to n (<= CHUNK) bytes; *got < n only at the end of the data. */
static int src_read(struct bsrc *s, void *buf, size_t n, size_t *got)
{
	*got = 0;
	if (s->gz) {
		int r = gzread(s->gz, buf, (unsigned)n), zerr;
		const char *msg;

		if (r < 0) {
			msg = gzerror(s->gz, &zerr);
			if (zerr == Z_ERRNO)
				return fd_err_set(s->err, FDEN_E_IO, "%s: read failed: %s", s->name,
						  strerror(errno));
			if (zerr == Z_MEM_ERROR)
				return fd_err_set(s->err, FDEN_E_NOMEM, "%s: out of memory", s->name);
			return fd_err_set(s->err, FDEN_E_FORMAT, "%s: gzip data corrupt (%s)", s->name,
					  msg);
		}
		if ((size_t)r < n) {
			msg = gzerror(s->gz, &zerr);
			if (zerr == Z_BUF_ERROR)
				return fd_err_set(s->err, FDEN_E_FORMAT, "%s: gzip stream truncated",
						  s->name);
			if (zerr != Z_OK)
				return fd_err_set(s->err, FDEN_E_FORMAT, "%s: gzip error (%s)", s->name,
						  msg);
		}
		*got = (size_t)r;
		return FDEN_OK;
	}
	if (s->gzmem)
		return mem_inflate(s, buf, n, got);
	*got = s->len - s->off < n ? s->len - s->off : n;
	if (*got)
		memcpy(buf, s->mem + s->off, *got);
	s->off += *got;
	return FDEN_OK;
}

static void src_close(struct bsrc *s)
{
	if (s->gz)
		gzclose(s->gz); /* read-only: nothing to flush, nothing to report */
	if (s->zinit)
		inflateEnd(&s->z);
	s->gz = NULL;
	s->zinit = 0;
}

static size_t elem_size(int type)
{
	switch (type) {
	case FD_IDX_U8:
	case FD_IDX_I8: return 1;
	case FD_IDX_I16: return 2;
	case FD_IDX_I32:
	case FD_IDX_F32: return 4;
	case FD_IDX_F64: return 8;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Element i of a big-endian chunk as a double. */
static double elem(const unsigned char *p, int type, size_t i)
{
	uint64_t u;
	uint32_t v;
	float f;
	double d;

	switch (type) {
	case FD_IDX_U8: return p[i];
	case FD_IDX_I8: return (int8_t)p[i];
	case FD_IDX_I16: return (int16_t)(uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
	case FD_IDX_I32: return (int32_t)be32(p + 4 * i);
	case FD_IDX_F32:
		v = be32(p + 4 * i);
		memcpy(&f, &v, 4);
		return f;
	default:
		u = (uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4);
		memcpy(&d, &u, 8);
		return d;
	}
}

/* double -> float without the undefined behaviour of an out-of-range
 * conversion: beyond FLT_MAX gives +-inf, NaN stays NaN. */
static float to_f32(double d)
{
	if (d > FLT_MAX)
		return HUGE_VALF;
	if (d < -FLT_MAX)
		return -HUGE_VALF;
	return (float)d;
}

/* Grow an output array to hold at least need elements of esz bytes. */
static int grow(void **arr, size_t *cap, size_t used, size_t need, size_t total, size_t esz,
		struct bsrc *s)
{
	size_t nc = *cap ? *cap : (total < FIRST_CAP ? total : FIRST_CAP);
	void *p;

	if (need <= *cap)
		return FDEN_OK;
	while (nc < need)
		nc = nc > total / 2 ? total : nc * 2;
	p = fd_malloc(s->a, nc * esz); /* nc <= total, total*esz checked by the caller */
	if (!p)
		return fd_err_set(s->err, FDEN_E_NOMEM, "%s: cannot allocate %zu values", s->name, nc);
	if (used)
		memcpy(p, *arr, used * esz);
	fd_free(s->a, *arr);
	*arr = p;
	*cap = nc;
	return FDEN_OK;
}

static const char *type_name(int type)
{
	switch (type) {
	case FD_IDX_U8: return "ubyte";
	case FD_IDX_I8: return "byte";
	case FD_IDX_I16: return "short";
	case FD_IDX_I32: return "int";
	case FD_IDX_F32: return "float";
	case FD_IDX_F64: return "double";
	}
	return "?";
}

static int parse(struct bsrc *s, int want, double scale, struct fd_array *out)
{
	unsigned char hdr[4 * 256], *chunk = NULL;
	void *arr = NULL;
	size_t got, esize, total = 0, done = 0, cap = 0, osz, i;
	int type, ndim, d, st;

	memset(out, 0, sizeof *out);
	st = src_read(s, hdr, 4, &got);
	if (st)
		return st;
	if (got < 4)
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: truncated IDX header (%zu bytes)",
				  s->name, got);
	if (hdr[0] || hdr[1])
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: not an IDX file (bad magic %02x%02x)",
				  s->name, hdr[0], hdr[1]);
	type = hdr[2];
	ndim = hdr[3];
	esize = elem_size(type);
	if (!esize)
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: unknown IDX element type 0x%02x",
				  s->name, type);
	if (ndim == 0 || ndim > FD_ARRAY_MAX_DIMS)
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: %d dimensions (1 to %d supported)",
				  s->name, ndim, FD_ARRAY_MAX_DIMS);
	st = src_read(s, hdr, 4 * (size_t)ndim, &got);
	if (st)
		return st;
	if (got < 4 * (size_t)ndim)
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: truncated IDX header (%d sizes)",
				  s->name, ndim);
	out->ndim = ndim;
	out->cols = 1;
	for (d = 0; d < ndim; d++) {
		out->dims[d] = be32(hdr + 4 * d);
		if (out->dims[d] == 0)
			return fd_err_set(s->err, FDEN_E_FORMAT, "%s: dimension %d has size 0", s->name,
					  d);
		if (d > 0 && fd_mul_overflow(out->cols, (size_t)out->dims[d], &out->cols))
			return fd_err_set(s->err, FDEN_E_FORMAT, "%s: item size overflows", s->name);
	}
	out->rows = (size_t)out->dims[0];
	osz = want == FD_ARRAY_LABELS ? sizeof(int32_t) : sizeof(float);
	if (fd_mul_overflow(out->rows, out->cols, &total) || total > SIZE_MAX / 8)
		return fd_err_set(s->err, FDEN_E_FORMAT, "%s: %zu items of %zu values overflow",
				  s->name, out->rows, out->cols);
	if (want == FD_ARRAY_LABELS) {
		if (out->cols != 1)
			return fd_err_set(s->err, FDEN_E_FORMAT,
					  "%s: labels must be 1-D, found %d dimensions (%zu per item)",
					  s->name, ndim, out->cols);
		if (type == FD_IDX_F32 || type == FD_IDX_F64)
			return fd_err_set(s->err, FDEN_E_FORMAT,
					  "%s: labels must be integers, found %s", s->name,
					  type_name(type));
	}
	chunk = fd_malloc(s->a, CHUNK);
	if (!chunk)
		return fd_err_set(s->err, FDEN_E_NOMEM, "%s: out of memory", s->name);
	while (done < total) {
		size_t want_n = total - done < CHUNK / esize ? total - done : CHUNK / esize, k;

		st = src_read(s, chunk, want_n * esize, &got);
		if (st)
			goto fail;
		k = got / esize;
		if (k) {
			st = grow(&arr, &cap, done, done + k, total, osz, s);
			if (st)
				goto fail;
		}
		if (k == 0) {
			/* nothing whole arrived: arr may still be NULL */
		} else if (want == FD_ARRAY_LABELS) {
			int32_t *o = (int32_t *)arr + done;

			for (i = 0; i < k; i++)
				o[i] = (int32_t)elem(chunk, type, i);
		} else if (type == FD_IDX_U8) {
			float lut[256], *o = (float *)arr + done;

			for (i = 0; i < 256; i++)
				lut[i] = to_f32((double)i * scale); /* v * scale */
			for (i = 0; i < k; i++)
				o[i] = lut[chunk[i]];
		} else {
			float *o = (float *)arr + done;

			for (i = 0; i < k; i++)
				o[i] = to_f32(elem(chunk, type, i) * scale); /* v * scale */
		}
		done += k;
		if (got < want_n * esize) {
			st = fd_err_set(s->err, FDEN_E_FORMAT,
					"%s: truncated: %zu of %zu values of %zu items present", s->name,
					done, total, out->rows);
			goto fail;
		}
	}
	st = src_read(s, chunk, 1, &got);
	if (!st && got)
		st = fd_err_set(s->err, FDEN_E_FORMAT, "%s: unexpected bytes after %zu items",
				s->name, out->rows);
	if (st)
		goto fail;
	fd_free(s->a, chunk);
	if (want == FD_ARRAY_LABELS)
		out->i32 = arr;
	else
		out->f32 = arr;
	return FDEN_OK;
fail:
	fd_free(s->a, chunk);
	fd_free(s->a, arr);
	memset(out, 0, sizeof *out);
	return st;
}

static int check_args(int want, struct fd_array *out, struct fd_err *err)
{
	if (!out)
		return fd_err_set(err, FDEN_E_INVALID, "IDX: out is NULL");
	if (want != FD_ARRAY_FLOAT && want != FD_ARRAY_LABELS)
		return fd_err_set(err, FDEN_E_INVALID, "IDX: bad mode %d", want);
	return FDEN_OK;
}

int fd_idx_read(const char *path, int want, double scale, const struct fden_allocator *a,
		struct fd_err *err, struct fd_array *out)
{
	struct bsrc s;
	int st = check_args(want, out, err);

	if (st)
		return st;
	if (!path)
		return fd_err_set(err, FDEN_E_INVALID, "IDX: path is NULL");
	memset(&s, 0, sizeof s);
	s.name = path;
	s.err = err;
	s.a = a;
	errno = 0;
	s.gz = gzopen(path, "rb");
	if (!s.gz)
		return fd_err_set(err, errno ? FDEN_E_IO : FDEN_E_NOMEM, "%s: %s", path,
				  errno ? strerror(errno) : "out of memory");
	if (gzbuffer(s.gz, 1u << 17) != 0) {
		/* too late or bad size: keep zlib's default buffer */
	}
	st = parse(&s, want, scale, out);
	src_close(&s);
	return st;
}

int fd_idx_read_mem(const void *buf, size_t len, const char *name, int want, double scale,
		    const struct fden_allocator *a, struct fd_err *err, struct fd_array *out)
{
	struct bsrc s;
	int st = check_args(want, out, err);

	if (st)
		return st;
	if (!buf && len)
		return fd_err_set(err, FDEN_E_INVALID, "IDX: buffer is NULL");
	memset(&s, 0, sizeof s);
	s.name = name ? name : "<memory>";
	s.err = err;
	s.a = a;
	s.mem = buf;
	s.len = len;
	s.gzmem = len >= 2 && s.mem[0] == 0x1f && s.mem[1] == 0x8b;
	st = parse(&s, want, scale, out);
	src_close(&s);
	return st;
}
