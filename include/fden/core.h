/**
 * @file core.h
 * Status codes, error details, version, allocator and logging: the parts of
 * the libfden API every other header uses. Include <fden/fden.h> instead.
 */
#ifndef FDEN_CORE_H
#define FDEN_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fden/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a call exported from libfden (default visibility while building it). */
#if defined(FDEN_BUILDING) && defined(__GNUC__)
#define FDEN_EXPORT __attribute__((visibility("default")))
#else
#define FDEN_EXPORT
#endif

/** A status the caller must look at (warn_unused_result). */
#if defined(__GNUC__)
#define FDEN_WUR __attribute__((warn_unused_result))
#else
#define FDEN_WUR
#endif
/** A printf-style format at argument fmt, its arguments from args. */
#if defined(__GNUC__)
#define FDEN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FDEN_PRINTF(fmt, args)
#endif

/**
 * Status codes. The values are part of the ABI and never change; new codes
 * are only ever appended. Every function that can fail returns one of these
 * as an int (0 on success, a negative value on failure).
 */
enum fden_status {
	FDEN_OK = 0,              /**< success */
	FDEN_E_INVALID = -1,      /**< an argument is invalid (NULL, zero size, out of range) */
	FDEN_E_NOMEM = -2,        /**< an allocation failed */
	FDEN_E_SHAPE = -3,        /**< sizes or widths do not match */
	FDEN_E_IO = -4,           /**< a file could not be opened, read or written */
	FDEN_E_FORMAT = -5,       /**< a file is malformed or truncated */
	FDEN_E_VERSION = -6,      /**< a file or plug-in has an unsupported version */
	FDEN_E_CORRUPT = -7,      /**< a checksum does not match */
	FDEN_E_NONFINITE = -8,    /**< NaN or infinity in input, loss or gradients */
	FDEN_E_HOST = -9,         /**< a host callback (invertible network) failed */
	FDEN_E_STATE = -10,       /**< the call is not valid in the object's current state */
	FDEN_E_OVERFLOW = -11,    /**< a size computation overflows */
	FDEN_E_UNSUPPORTED = -12, /**< the operation is not supported by this object */
};

/**
 * A static, human-readable message for a status code.
 * @param status a value of enum fden_status (or any int)
 * @return a string that is never NULL and must not be freed ("unknown
 *         status" for values that are not status codes)
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT const char *fden_strerror(int status);

/**
 * Detail of the most recent failure in the calling thread: which argument,
 * which size was expected, which file. Every failing call sets it, with or
 * without a handle; successful calls leave it alone.
 * @return a thread-local string owned by the library, valid until the next
 *         failing call in this thread; "" when nothing failed yet
 * @note Thread safety: each thread reads its own message.
 * @since 0.1
 */
FDEN_EXPORT const char *fden_last_error(void);

/**
 * The library's version at run time, as "MAJOR.MINOR.PATCH". Compare with
 * FDEN_VERSION_STRING to detect header/library mismatch.
 * @return a static string
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT const char *fden_version(void);

/**
 * The run-time version as FDEN_VERSION_NUMBER.
 * @return MAJOR * 10000 + MINOR * 100 + PATCH of the loaded library
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT unsigned fden_version_number(void);

/**
 * A custom allocator. Passed to constructors and loaders; the object keeps a
 * copy of the struct and uses it for all its memory. NULL means malloc/free.
 */
struct fden_allocator {
	/** required: return size bytes or NULL. */
	void *(*alloc)(void *user_data, size_t size);
	/** required: release a pointer returned by alloc (never called with NULL). */
	void (*free)(void *user_data, void *ptr);
	/** optional: passed back to alloc and free. */
	void *user_data;
};

/** Log priorities for the log callback. */
enum fden_log_level {
	FDEN_LOG_ERROR = 10,
	FDEN_LOG_INFO = 20, /**< progress of training, one line per report */
	FDEN_LOG_DEBUG = 30,
};

/**
 * Log callback. libfden never prints: messages reach the host only through
 * a callback registered on a handle.
 * @param user_data what was registered with the callback
 * @param level an enum fden_log_level value
 * @param format printf format
 * @param args its arguments
 */
typedef void (*fden_log_fn)(void *user_data, int level, const char *format,
			    va_list args) FDEN_PRINTF(3, 0);

#ifdef __cplusplus
}
#endif

#endif /* FDEN_CORE_H */
