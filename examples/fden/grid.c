/* Tiled gray image grids written as PNG. */
#include <stdlib.h>
#include <string.h>

#include <fden/fden.h>
#include "grid.h"

int grid_init(struct grid *g, size_t cols, size_t rows, size_t tw, size_t th)
{
	g->cols = cols;
	g->rows = rows;
	g->tw = tw;
	g->th = th;
	g->w = cols * (tw + 1) + 1; /* 1-pixel gaps, borders included */
	g->h = rows * (th + 1) + 1;
	g->pix = malloc(g->w * g->h * sizeof *g->pix);
	if (!g->pix)
		return -1;
	grid_clear(g);
	return 0;
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
	size_t x0 = 1 + col * (g->tw + 1), y0 = 1 + row * (g->th + 1);
	for (size_t y = 0; y < g->th; y++)
		memcpy(g->pix + (y0 + y) * g->w + x0, img + y * g->tw, g->tw * sizeof *img);
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
