/* Image grids: tiles of w x h gray images, each pixel drawn as a zoom x zoom
 * block, with gaps between tiles, saved as PNG through the library's
 * fden_png_save_gray(). */
#ifndef FDEN_CLI_GRID_H
#define FDEN_CLI_GRID_H

#include <stddef.h>
#include <stdint.h>

#define GRID_MIN_TILE 84 /* pixels: the default zoom makes a tile at least this wide */

struct grid {
	size_t cols, rows, tw, th; /* tiles across, down; tile width, height (image pixels) */
	size_t zoom, gap;          /* pixel block size; gap between tiles (1, or 2 when zoomed) */
	size_t w, h;               /* pixels */
	float *pix;                /* h x w, row-major, in [0, 1] */
};

/* The smallest integer zoom that makes a tile of width tw and height th at
 * least GRID_MIN_TILE pixels on its shorter side (1 for large tiles). */
size_t grid_auto_zoom(size_t tw, size_t th);
/* 0 or -1 (out of memory, or zoom 0). Gaps and empty tiles are mid-gray. */
int grid_init_zoom(struct grid *g, size_t cols, size_t rows, size_t tw, size_t th, size_t zoom);
/* grid_init_zoom with zoom 1. */
int grid_init(struct grid *g, size_t cols, size_t rows, size_t tw, size_t th);
/* Every pixel mid-gray again. */
void grid_clear(struct grid *g);
/* Tile (col, row) from tw*th floats in [0, 1] (the PNG writer clamps;
 * NULL leaves the tile empty). */
void grid_put(struct grid *g, size_t col, size_t row, const float *img);
/* An fden status. */
int grid_save(const struct grid *g, const char *path);
void grid_free(struct grid *g);

#endif
