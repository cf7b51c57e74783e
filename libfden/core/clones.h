/* FD_CLONES: compile a hot loop twice (AVX2 and baseline) and pick one at
 * load time through an ifunc (GCC's target_clones). Off where ifuncs break:
 * clang 14 leaves the hidden clones unresolved at link time, and the
 * resolvers run before ThreadSanitizer's runtime is up (a SIGSEGV at load).
 * Both versions keep the same per-lane order, so results are the same bits. */
#ifndef FD_CORE_CLONES_H
#define FD_CORE_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__) && \
	!defined(__SANITIZE_ADDRESS__) && defined(__x86_64__)
#define FD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FD_CLONES
#endif

#endif
