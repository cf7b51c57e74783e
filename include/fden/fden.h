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
 */
#ifndef FDEN_FDEN_H
#define FDEN_FDEN_H

#include <fden/version.h>
#include <fden/core.h>
#include <fden/model.h>
#include <fden/invnet.h>
#include <fden/data.h>

#endif /* FDEN_FDEN_H */
