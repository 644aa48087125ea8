/*
 * The 128-bit SIMD ceiling of this engine and CPU: 12 independent multiply-add chains (enough
 * to cover the latency of the multiply-add units), no memory traffic. One call performs
 * iterations * 12 * 8 floating-point operations (4 lanes, multiply and add).
 */
#include "common.h"

EXPORT(fma_peak)
float fma_peak(int32_t iterations, float seed) {
  const v128_t m = wasm_f32x4_splat(0.999999f);
  const v128_t a = wasm_f32x4_splat(seed * 1e-7f);
  v128_t acc[12];
  UNROLL for (int i = 0; i < 12; i++) acc[i] = wasm_f32x4_splat(seed + (float)i);
  for (int32_t it = 0; it < iterations; it++) {
    UNROLL for (int i = 0; i < 12; i++) acc[i] = MADD(acc[i], m, a);
  }
  v128_t s = acc[0];
  UNROLL for (int i = 1; i < 12; i++) s = wasm_f32x4_add(s, acc[i]);
  return wasm_f32x4_extract_lane(s, 0);
}
