/**
 * Conv2DBackpropInput on XNNPACK: the fallback of kernels/Conv2DBackpropInput.ts where
 * Glimpse's SIMD kernels are not loaded (stock tfjs-backend-wasm's is a scalar loop):
 *   dx[n,iy,ix,ci] = sum dy[n,oy,ox,co] W[ky,kx,ci,co] over iy = oy*s+ky-pt.
 *
 * Stride 1: a plain conv of dy with the flipped, in/out-swapped filter (XNNPACK).
 * Stride s > 1, sub-pixel: output rows iy = a*s + py of one phase (py, px) only receive taps
 *   ky = ky0 + j*s with ky0 = (py + pt) mod s, so each of the s*s phases is a stride-1 conv of
 *   dy with a sub-filter (XNNPACK, same FLOPs as the forward conv), interleaved into dx in JS.
 * Otherwise (a phase would need negative padding): dcols = dy @ W^T ([N*Ho*Wo, Co] @
 *   [Co, kh*kw*Ci], XNNPACK), then col2im in JS.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alias, alloc, allocZeros, free, heapF32, off, releaseAlias, transpose2d } from '../heap';
import { checkFloat, checkNHWC, convInfo, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { callStock, gemm } from '../stock-kernels';

/** One axis of a sub-pixel phase: taps k0, k0+s, ... and the stride-1 conv padding that reads them. */
interface PhaseAxis {
  /** Output positions of this phase: i = a*s + p for a in [0, count). */
  count: number;
  k0: number;
  taps: number;
  padBefore: number;
  padAfter: number;
}

function phaseAxis(p: number, s: number, k: number, pad: number, inSize: number, outSize: number): PhaseAxis {
  const count = Math.max(0, Math.ceil((inSize - p) / s));
  const k0 = (((p + pad) % s) + s) % s;
  const taps = k0 < k ? Math.ceil((k - k0) / s) : 0;
  const d = (p + pad - k0) / s;
  const padBefore = taps - 1 - d;
  const padAfter = count - outSize - padBefore + taps - 1;
  return { count, k0, taps, padBefore, padAfter };
}

