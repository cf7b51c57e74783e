/* NumPy .npy reader (a strict little parser for the header dict) and
 * writer (atomic, version 1.0 header padded to 64 bytes). */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fden/io.h>
#include "io/file.h"
#include "io/npy.h"

#define NPY_MAX_FILE ((uint64_t)1 << 40)

struct dtype {
	char kind;   /* 'f', 'i', 'u', 'b' */
	size_t size; /* bytes */
};

struct hdr {
	const char *p, *end;
	const char *name;
	struct fd_err *err;
};

static void skip_ws(struct hdr *h)
{
	while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
		h->p++;
}

static int bad(struct hdr *h, const char *what)
{
	return fd_err_set(h->err, FDEN_E_FORMAT, "%s: bad .npy header: %s", h->name, what);
}

/* A quoted string ('...' or "...", no escapes) into buf. */
static int get_str(struct hdr *h, char *buf, size_t cap)
{
	char q;
	size_t n = 0;

	skip_ws(h);
	if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
		return bad(h, "expected a string");
	q = *h->p++;
	while (h->p < h->end && *h->p != q) {
		if (*h->p == '\\' || n + 1 >= cap)
			return bad(h, "string too long or escaped");
		buf[n++] = *h->p++;
	}
	if (h->p >= h->end)
		return bad(h, "unterminated string");
	h->p++;
	buf[n] = '\0';
	return FDEN_OK;
}

static int expect(struct hdr *h, char c)
{
	char msg[32];

	skip_ws(h);
	if (h->p < h->end && *h->p == c) {
		h->p++;
		return FDEN_OK;
	}
	snprintf(msg, sizeof msg, "expected '%c'", c);
	return bad(h, msg);
}

static int word(struct hdr *h, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
		h->p += n;
		return 1;
	}
	return 0;
}

static int get_shape(struct hdr *h, struct fd_array *out)
{
	int st = expect(h, '(');

	if (st)
		return st;
	out->ndim = 0;
	for (;;) {
		uint64_t v = 0;
		int digits = 0;

		skip_ws(h);
		if (h->p < h->end && *h->p == ')') {
			h->p++;
			return FDEN_OK;
		}
		while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
			unsigned dg = (unsigned)(*h->p++ - '0');

			if (v > (UINT64_MAX - dg) / 10)
				return fd_err_set(h->err, FDEN_E_FORMAT, "%s: .npy shape overflows",
						  h->name);
			v = v * 10 + dg;
			digits++;
		}
		if (!digits)
			return bad(h, "shape holds something other than sizes");
		if (h->p < h->end && *h->p == 'L') /* Python 2 long */
			h->p++;
		if (out->ndim == FD_ARRAY_MAX_DIMS)
			return bad(h, "too many dimensions");
		out->dims[out->ndim++] = v;
		skip_ws(h);
		if (h->p < h->end && *h->p == ',')
			h->p++;
		else if (h->p >= h->end || *h->p != ')')
			return bad(h, "expected ',' or ')' in shape");
	}
}

static int parse_descr(struct hdr *h, const char *s, struct dtype *dt)
{
	char order = s[0];
	unsigned long sz;
	char *endp;

	if (order != '<' && order != '>' && order != '|' && order != '=')
		return fd_err_set(h->err, FDEN_E_FORMAT, "%s: unsupported dtype '%s'", h->name, s);
	dt->kind = s[1];
	if (!dt->kind || !strchr("fiub", dt->kind) || s[2] < '0' || s[2] > '9')
		return fd_err_set(h->err, FDEN_E_FORMAT, "%s: unsupported dtype '%s'", h->name, s);
	sz = strtoul(s + 2, &endp, 10);
	if (*endp || !((dt->kind == 'f' && (sz == 4 || sz == 8)) ||
		       ((dt->kind == 'i' || dt->kind == 'u') &&
			(sz == 1 || sz == 2 || sz == 4 || sz == 8)) ||
		       (dt->kind == 'b' && sz == 1)))
		return fd_err_set(h->err, FDEN_E_FORMAT, "%s: unsupported dtype '%s'", h->name, s);
	dt->size = sz;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	if (order == '=')
		order = '>';
#endif
	if (sz > 1 && order != '<' && order != '=')
		return fd_err_set(h->err, FDEN_E_FORMAT,
				  "%s: dtype '%s' is not little-endian (only '<' is read)", h->name, s);
	return FDEN_OK;
}

