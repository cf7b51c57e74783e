/* PNG writer: decoded by our own zlib-based checker (signature, chunk CRCs,
 * IHDR, inflated rows) and by PIL when python3 has it. */
#include <math.h>
#include <stdint.h>
#include <zlib.h>

#include "../testutil.h"
#include "core/error.h"
#include "io/png.h"
#include <fden/data.h>

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decode our own PNG subset; returns malloc'd w*h pixels. */
static unsigned char *decode(const unsigned char *b, size_t len, size_t *w, size_t *h)
{
	unsigned char *idat = NULL, *raw, *pix;
	size_t off = 8, ilen = 0, y;
	uLongf rl;
	int seen_end = 0;

	ck_assert_uint_ge(len, 8);
	ck_assert_mem_eq(b, "\x89PNG\r\n\x1a\n", 8);
	while (off + 12 <= len) {
		uint32_t n = rd32(b + off);
		uLong crc = crc32(0L, b + off + 4, 4 + n);

		ck_assert_uint_le(off + 12 + n, len);
		ck_assert_uint_eq(crc, rd32(b + off + 8 + n));
		if (!memcmp(b + off + 4, "IHDR", 4)) {
			ck_assert_uint_eq(n, 13);
			*w = rd32(b + off + 8);
			*h = rd32(b + off + 12);
			ck_assert_int_eq(b[off + 16], 8);
			ck_assert_int_eq(b[off + 17], 0);
		} else if (!memcmp(b + off + 4, "IDAT", 4)) {
			idat = realloc(idat, ilen + n + 1);
			memcpy(idat + ilen, b + off + 8, n);
			ilen += n;
		} else if (!memcmp(b + off + 4, "IEND", 4)) {
			seen_end = 1;
		}
		off += 12 + n;
	}
	ck_assert_uint_eq(off, len);
	ck_assert(seen_end);
	rl = (*w + 1) * *h;
	raw = malloc(rl);
	ck_assert_int_eq(uncompress(raw, &rl, idat, ilen), Z_OK);
	ck_assert_uint_eq(rl, (*w + 1) * *h);
	pix = malloc(*w * *h);
	for (y = 0; y < *h; y++) {
		ck_assert_int_eq(raw[y * (*w + 1)], 0);
		memcpy(pix + y * *w, raw + y * (*w + 1) + 1, *w);
	}
	free(raw);
	free(idat);
	return pix;
}

START_TEST(test_png)
{
	const size_t W = 37, H = 23;
	float *img = malloc(W * H * sizeof *img);
	unsigned char *b, *pix;
	char path[512], cmd[1024];
	size_t i, len, w = 0, h = 0;

	for (i = 0; i < W * H; i++)
		img[i] = (float)(i % 300) / 256.0f - 0.1f; /* some below 0, some above 1 */
	img[5] = NAN;
	tu_mkdir();
	tu_path(path, sizeof path, "g.png");
	ck_assert_int_eq(fden_png_save_gray(path, img, W, H), 0);
	ck_assert_int_eq(tu_count_files(), 1);
	b = tu_slurp(path, &len);
	pix = decode(b, len, &w, &h);
	ck_assert_uint_eq(w, W);
	ck_assert_uint_eq(h, H);
	for (i = 0; i < W * H; i++) {
		float v = i == 5 ? 0.0f : fminf(fmaxf(img[i], 0.0f), 1.0f);

		ck_assert_int_eq(pix[i], (int)lrintf(v * 255.0f));
	}
	/* PIL agrees, when available */
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 -c \"import sys\ntry:\n from PIL import Image\n"
		 "except ImportError:\n sys.exit(77)\n"
		 "im = Image.open('%s'); im.load()\n"
		 "assert im.mode == 'L' and im.size == (%zu, %zu), (im.mode, im.size)\n"
		 "assert im.getpixel((1, 0)) == %d and im.getpixel((%zu, %zu)) == %d\" 2>&1",
		 path, W, H, pix[1], W - 1, H - 1, pix[W * H - 1]);
	if (access("/usr/bin/python3", X_OK) == 0) {
		int rc = system(cmd);

		ck_assert_msg(rc == 0 || WEXITSTATUS(rc) == 77, "PIL check failed: %d", rc);
	}
	free(pix);
	free(b);
	/* errors */
	ck_assert_int_eq(fden_png_save_gray(path, img, 0, H), FDEN_E_INVALID);
	ck_assert_int_eq(fden_png_save_gray(NULL, img, W, H), FDEN_E_INVALID);
	/* a side over 2^31-1 is INVALID, as documented, before any allocation */
	ck_assert_int_eq(fden_png_save_gray(path, img, SIZE_MAX / 2, 4), FDEN_E_INVALID);
	ck_assert_int_eq(fden_png_save_gray(path, img, (size_t)1 << 31, (size_t)1 << 31),
			 FDEN_E_INVALID);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "at most"));
	tu_path(path, sizeof path, "nodir/g.png");
	ck_assert_int_eq(fden_png_save_gray(path, img, W, H), FDEN_E_IO);
	ck_assert_ptr_nonnull(strstr(fden_last_error(), "nodir/g.png"));
	free(img);
	tu_rmdir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("png");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_png);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
