/*
 * Shared definitions of Glimpse's WebAssembly SIMD convolution kernels.
 *
 * The module owns no memory: it imports the linear memory it works on (tfjs-backend-wasm's own
 * heap, or a shared memory for the multi-threaded pool) and must never place data there by
 * itself — no globals, no static tables (the build script rejects a module with a data
 * segment). Every pointer is an address in that memory, handed over by the JavaScript side.
 *
 * Register blocking follows the shape of XNNPACK's wasm SIMD f32 GEMM micro-kernels
 * (github.com/google/XNNPACK, src/f32-gemm): an MR x NR tile of accumulators held in v128
 * registers, one broadcast element of A per row and NR/4 vectors of B per k step. V8 gives
 * WebAssembly 15 allocatable xmm registers on x86-64, which bounds MR * NR / 4 + NR / 4 + 1.
 */
#ifndef GLIMPSE_COMMON_H
#define GLIMPSE_COMMON_H

#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

#ifndef GLIMPSE_MR
#define GLIMPSE_MR 4
#endif
#ifndef GLIMPSE_NR
#define GLIMPSE_NR 8
#endif
#define MR GLIMPSE_MR
#define NR GLIMPSE_NR
/** v128 vectors per NR columns. */
#define NV (NR / 4)

/* acc + a * b: one fused instruction where the engine has relaxed SIMD, else mul then add. */
#if defined(GLIMPSE_RELAXED)
#define MADD(a, b, acc) __builtin_wasm_relaxed_madd_f32x4((a), (b), (acc))
#else
#define MADD(a, b, acc) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (acc))
#endif

/* Work items are handed out through a counter in memory, so that any number of threads (one
 * wasm instance each, on a shared memory) can share one job. */
#if defined(GLIMPSE_THREADS)
static inline int32_t next_item(int32_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }
#else
static inline int32_t next_item(int32_t *counter) { return (*counter)++; }
#endif

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNROLL _Pragma("clang loop unroll(full)")

#endif