static int parse_header(struct hdr *h, struct dtype *dt, struct fd_array *out)
{
	char key[32], val[32];
	int have_descr = 0, have_fo = 0, have_shape = 0, st;

	st = expect(h, '{');
	if (st)
		return st;
	for (;;) {
		skip_ws(h);
		if (h->p < h->end && *h->p == '}') {
			h->p++;
			break;
		}
		st = get_str(h, key, sizeof key);
		if (!st)
			st = expect(h, ':');
		if (st)
			return st;
		skip_ws(h);
		if (strcmp(key, "descr") == 0 && !have_descr) {
			if (h->p < h->end && *h->p == '[')
				return fd_err_set(h->err, FDEN_E_FORMAT,
						  "%s: structured dtypes are not supported", h->name);
			st = get_str(h, val, sizeof val);
			if (!st)
				st = parse_descr(h, val, dt);
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
			if (word(h, "True"))
				return fd_err_set(h->err, FDEN_E_FORMAT,
						  "%s: fortran_order is True (only C order is read; "
						  "save with np.ascontiguousarray)",
						  h->name);
			if (!word(h, "False"))
				return bad(h, "fortran_order is neither True nor False");
			have_fo = 1;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			st = get_shape(h, out);
			have_shape = 1;
		} else {
			return bad(h, "unknown or repeated key");
		}
		if (st)
			return st;
		skip_ws(h);
		if (h->p < h->end && *h->p == ',')
			h->p++;
		else if (h->p >= h->end || *h->p != '}')
			return bad(h, "expected ',' or '}'");
	}
	skip_ws(h);
	if (h->p != h->end)
		return bad(h, "bytes after the dict");
	if (!have_descr || !have_fo || !have_shape)
		return bad(h, "missing descr, fortran_order or shape");
	return FDEN_OK;
}

static uint64_t le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static int npy_le_host(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return 1;
#else
	return 0;
#endif
}

