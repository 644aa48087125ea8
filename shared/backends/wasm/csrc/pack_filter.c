/*
 * Packs (part of) a conv filter W [kh, kw, wci, wco] into the B panels of the IGEMM:
 *   dst[ct][t][c][j], t = ty*tw + tx over the th x tw taps, c < cin_g, j < NR,
 *   value W[ky][kx][c][ct*NR + j]      (forward: cin_g = wci, cout_g = wco)
 *   or    W[ky][kx][ct*NR + j][c]      (transposed, for the input gradient: cin_g = wco, cout_g = wci),
 *   ky = ky0 + ty*kys, kx = kx0 + tx*kxs (a negative step flips the filter), 0 beyond cout_g.
 * Packed panels are read sequentially by the micro-kernel, NR columns per k step.
 */
#include "common.h"

EXPORT(pack_filter)
void pack_filter(float *dst, const float *W, int32_t kw, int32_t wci, int32_t wco, int32_t th, int32_t tw,
                 int32_t ky0, int32_t kys, int32_t kx0, int32_t kxs, int32_t transposed) {
  const int32_t cin_g = transposed ? wco : wci;
  const int32_t cout_g = transposed ? wci : wco;
  const int32_t tiles = (cout_g + NR - 1) / NR;
  for (int32_t ct = 0; ct < tiles; ct++) {
    for (int32_t ty = 0; ty < th; ty++) {
      for (int32_t tx = 0; tx < tw; tx++) {
        const float *tap = W + ((ky0 + ty * kys) * kw + (kx0 + tx * kxs)) * wci * wco;
        for (int32_t c = 0; c < cin_g; c++) {
          for (int32_t j = 0; j < NR; j++) {
            const int32_t col = ct * NR + j;
            float v = 0.0f;
            if (col < cout_g) v = transposed ? tap[col * wco + c] : tap[c * wco + col];
            *dst++ = v;
          }
        }
      }
    }
  }
}
