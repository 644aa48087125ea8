/**
 * Conv2DBackpropFilter on XNNPACK: the fallback of kernels/Conv2DBackpropFilter.ts where
 * Glimpse's SIMD kernels are not loaded (missing from stock tfjs-backend-wasm 4.22):
 *   dW[ky,kx,ci,co] = sum_{n,oy,ox} x[n, oy*s+ky-pt, ox*s+kx-pl, ci] dy[n,oy,ox,co]
 *
 * dW = colsT @ dy, with colsT [kh*kw*Ci, positions] the transposed im2col of x, on XNNPACK's
 * batch-1 MatMul, a chunk of columns at a time so that the packed dy chunk stays in cache.
 * Building colsT element by element in JS costs more than the product itself, so the default
 * path makes every row of colsT one contiguous memmove ("shifted windows"):
 *   split x (padded) into s*s stride phases, channel-major, on a grid of Hq x Wq positions per
 *   image (Hq = Ho + (kh-1)/s). Then tap (ky, kx) of channel ci at grid position j is
 *   phase[ky%s][kx%s][ci][j + (ky/s)*Wq + kx/s], a window of one array, and dy is embedded in
 *   the same grid with zeros where oy >= Ho or ox >= Wo, which cancels the windows' overhang.
 * The grid wastes Hq*Wq/(Ho*Wo) - 1 of the FLOPs (13% at 32x32, 56% at 8x8); above 35% waste
 * the plain im2col path is used instead.
 *
 * NB: wasm's native Conv3DBackpropFilterV2 is wrong for stride > 1; nothing here uses it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alias, alloc, free, heapF32, off, releaseAlias, transpose2d } from '../heap';
import { checkFloat, checkNHWC, convInfo, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { gemm } from '../stock-kernels';

/** Floats per colsT chunk (K rows x columns). */
const DW_CHUNK_FLOATS = 1_200_000;
/** Grid-over-output area above which shifted windows waste more than im2col costs. */
const DW_MAX_GRID_WASTE = 1.35;

function dwChunkColumns(K: number): number {
  const c = 2 ** Math.round(Math.log2(DW_CHUNK_FLOATS / K));
  return Math.max(512, Math.min(8192, c));
}

export function conv2DBackpropFilterXnnpack(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  checkFloat('Conv2DBackpropFilter', x, dy);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, false);
  const { outHeight: Ho, outWidth: Wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const Hq = Ho + Math.floor((kh - 1) / sh);
  const Wq = Wo + Math.floor((kw - 1) / sw);
  const acc = (Hq * Wq) / (Ho * Wo) <= DW_MAX_GRID_WASTE
    ? dwShiftedWindows(backend, x, dy, info, Hq, Wq)
    : dwIm2col(backend, x, dy, info);
  const out = alloc(backend, filterShape);
  heapF32(backend).set(acc, off(backend, out));
  return out;
}

/** Runs colsT chunk @ dy chunk on XNNPACK and adds the [K, Co] product into `acc`. */
function accumulateGemm(backend: BackendWasm, colsT: TensorInfo, dyRows: TensorInfo, acc: Float64Array): void {
  const r = gemm(backend, colsT, dyRows);
  const h = heapF32(backend);
  const ro = off(backend, r);
  for (let i = 0; i < acc.length; i++) acc[i] += h[ro + i];
  free(backend, r);
}

