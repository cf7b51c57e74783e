/* A checkpoint container: named, typed arrays in one zlib-compressed file.
 *
 * File: magic "FDENCKPT", u32 format version, u32 kind (what the file holds:
 * model, PCA, autoencoder), u64 uncompressed size, u64 compressed size,
 * u32 CRC-32 of the uncompressed payload, then the zlib stream. Payload: a
 * sequence of records {u16 name length, name, u8 type, u64 byte count, bytes}.
 * All integers little-endian. Written to "path.tmp.XXXXXX", fsync'd, renamed
 * over path, then the directory fsync'd: a crash leaves the old file whole. */
#ifndef FD_IO_CKPT_H
#define FD_IO_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <fden/core.h>
#include "core/error.h"

enum fd_ckpt_type { FD_CKPT_F32 = 1,
		    FD_CKPT_I32 = 2,
		    FD_CKPT_U64 = 3,
		    FD_CKPT_F64 = 4,
		    FD_CKPT_BYTES = 5 };
enum fd_ckpt_kind { FD_CKPT_MODEL = 1,
		    FD_CKPT_PCA = 2,
		    FD_CKPT_AE = 3,
		    FD_CKPT_CONV = 4 /* conv autoencoder */,
		    FD_CKPT_ALI = 5 /* ALI host */ };

struct fd_ckpt_writer;
struct fd_ckpt_reader;

int fd_ckpt_writer_new(uint32_t kind, const struct fden_allocator *a, struct fd_err *err,
		       struct fd_ckpt_writer **out);
/* Append a record; data is copied. count is in elements of `type`. */
int fd_ckpt_put(struct fd_ckpt_writer *w, const char *name, int type, const void *data,
		size_t count);
/* Compress, write atomically to path, free w (also on failure). */
int fd_ckpt_write(struct fd_ckpt_writer *w, const char *path);
void fd_ckpt_writer_free(struct fd_ckpt_writer *w);

/* Read and verify (magic, version, kind, sizes, CRC) a whole file. */
int fd_ckpt_read(const char *path, uint32_t kind, const struct fden_allocator *a,
		 struct fd_err *err, struct fd_ckpt_reader **out);
/* Same, from memory (for fuzzing). */
int fd_ckpt_read_mem(const void *buf, size_t len, uint32_t kind, const struct fden_allocator *a,
		     struct fd_err *err, struct fd_ckpt_reader **out);
/* Find a record: FDEN_E_FORMAT (detail names it) when missing or when its
 * type or element count differs from what is asked (count 0 = any; the
 * found count goes to *count_out when not NULL). *data is borrowed. */
int fd_ckpt_get(struct fd_ckpt_reader *r, const char *name, int type, size_t count,
		const void **data, size_t *count_out);
void fd_ckpt_reader_free(struct fd_ckpt_reader *r);

/* Appended by the io owner. The writer and reader keep `err` (borrowed) for
 * later calls: it must outlive them. Record names are 1..65535 bytes, no NUL;
 * a writer rejects a repeated name (FDEN_E_INVALID), a reader a file with
 * one (FDEN_E_FORMAT). Record data handed out by fd_ckpt_get is 64-byte
 * aligned. A failed put is sticky: fd_ckpt_write then fails with its status.
 * Limits: 4 GiB uncompressed. */
/* Number of records; the i-th in name order (any output may be NULL). */
size_t fd_ckpt_count(const struct fd_ckpt_reader *r);
int fd_ckpt_record(const struct fd_ckpt_reader *r, size_t i, const char **name, int *type,
		   const void **data, size_t *count);

#endif
