/*
 * The filter gradient of a convolution (dw_job in jobs.h) as a GEMM whose rows are MR
 * consecutive input channels of one tap and whose reduction runs over output positions:
 * for one position the MR channels are contiguous in NHWC x and the NR output channels
 * contiguous in dy, so neither operand is repacked. Positions outside the input (padding)
 * contribute zero and are skipped. Output rows are taken in blocks so that the block's x and dy
 * stay in cache while every tile passes over them; the tile's accumulators stay in registers
 * across a block and are added to dw between blocks.
 */
#include "common.h"
#include "jobs.h"
#include "tile_io.h"

static inline int32_t ceil_div(int32_t a, int32_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int32_t floor_div(int32_t a, int32_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static void dw_tile(const dw_job *J, int32_t row0, int32_t row1, int32_t ky, int32_t kx, int32_t ci0, int32_t mr,
                    int32_t ct, int32_t first, int32_t lo, int32_t hi) {
  const int32_t cin = J->cin, cout = J->cout;
  const int32_t cols = MIN(NR, cout - ct * NR);
  float *dst[MR];
  UNROLL for (int r = 0; r < MR; r++) dst[r] = J->dw + ((ky * J->kw + kx) * cin + ci0 + MIN(r, mr - 1)) * cout + ct * NR;
  v128_t acc[MR][NV];
  UNROLL for (int r = 0; r < MR; r++) {
    if (first) UNROLL for (int v = 0; v < NV; v++) acc[r][v] = wasm_f32x4_const_splat(0.0f);
    else load_row(acc[r], dst[r], cols);
  }
  const int32_t xstep = J->sw * cin;
  for (int32_t row = row0; row < row1; row++) {
    const int32_t n = row / J->oh;
    const int32_t oy = row - n * J->oh;
    const int32_t iy = oy * J->sh - J->pt + ky;
    if ((uint32_t)iy >= (uint32_t)J->h) continue;
    const float *xa = J->x + ((n * J->h + iy) * J->w + lo * J->sw + kx - J->pl) * cin + ci0;
    const float *g = J->dy + (row * J->ow + lo) * cout + ct * NR;
    int32_t off[MR];
    UNROLL for (int r = 0; r < MR; r++) off[r] = MIN(r, mr - 1);
    if (cols == NR) {
      for (int32_t ox = lo; ox < hi; ox++) {
        v128_t b[NV];
        UNROLL for (int v = 0; v < NV; v++) b[v] = wasm_v128_load(g + 4 * v);
        UNROLL for (int r = 0; r < MR; r++) {
          const v128_t av = wasm_v128_load32_splat(xa + off[r]);
          UNROLL for (int v = 0; v < NV; v++) acc[r][v] = MADD(av, b[v], acc[r][v]);
        }
        xa += xstep;
        g += cout;
      }
    } else {
      for (int32_t ox = lo; ox < hi; ox++) {
        v128_t b[NV];
        UNROLL for (int v = 0; v < NV; v++) b[v] = load_cols4(g + 4 * v, cols - 4 * v);
        UNROLL for (int r = 0; r < MR; r++) {
          const v128_t av = wasm_v128_load32_splat(xa + off[r]);
          UNROLL for (int v = 0; v < NV; v++) acc[r][v] = MADD(av, b[v], acc[r][v]);
        }
        xa += xstep;
        g += cout;
      }
    }
  }
  UNROLL for (int r = 0; r < MR; r++) {
    if (r < mr) store_row(dst[r], acc[r], cols);
  }
}

static void dw_group(const dw_job *J, int32_t group) {
  const int32_t ctiles_in = (J->cin + MR - 1) / MR;
  const int32_t ktiles = J->kh * J->kw * ctiles_in;
  const int32_t k0 = group * ktiles / J->groups;
  const int32_t k1 = (group + 1) * ktiles / J->groups;
  const int32_t rows = J->n * J->oh;
  const int32_t cotiles = (J->cout + NR - 1) / NR;
  const int32_t rpb = MAX(1, J->rows_per_block);
  for (int32_t row0 = 0; row0 < rows; row0 += rpb) {
    const int32_t row1 = MIN(rows, row0 + rpb);
    for (int32_t kt = k0; kt < k1; kt++) {
      const int32_t tap = kt / ctiles_in;
      const int32_t ci0 = (kt - tap * ctiles_in) * MR;
      const int32_t ky = tap / J->kw;
      const int32_t kx = tap - ky * J->kw;
      /* Output columns whose input column ox*sw - pl + kx lies inside [0, w). */
      const int32_t lo = MAX(0, ceil_div(J->pl - kx, J->sw));
      const int32_t hi = MIN(J->ow, floor_div(J->w - 1 + J->pl - kx, J->sw) + 1);
      for (int32_t ct = 0; ct < cotiles; ct++) {
        dw_tile(J, row0, row1, ky, kx, ci0, MIN(MR, J->cin - ci0), ct, row0 == 0, lo, MAX(lo, hi));
      }
    }
  }
}

/* Runs groups of dw row tiles until the job's counter passes the last group. */
EXPORT(dw_run)
void dw_run(const dw_job *J) {
  for (int32_t g = next_item(J->counter); g < J->groups; g = next_item(J->counter)) dw_group(J, g);
}
