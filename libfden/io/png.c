/* PNG writer: signature, IHDR, IDAT (zlib), IEND; CRC-32 per chunk. */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include <fden/io.h>
#include "core/alloc.h"
#include "io/file.h"
#include "io/png.h"

#define PNG_MAX_DIM 0x7FFFFFFFu
#define IDAT_MAX ((size_t)1 << 30)

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One chunk: u32 length, 4-byte type, data, CRC-32 of type + data. */
static int put_chunk(struct fd_afile *f, const char *type, const unsigned char *data, size_t n)
{
	unsigned char b[8];
	uLong crc = crc32(0L, Z_NULL, 0);
	int st;

	be32(b, (uint32_t)n);
	memcpy(b + 4, type, 4);
	crc = crc32(crc, b + 4, 4);
	if (n)
		crc = crc32_z(crc, data, n);
	st = fd_afile_write(f, b, 8);
	if (!st && n)
		st = fd_afile_write(f, data, n);
	be32(b, (uint32_t)crc);
	if (!st)
		st = fd_afile_write(f, b, 4);
	return st;
}

int fd_png_write_gray8(const char *path, const uint8_t *pix, size_t width, size_t height,
		       struct fd_err *err)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char ihdr[13], *raw, *z;
	size_t rawlen, y, off;
	uLongf zlen;
	struct fd_afile f;
	int st, zr;

	if (!path || !pix)
		return fd_err_set(err, FDEN_E_INVALID, "png: NULL argument");
	if (width == 0 || height == 0 || width > PNG_MAX_DIM || height > PNG_MAX_DIM)
		return fd_err_set(err, FDEN_E_INVALID, "%s: bad image size %zu x %zu", path, width,
				  height);
	if (fd_mul_overflow(width + 1, height, &rawlen))
		return fd_err_set(err, FDEN_E_OVERFLOW, "%s: image too large", path);
	raw = fd_malloc(NULL, rawlen);
	if (!raw)
		return fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", path);
	for (y = 0; y < height; y++) {
		raw[y * (width + 1)] = 0; /* filter type None */
		memcpy(raw + y * (width + 1) + 1, pix + y * width, width);
	}
	zlen = compressBound((uLong)rawlen);
	z = fd_malloc(NULL, zlen);
	if (!z) {
		fd_free(NULL, raw);
		return fd_err_set(err, FDEN_E_NOMEM, "%s: out of memory", path);
	}
	zr = compress2(z, &zlen, raw, (uLong)rawlen, 6);
	fd_free(NULL, raw);
	if (zr != Z_OK) {
		fd_free(NULL, z);
		return fd_err_set(err, zr == Z_MEM_ERROR ? FDEN_E_NOMEM : FDEN_E_IO,
				  "%s: compress failed (%d)", path, zr);
	}
	be32(ihdr, (uint32_t)width);
	be32(ihdr + 4, (uint32_t)height);
	ihdr[8] = 8;  /* bit depth */
	ihdr[9] = 0;  /* color type: grayscale */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering, filter bytes per row */
	ihdr[12] = 0; /* no interlace */
	st = fd_afile_open(&f, path, err);
	if (!st)
		st = fd_afile_write(&f, sig, 8);
	if (!st)
		st = put_chunk(&f, "IHDR", ihdr, 13);
	for (off = 0; !st && off < zlen; off += IDAT_MAX)
		st = put_chunk(&f, "IDAT", z + off, zlen - off < IDAT_MAX ? zlen - off : IDAT_MAX);
	if (!st)
		st = put_chunk(&f, "IEND", NULL, 0);
	fd_free(NULL, z);
	if (st) {
		fd_afile_abort(&f);
		return st;
	}
	return fd_afile_commit(&f);
}

FDEN_EXPORT int fden_png_save_gray(const char *path, const float *pixels, size_t width,
				   size_t height)
{
	uint8_t *pix;
	size_t n, i;
	int st;

	if (!path || !pixels)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_png_save_gray: NULL argument");
	if (width == 0 || height == 0)
		return fd_err_set(NULL, FDEN_E_INVALID, "fden_png_save_gray: %zu x %zu image", width,
				  height);
	if (width > PNG_MAX_DIM || height > PNG_MAX_DIM) /* before allocating width x height */
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "fden_png_save_gray: %zu x %zu image (PNG sides are at most %u)",
				  width, height, PNG_MAX_DIM);
	if (fd_mul_overflow(width, height, &n))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "fden_png_save_gray: size overflows");
	pix = fd_malloc(NULL, n);
	if (!pix)
		return fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory", path);
	for (i = 0; i < n; i++) {
		float v = pixels[i];

		v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* clamp to [0,1]; NaN -> 0 */
		pix[i] = (uint8_t)lrintf(v * 255.0f);
	}
	st = fd_png_write_gray8(path, pix, width, height, NULL);
	fd_free(NULL, pix);
	return st;
}