int fd_npy_read_mem(const void *buf, size_t len, const char *name, int want,
		    const struct fden_allocator *a, struct fd_err *err, struct fd_array *out)
{
	const unsigned char *b = buf, *data;
	struct hdr h;
	struct dtype dt = { 0, 0 };
	size_t pre, hlen, total, nbytes, i;
	int major, d;

	if (!out || (!buf && len))
		return fd_err_set(err, FDEN_E_INVALID, "npy: NULL argument");
	if (want != FD_ARRAY_FLOAT && want != FD_ARRAY_LABELS && want != FD_ARRAY_VIEW)
		return fd_err_set(err, FDEN_E_INVALID, "npy: bad mode %d", want);
	memset(out, 0, sizeof *out);
	name = name ? name : "<memory>";
	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: not a .npy file (bad magic)", name);
	major = b[6];
	if (major < 1 || major > 3)
		return fd_err_set(err, major > 3 ? FDEN_E_VERSION : FDEN_E_FORMAT,
				  "%s: .npy format version %d.%d not supported", name, major, b[7]);
	pre = major == 1 ? 10 : 12;
	if (len < pre)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: truncated .npy header", name);
	hlen = (size_t)le(b + 8, major == 1 ? 2 : 4);
	if (hlen > len - pre)
		return fd_err_set(err, FDEN_E_FORMAT, "%s: truncated .npy header (%zu bytes expected)",
				  name, hlen);
	h.p = (const char *)b + pre;
	h.end = h.p + hlen;
	h.name = name;
	h.err = err;
	d = parse_header(&h, &dt, out);
	if (d)
		goto fail_hdr;
	if (out->ndim == 0) {
		d = fd_err_set(err, FDEN_E_FORMAT, "%s: a scalar, not an array of rows", name);
		goto fail_hdr;
	}
	out->cols = 1;
	for (i = 0; i < (size_t)out->ndim; i++) {
		if (out->dims[i] == 0 || out->dims[i] > SIZE_MAX) {
			d = fd_err_set(err, FDEN_E_FORMAT, "%s: dimension %zu has size %llu", name, i,
				       (unsigned long long)out->dims[i]);
			goto fail_hdr;
		}
		if (i > 0 && fd_mul_overflow(out->cols, (size_t)out->dims[i], &out->cols)) {
			d = fd_err_set(err, FDEN_E_FORMAT, "%s: item size overflows", name);
			goto fail_hdr;
		}
	}
	out->rows = (size_t)out->dims[0];
	if (fd_mul_overflow(out->rows, out->cols, &total) || total > SIZE_MAX / 8) {
		d = fd_err_set(err, FDEN_E_FORMAT, "%s: shape overflows", name);
		goto fail_hdr;
	}
	nbytes = total * dt.size;
	data = b + pre + hlen;
	if (len - pre - hlen < nbytes) {
		d = fd_err_set(err, FDEN_E_FORMAT, "%s: truncated: %zu data bytes, %zu expected", name,
			       len - pre - hlen, nbytes);
		goto fail_hdr;
	}
	if (len - pre - hlen > nbytes) {
		d = fd_err_set(err, FDEN_E_FORMAT, "%s: %zu unexpected bytes after the data", name,
			       len - pre - hlen - nbytes);
		goto fail_hdr;
	}
	if (want == FD_ARRAY_LABELS) {
		int32_t *o;

		if (out->cols != 1) {
			d = fd_err_set(err, FDEN_E_FORMAT,
				       "%s: labels must be 1-D, found %zu values per row", name,
				       out->cols);
			goto fail_hdr;
		}
		if (dt.kind == 'f') {
			d = fd_err_set(err, FDEN_E_FORMAT, "%s: labels must be integers, found f%zu",
				       name, dt.size);
			goto fail_hdr;
		}
		o = fd_malloc(a, total * sizeof *o);
		if (!o) {
			d = fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", name);
			goto fail_hdr;
		}
		for (i = 0; i < total; i++) {
			uint64_t u = le(data + i * dt.size, dt.size);
			int64_t v;

			if (dt.kind == 'i' && dt.size < 8 && (u >> (8 * dt.size - 1)) & 1)
				u |= ~(uint64_t)0 << (8 * dt.size); /* sign-extend */
			v = (int64_t)u;
			if ((dt.kind == 'u' && u > INT32_MAX) || v > INT32_MAX || v < INT32_MIN) {
				fd_free(a, o);
				d = fd_err_set(err, FDEN_E_FORMAT,
					       "%s: label at row %zu does not fit in int32", name, i);
				goto fail_hdr;
			}
			o[i] = (int32_t)v;
		}
		out->i32 = o;
	} else if (want == FD_ARRAY_VIEW && npy_le_host() && dt.kind == 'f' && dt.size == 4 &&
		   (uintptr_t)data % 64 == 0) {
		out->f32 = (float *)(uintptr_t)data; /* the caller's bytes, as they are */
		out->view = 1;
	} else {
		float *o = fd_malloc(a, total * sizeof *o);

		if (!o) {
			d = fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", name);
			goto fail_hdr;
		}
		for (i = 0; i < total; i++) {
			uint64_t u = le(data + i * dt.size, dt.size);

			if (dt.kind == 'f' && dt.size == 4) {
				uint32_t w = (uint32_t)u;

				memcpy(&o[i], &w, 4);
			} else if (dt.kind == 'f') {
				double x;

				memcpy(&x, &u, 8);
				/* out-of-range double -> float is undefined: saturate to +-inf */
				o[i] = x > FLT_MAX ? HUGE_VALF : x < -FLT_MAX ? -HUGE_VALF
									      : (float)x;
			} else if (dt.kind == 'i') {
				if (dt.size < 8 && (u >> (8 * dt.size - 1)) & 1)
					u |= ~(uint64_t)0 << (8 * dt.size);
				o[i] = (float)(int64_t)u;
			} else {
				o[i] = (float)u;
			}
		}
		out->f32 = o;
	}
	return FDEN_OK;
fail_hdr:
	memset(out, 0, sizeof *out);
	return d;
}

int fd_npy_read(const char *path, int want, const struct fden_allocator *a,
		struct fd_err *err, struct fd_array *out)
{
	void *buf;
	size_t len;
	int st;

	if (!path || !out)
		return fd_err_set(err, FDEN_E_INVALID, "npy: NULL argument");
	st = fd_file_read_all(path, a, NPY_MAX_FILE, err, &buf, &len);
	if (st)
		return st;
	st = fd_npy_read_mem(buf, len, path, want, a, err, out);
	fd_free(a, buf);
	return st;
}