function dwShiftedWindows(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  Hq: number,
  Wq: number,
): Float64Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = info;
  const { outChannels: Co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const K = kh * kw * Ci;
  const G = N * Hq * Wq;
  const tail = Math.floor((kh - 1) / sh) * Wq + Math.floor((kw - 1) / sw);
  const stride = G + tail; // floats per channel row of a phase plane
  // Only the phases some tap reads.
  const phaseIndex = new Map<number, number>();
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const ph = (ky % sh) * sw + (kx % sw);
      if (!phaseIndex.has(ph)) phaseIndex.set(ph, phaseIndex.size);
    }
  }
  const planes = alloc(backend, [phaseIndex.size, Ci, stride]);
  const dyPad = alloc(backend, [G, Co]);
  const Mc = dwChunkColumns(K);
  const colsT = alloc(backend, [K, Math.min(Mc, G)]);
  let h = heapF32(backend);
  {
    const xo = off(backend, x);
    const po = off(backend, planes);
    for (const [ph, idx] of phaseIndex) {
      const py = Math.floor(ph / sw);
      const px = ph % sw;
      const base = po + idx * Ci * stride;
      // Valid grid columns b: 0 <= b*sw + px - pl < W.
      const bLo = Math.min(Wq, Math.max(0, Math.ceil((pl - px) / sw)));
      const bHi = Math.max(bLo, Math.min(Wq, Math.floor((W - 1 + pl - px) / sw) + 1));
      for (let n = 0; n < N; n++) {
        for (let a = 0; a < Hq; a++) {
          const iy = a * sh + py - pt;
          const pos = (n * Hq + a) * Wq;
          if (iy < 0 || iy >= H) {
            for (let ci = 0; ci < Ci; ci++) h.fill(0, base + ci * stride + pos, base + ci * stride + pos + Wq);
            continue;
          }
          const row = xo + (n * H + iy) * W * Ci + (px - pl) * Ci;
          const step = sw * Ci;
          for (let ci = 0; ci < Ci; ci++) {
            const d = base + ci * stride + pos;
            for (let b = 0; b < bLo; b++) h[d + b] = 0;
            for (let b = bLo, src = row + bLo * step + ci; b < bHi; b++, src += step) h[d + b] = h[src];
            for (let b = bHi; b < Wq; b++) h[d + b] = 0;
          }
        }
      }
      for (let ci = 0; ci < Ci; ci++) h.fill(0, base + ci * stride + G, base + (ci + 1) * stride);
    }
    const dyo = off(backend, dy);
    const dpo = off(backend, dyPad);
    for (let n = 0; n < N; n++) {
      for (let a = 0; a < Hq; a++) {
        const d = dpo + (n * Hq + a) * Wq * Co;
        if (a >= Ho) {
          h.fill(0, d, d + Wq * Co);
          continue;
        }
        const src = dyo + (n * Ho + a) * Wo * Co;
        h.copyWithin(d, src, src + Wo * Co);
        h.fill(0, d + Wo * Co, d + Wq * Co);
      }
    }
  }
  const acc = new Float64Array(K * Co);
  for (let j0 = 0; j0 < G; j0 += Mc) {
    const mc = Math.min(Mc, G - j0);
    h = heapF32(backend);
    const po = off(backend, planes);
    const cto = off(backend, colsT);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const idx = phaseIndex.get((ky % sh) * sw + (kx % sw))!;
        const shift = Math.floor(ky / sh) * Wq + Math.floor(kx / sw);
        for (let ci = 0; ci < Ci; ci++) {
          const src = po + (idx * Ci + ci) * stride + j0 + shift;
          h.copyWithin(cto + ((ky * kw + kx) * Ci + ci) * mc, src, src + mc);
        }
      }
    }
    const a = alias(backend, colsT, 0, [K, mc]);
    const b = alias(backend, dyPad, j0 * Co, [mc, Co]);
    accumulateGemm(backend, a, b, acc);
    releaseAlias(backend, a);
    releaseAlias(backend, b);
  }
  free(backend, planes);
  free(backend, dyPad);
  free(backend, colsT);
  return acc;
}

/** colsT built element by element from a channel-major copy of x; a few images per chunk. */
function dwIm2col(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): Float64Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = info;
  const { outChannels: Co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const K = kh * kw * Ci;
  const HoWo = Ho * Wo;
  const plane = N * H * W;

  // xc [Ci, N, H, W]
  const xc = alloc(backend, [Ci, plane]);
  transpose2d(heapF32(backend), off(backend, x), off(backend, xc), plane, Ci);
  const nb = Math.max(1, Math.min(N, Math.floor(dwChunkColumns(K) / HoWo)));
  const colsT = alloc(backend, [K, nb * HoWo]);
  // Valid ox range for each kx: 0 <= ox*sw + kx - pl < W.
  const oxLo: number[] = [];
  const oxHi: number[] = [];
  for (let kx = 0; kx < kw; kx++) {
    oxLo.push(Math.min(Wo, Math.max(0, Math.ceil((pl - kx) / sw))));
    oxHi.push(Math.max(0, Math.min(Wo, Math.floor((W - 1 + pl - kx) / sw) + 1)));
  }
  const acc = new Float64Array(K * Co);
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nc = Math.min(nb, N - n0);
    const Mc = nc * HoWo;
    const h = heapF32(backend);
    const xco = off(backend, xc);
    const cto = off(backend, colsT);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const lo = oxLo[kx];
        const hi = Math.max(lo, oxHi[kx]);
        for (let ci = 0; ci < Ci; ci++) {
          const rowBase = cto + ((ky * kw + kx) * Ci + ci) * Mc;
          for (let n = 0; n < nc; n++) {
            const img = xco + ci * plane + (n0 + n) * H * W;
            for (let oy = 0; oy < Ho; oy++) {
              const dst = rowBase + (n * Ho + oy) * Wo;
              const iy = oy * sh + ky - pt;
              if (iy < 0 || iy >= H) {
                h.fill(0, dst, dst + Wo);
                continue;
              }
              for (let ox = 0; ox < lo; ox++) h[dst + ox] = 0;
              const src = img + iy * W + kx - pl;
              if (sw === 1) {
                for (let ox = lo; ox < hi; ox++) h[dst + ox] = h[src + ox];
              } else {
                for (let ox = lo; ox < hi; ox++) h[dst + ox] = h[src + ox * sw];
              }
              for (let ox = hi; ox < Wo; ox++) h[dst + ox] = 0;
            }
          }
        }
      }
    }
    const a = nc === nb ? colsT : alias(backend, colsT, 0, [K, Mc]);
    const b = alias(backend, dy, n0 * HoWo * Co, [Mc, Co]);
    accumulateGemm(backend, a, b, acc);
    if (a !== colsT) releaseAlias(backend, a);
    releaseAlias(backend, b);
  }
  free(backend, xc);
  free(backend, colsT);
  return acc;
}

