/*
 * The convolution engine of the forward pass and of the input gradient: an implicit GEMM over
 * MR output rows x NR output channels at a time (see igemm_job in jobs.h). Each output row
 * reads its taps straight from the NHWC input (one pointer per row and tap, a zero vector for
 * taps in the padding), so no im2col buffer is written; B comes packed by pack_filter so that
 * the k loop streams it sequentially.
 */
#include "common.h"
#include "jobs.h"
#include "tile_io.h"

static void igemm_tile(const igemm_job *J, int32_t p0, int32_t mr) {
  const int32_t ohw = J->oh * J->ow;
  const int32_t cin = J->cin;
  const float *xb[MR];
  int32_t iy0[MR], ix0[MR];
  float *orow[MR];
  UNROLL for (int r = 0; r < MR; r++) {
    /* Rows past the end repeat the last one; their results are never stored. */
    const int32_t p = p0 + MIN(r, mr - 1);
    const int32_t n = p / ohw;
    const int32_t rem = p - n * ohw;
    const int32_t oy = rem / J->ow;
    const int32_t ox = rem - oy * J->ow;
    xb[r] = J->x + n * J->h * J->w * cin;
    iy0[r] = oy * J->sh - J->pt;
    ix0[r] = ox * J->sw - J->pl;
    orow[r] = J->out + ((n * J->dh + oy * J->dsy + J->doy) * J->dw + ox * J->dsx + J->dox) * J->cout;
  }
  const int32_t K = J->th * J->tw * cin;
  const int32_t tiles = (J->cout + NR - 1) / NR;
  for (int32_t ct = 0; ct < tiles; ct++) {
    const int32_t cols = MIN(NR, J->cout - ct * NR);
    const float *w = J->wpack + ct * K * NR;
    v128_t acc[MR][NV];
    {
      v128_t b0[NV];
      if (J->bias) load_row(b0, J->bias + ct * NR, cols);
      else UNROLL for (int v = 0; v < NV; v++) b0[v] = wasm_f32x4_const_splat(0.0f);
      UNROLL for (int r = 0; r < MR; r++) UNROLL for (int v = 0; v < NV; v++) acc[r][v] = b0[v];
    }
    for (int32_t ty = 0; ty < J->th; ty++) {
      for (int32_t tx = 0; tx < J->tw; tx++) {
        const float *a[MR];
        UNROLL for (int r = 0; r < MR; r++) {
          const int32_t iy = iy0[r] + ty;
          const int32_t ix = ix0[r] + tx;
          const int inside = (uint32_t)iy < (uint32_t)J->h && (uint32_t)ix < (uint32_t)J->w;
          a[r] = inside ? xb[r] + (iy * J->w + ix) * cin : J->zero;
        }
        for (int32_t c = 0; c < cin; c++) {
          v128_t b[NV];
          UNROLL for (int v = 0; v < NV; v++) b[v] = wasm_v128_load(w + 4 * v);
          w += NR;
          UNROLL for (int r = 0; r < MR; r++) {
            const v128_t av = wasm_v128_load32_splat(a[r] + c);
            UNROLL for (int v = 0; v < NV; v++) acc[r][v] = MADD(av, b[v], acc[r][v]);
          }
        }
      }
    }
    if (J->relu) {
      const v128_t zero = wasm_f32x4_const_splat(0.0f);
      UNROLL for (int r = 0; r < MR; r++) UNROLL for (int v = 0; v < NV; v++) acc[r][v] = wasm_f32x4_pmax(acc[r][v], zero);
    }
    UNROLL for (int r = 0; r < MR; r++) {
      if (r < mr) store_row(orow[r] + ct * NR, acc[r], cols);
    }
  }
}

/* Runs tiles of MR output rows until the job's counter passes the last one. */
EXPORT(igemm_run)
void igemm_run(const igemm_job *J) {
  const int32_t rows = J->n * J->oh * J->ow;
  const int32_t tiles = (rows + MR - 1) / MR;
  for (int32_t t = next_item(J->counter); t < tiles; t = next_item(J->counter)) {
    const int32_t p0 = t * MR;
    igemm_tile(J, p0, MIN(MR, rows - p0));
  }
}