int fd_npy_map(const char *path, const struct fden_allocator *a, struct fd_err *err,
	       struct fd_array *out, void **map, size_t *map_len)
{
	struct stat st;
	void *p;
	int fd, rc;

	if (!path || !out || !map || !map_len)
		return fd_err_set(err, FDEN_E_INVALID, "npy: NULL argument");
	*map = NULL;
	*map_len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd_err_set(err, FDEN_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 10 ||
	    (uint64_t)st.st_size > NPY_MAX_FILE || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return fd_npy_read(path, FD_ARRAY_FLOAT, a, err, out); /* its own checks */
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fd_npy_read(path, FD_ARRAY_FLOAT, a, err, out);
	rc = fd_npy_read_mem(p, (size_t)st.st_size, path, FD_ARRAY_VIEW, a, err, out);
	if (rc || !out->view) { /* failed, or converted into memory of its own */
		munmap(p, (size_t)st.st_size);
		return rc;
	}
	*map = p;
	*map_len = (size_t)st.st_size;
	return FDEN_OK;
}

int fd_npy_write(const char *path, const char *descr, const void *data, size_t rows,
		 size_t cols, int ndim, struct fd_err *err)
{
	char dict[384];
	unsigned char pre[12];
	size_t dlen, pad, hlen, plen, esize = 4, nbytes, total;
	struct fd_afile f;
	int st;

	if (!path || !descr || !data)
		return fd_err_set(err, FDEN_E_INVALID, "npy write: NULL argument");
	if (strcmp(descr, "<f4") && strcmp(descr, "<i4"))
		return fd_err_set(err, FDEN_E_INVALID, "npy write: dtype '%s' not supported", descr);
	if (rows == 0 || (ndim == 2 && cols == 0) || (ndim != 1 && ndim != 2))
		return fd_err_set(err, FDEN_E_INVALID, "npy write: empty or bad shape");
	if (ndim == 1)
		cols = 1;
	if (fd_mul_overflow(rows, cols, &total) || fd_mul_overflow(total, esize, &nbytes))
		return fd_err_set(err, FDEN_E_OVERFLOW, "npy write: %zu x %zu overflows", rows, cols);
	if (ndim == 1)
		dlen = (size_t)snprintf(dict, sizeof dict,
					"{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
					descr, rows);
	else
		dlen = (size_t)snprintf(dict, sizeof dict,
					"{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
					descr, rows, cols);
	plen = 10; /* version 1.0 unless the header cannot fit a u16 (never here) */
	pad = 64 - (plen + dlen + 1) % 64;
	if (pad == 64)
		pad = 0;
	hlen = dlen + pad + 1; /* dict, spaces, '\n': prefix + hlen is a multiple of 64 */
	memset(dict + dlen, ' ', pad);
	dict[hlen - 1] = '\n';
	memcpy(pre, "\x93NUMPY\x01\x00", 8);
	pre[8] = (unsigned char)hlen;
	pre[9] = (unsigned char)(hlen >> 8);
	st = fd_afile_open(&f, path, err);
	if (st)
		return st;
	st = fd_afile_write(&f, pre, plen);
	if (!st)
		st = fd_afile_write(&f, dict, hlen);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	{
		const unsigned char *s = data;
		unsigned char tmp[4096];
		size_t i, k;

		for (i = 0; !st && i < nbytes; i += k) {
			k = nbytes - i < sizeof tmp ? nbytes - i : sizeof tmp;
			for (size_t j = 0; j < k; j += 4) {
				tmp[j] = s[i + j + 3];
				tmp[j + 1] = s[i + j + 2];
				tmp[j + 2] = s[i + j + 1];
				tmp[j + 3] = s[i + j];
			}
			st = fd_afile_write(&f, tmp, k);
		}
	}
#else
	if (!st)
		st = fd_afile_write(&f, data, nbytes);
#endif
	if (st) {
		fd_afile_abort(&f);
		return st;
	}
	return fd_afile_commit(&f);
}

FDEN_EXPORT int fden_npy_save_f32(const char *path, const float *x, size_t rows, size_t cols)
{
	return fd_npy_write(path, "<f4", x, rows, cols, 2, NULL);
}

FDEN_EXPORT int fden_npy_save_i32(const char *path, const int32_t *v, size_t n)
{
	return fd_npy_write(path, "<i4", v, n, 1, 1, NULL);
}
