/* FD_CLONES: compile a hot loop three times (AVX-512F, AVX2 and baseline)
 * and pick one at load time through an ifunc (GCC's target_clones). Off
 * where ifuncs break: clang 14 leaves the hidden clones unresolved at link
 * time, and the resolvers run before ThreadSanitizer's runtime is up (a
 * SIGSEGV at load). Every version keeps the same per-lane order, and
 * floating-point contraction is off (-std=c11 and -ffp-contract=off in
 * meson.build: AVX-512F brings FMA, which could otherwise fuse a * b + c
 * in that clone only), so results are the same bits on every CPU.
 * The AVX-512F clone: measured on AMD Zen 4, which runs 512-bit vectors
 * in two halves, the flow's element-wise evaluation sweeps took 30% less
 * time than with AVX2 (share of Dim 512 batch-4096 inference 16.8% ->
 * 12.8%). */
#ifndef FD_CORE_CLONES_H
#define FD_CORE_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__) && \
	!defined(__SANITIZE_ADDRESS__) && defined(__x86_64__)
#define FD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FD_CLONES
#endif

#endif
