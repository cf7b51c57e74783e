/* Tiled gray image grids written as PNG. */
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "grid.h"

size_t grid_auto_zoom(size_t tw, size_t th)
{
	size_t s = tw < th ? tw : th;
	if (!s)
		return 1;
	return s >= GRID_MIN_TILE ? 1 : (GRID_MIN_TILE + s - 1) / s; /* ceil(84 / s) */
}

int grid_init_zoom(struct grid *g, size_t cols, size_t rows, size_t tw, size_t th, size_t zoom)
{
	if (!zoom)
		return -1;
	g->cols = cols;
	g->rows = rows;
	g->tw = tw;
	g->th = th;
	g->zoom = zoom;
	g->gap = zoom > 1 ? 2 : 1;
	g->w = cols * (tw * zoom + g->gap) + g->gap; /* gaps, borders included */
	g->h = rows * (th * zoom + g->gap) + g->gap;
	g->pix = malloc(g->w * g->h * sizeof *g->pix);
	if (!g->pix)
		return -1;
	grid_clear(g);
	return 0;
}

int grid_init(struct grid *g, size_t cols, size_t rows, size_t tw, size_t th)
{
	return grid_init_zoom(g, cols, rows, tw, th, 1);
}

void grid_clear(struct grid *g)
{
	for (size_t i = 0; i < g->w * g->h; i++)
		g->pix[i] = 0.5f;
}

void grid_put(struct grid *g, size_t col, size_t row, const float *img)
{
	if (!img || col >= g->cols || row >= g->rows)
		return;
	size_t z = g->zoom, x0 = g->gap + col * (g->tw * z + g->gap);
	size_t y0 = g->gap + row * (g->th * z + g->gap);
	for (size_t y = 0; y < g->th * z; y++) {
		float *dst = g->pix + (y0 + y) * g->w + x0;
		const float *src = img + (y / z) * g->tw;
		for (size_t x = 0; x < g->tw * z; x++)
			dst[x] = src[x / z]; /* nearest neighbour: each pixel a z x z block */
	}
}

int grid_save(const struct grid *g, const char *path)
{
	return fden_png_save_gray(path, g->pix, g->w, g->h);
}

void grid_free(struct grid *g)
{
	free(g->pix);
	g->pix = NULL;
}