/** Conv2DBackpropInput for strides > 1 as s*s stride-1 convs; null if a phase needs negative padding. */
function dxSubPixel(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo | null {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = info;
  const { outChannels: Co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const ys: PhaseAxis[] = [];
  const xs: PhaseAxis[] = [];
  for (let p = 0; p < sh; p++) ys.push(phaseAxis(p, sh, kh, info.padInfo.top, H, Ho));
  for (let p = 0; p < sw; p++) xs.push(phaseAxis(p, sw, kw, info.padInfo.left, W, Wo));
  const usable = (a: PhaseAxis) => a.count === 0 || a.taps === 0 || (a.padBefore >= 0 && a.padAfter >= 0);
  if (!ys.every(usable) || !xs.every(usable)) return null;

  const dx = allocZeros(backend, [N, H, W, Ci]);
  for (let py = 0; py < sh; py++) {
    for (let px = 0; px < sw; px++) {
      const ay = ys[py];
      const ax = xs[px];
      if (ay.count === 0 || ax.count === 0 || ay.taps === 0 || ax.taps === 0) continue; // stays zero
      // f[ty, tx, co, ci] = W[ky0 + (Jy-1-ty)*sh, kx0 + (Jx-1-tx)*sw, ci, co]
      const f = alloc(backend, [ay.taps, ax.taps, Co, Ci]);
      let h = heapF32(backend);
      const fo = off(backend, filter);
      const so = off(backend, f);
      for (let ty = 0; ty < ay.taps; ty++) {
        for (let tx = 0; tx < ax.taps; tx++) {
          const ky = ay.k0 + (ay.taps - 1 - ty) * sh;
          const kx = ax.k0 + (ax.taps - 1 - tx) * sw;
          transpose2d(h, fo + (ky * kw + kx) * Ci * Co, so + (ty * ax.taps + tx) * Co * Ci, Ci, Co);
        }
      }
      const y = callStock('Conv2D', backend, { x: dy, filter: f }, {
        strides: [1, 1],
        pad: [[0, 0], [ay.padBefore, ay.padAfter], [ax.padBefore, ax.padAfter], [0, 0]],
        dilations: [1, 1],
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
      });
      free(backend, f);
      // Interleave y [N, count_y, count_x, Ci] into dx.
      h = heapF32(backend);
      const yo = off(backend, y);
      const xo = off(backend, dx);
      for (let n = 0; n < N; n++) {
        for (let a = 0; a < ay.count; a++) {
          const src0 = yo + ((n * ay.count + a) * ax.count) * Ci;
          const dst0 = xo + ((n * H + a * sh + py) * W + px) * Ci;
          for (let b = 0; b < ax.count; b++) {
            const src = src0 + b * Ci;
            const dst = dst0 + b * sw * Ci;
            for (let c = 0; c < Ci; c++) h[dst + c] = h[src + c];
          }
        }
      }
      free(backend, y);
    }
  }
  return dx;
}

/** Images per chunk so that a [chunk*rowsPerImage, cols] temp stays near `budget` floats. */
function chunkImages(N: number, rowsPerImage: number, cols: number, budget = 4 << 20): number {
  return Math.max(1, Math.min(N, Math.floor(budget / Math.max(1, rowsPerImage * cols))));
}

export function conv2DBackpropInputXnnpack(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  checkFloat('Conv2DBackpropInput', dy, filter);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, false);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = info;
  const { outChannels: Co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  if (sh === 1 && sw === 1) {
    const top = kh - 1 - pt;
    const left = kw - 1 - pl;
    const bottom = H + pt - Ho;
    const right = W + pl - Wo;
    if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
      // wf[ky,kx,co,ci] = W[kh-1-ky, kw-1-kx, ci, co]
      const wf = alloc(backend, [kh, kw, Co, Ci]);
      const h = heapF32(backend);
      const fo = off(backend, filter);
      const wo = off(backend, wf);
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const src = fo + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * Ci * Co;
          const dst = wo + (ky * kw + kx) * Co * Ci;
          transpose2d(h, src, dst, Ci, Co);
        }
      }
      const out = callStock('Conv2D', backend, { x: dy, filter: wf }, {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dilations: [1, 1],
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
      });
      free(backend, wf);
      return out;
    }
  }

  if (sh > 1 || sw > 1) {
    const dx = dxSubPixel(backend, dy, filter, info);
    if (dx != null) return dx;
  }

  // General path: matmul + col2im.
  const K = kh * kw * Ci;
  const wt = alloc(backend, [Co, K]);
  transpose2d(heapF32(backend), off(backend, filter), off(backend, wt), K, Co);
  const dx = allocZeros(backend, [N, H, W, Ci]);
  const chunk = chunkImages(N, Ho * Wo, K);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0);
    const dyc = alias(backend, dy, n0 * Ho * Wo * Co, [nb * Ho * Wo, Co]);
    const cols = gemm(backend, dyc, wt);
    releaseAlias(backend, dyc);
    const h = heapF32(backend);
    const co = off(backend, cols);
    const xo = off(backend, dx);
    for (let n = 0; n < nb; n++) {
      const img = xo + (n0 + n) * H * W * Ci;
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          let src = co + ((n * Ho + oy) * Wo + ox) * K;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh + ky - pt;
            if (iy < 0 || iy >= H) {
              src += kw * Ci;
              continue;
            }
            for (let kx = 0; kx < kw; kx++, src += Ci) {
              const ix = ox * sw + kx - pl;
              if (ix < 0 || ix >= W) continue;
              const dst = img + (iy * W + ix) * Ci;
              for (let c = 0; c < Ci; c++) h[dst + c] += h[src + c];
            }
          }
        }
      }
    }
    free(backend, cols);
  }
  free(backend, wt);
  return dx;
}

