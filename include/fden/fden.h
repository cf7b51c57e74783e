/**
 * @file fden.h
 * libfden: plug-in latent-space disentanglement (FDEN, Yoon & Suk) for a
 * host's frozen, pretrained encoder/decoder. The one header to include.
 *
 * THREAD SAFETY
 * libfden has no global mutable state except the thread-local detail
 * message behind fden_last_error(). Distinct handles may be used from
 * distinct threads freely. One handle may be used from one thread at a time,
 * with one exception: fden_disentangle(), fden_entangle(), fden_predict(),
 * fden_disentangler_run(), fden_entangler_run(), fden_factorizer_align() and
 * fden_model_save() may run concurrently from many threads on one model while
 * no thread trains, loads into or frees it. Randomness is owned by handles
 * and seeded; the same seed and thread count give the same bits. Host
 * callbacks are called from the thread that called into libfden.
 *
 * FILES
 * Every save (fden_model_save(), fden_invnet_save(), fden_npy_save_f32(),
 * fden_npy_save_i32(), fden_png_save_gray()) writes "PATH.tmp.PID.XXXXXX"
 * next to PATH, fsyncs it, renames it over PATH and fsyncs the directory:
 * a crash leaves the old file or the new one, whole. PATH must be absent or
 * a regular file; a device, FIFO, socket or directory is never replaced or
 * written (FDEN_E_IO, "not a regular file ...: refusing to replace it"). A
 * symbolic link is followed (the file it names is replaced, the link kept).
 * Each save first removes PATH's temporary files left by a writer that was
 * killed (their PID no longer runs). Loaders read regular files only and
 * allocate no more than the file's records actually hold: a header or
 * configuration claiming sizes the records do not have is refused
 * (FDEN_E_FORMAT) before any allocation of that size.
 */
#ifndef FDEN_FDEN_H
#define FDEN_FDEN_H

#include <fden/version.h>
#include <fden/core.h>
#include <fden/model.h>
#include <fden/invnet.h>
#include <fden/io.h>
#include <fden/data.h>

#endif /* FDEN_FDEN_H */
