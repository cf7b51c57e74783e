/* Image grids: tiles of w x h gray images with 1-pixel gaps, saved as PNG
 * through the library's fden_png_save_gray(). */
#ifndef FDEN_CLI_GRID_H
#define FDEN_CLI_GRID_H

#include <stddef.h>
#include <stdint.h>

struct grid {
	size_t cols, rows, tw, th; /* tiles across, down; tile width, height */
	size_t w, h;               /* pixels */
	float *pix;                /* h x w, row-major, in [0, 1] */
};

/* 0 or -1 (out of memory). Gaps and empty tiles are mid-gray. */
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
