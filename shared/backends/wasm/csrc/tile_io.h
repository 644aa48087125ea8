/*
 * Loading and storing the NR columns of one accumulator row where fewer than NR columns exist
 * (the last column tile of a channel count that is not a multiple of NR): never touches memory
 * past the last column, which may be the end of a tensor.
 */
#ifndef GLIMPSE_TILE_IO_H
#define GLIMPSE_TILE_IO_H

#include "common.h"

static inline v128_t load_cols4(const float *p, int32_t cols) {
  v128_t v = wasm_f32x4_const_splat(0.0f);
  switch (cols >= 4 ? 4 : cols) {
    case 4: return wasm_v128_load(p);
    case 3: v = wasm_v128_load32_lane(p + 2, v, 2); /* fall through */
    case 2: v = wasm_v128_load32_lane(p + 1, v, 1); /* fall through */
    case 1: v = wasm_v128_load32_lane(p, v, 0); break;
    default: break;
  }
  return v;
}

static inline void store_cols4(float *p, v128_t v, int32_t cols) {
  if (cols >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  switch (cols) {
    case 3: wasm_v128_store32_lane(p + 2, v, 2); /* fall through */
    case 2: wasm_v128_store32_lane(p + 1, v, 1); /* fall through */
    case 1: wasm_v128_store32_lane(p, v, 0); break;
    default: break;
  }
}

/* One row of NV accumulators to p[0, cols), cols <= NR. */
static inline void store_row(float *p, const v128_t *acc, int32_t cols) {
  if (cols >= NR) {
    UNROLL for (int v = 0; v < NV; v++) wasm_v128_store(p + 4 * v, acc[v]);
    return;
  }
  UNROLL for (int v = 0; v < NV; v++) store_cols4(p + 4 * v, acc[v], cols - 4 * v);
}

static inline void load_row(v128_t *acc, const float *p, int32_t cols) {
  if (cols >= NR) {
    UNROLL for (int v = 0; v < NV; v++) acc[v] = wasm_v128_load(p + 4 * v);
    return;
  }
  UNROLL for (int v = 0; v < NV; v++) acc[v] = load_cols4(p + 4 * v, cols - 4 * v);
}

#endif
