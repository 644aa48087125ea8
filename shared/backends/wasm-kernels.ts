/**
 * Training kernels for the tfjs wasm backend (4.22.0).
 *
 * Stock tfjs-backend-wasm cannot train a conv net: Conv2DBackpropFilter and both depthwise
 * backprop kernels are missing, Conv2DBackpropInput is a scalar loop, MatMul with a transpose
 * flag (every dense-layer gradient) or a batch > 1 leaves XNNPACK for a scalar path, and Tile is
 * slow. `registerGlimpseWasmKernels()` registers replacements that either reshape the work onto
 * the fast XNNPACK kernels wasm already has (Conv2D, batch-1 MatMul) or do memory-bound
 * rearrangements directly on the wasm heap in JS.
 *
 * Also replaced, because they dominated a training step (profiled with bench/step.ts):
 * - tfjs-layers' LayerNormalization, while the wasm backend is active: it tiles its statistics
 *   and parameters to the input's shape and calls batchNorm, ~40 full-size kernels per layer
 *   with the gradient (over half of a BYOL step). A prototype patch routes it to two fused heap
 *   kernels (`layerNormLastAxis`); other backends and saved models are untouched.
 * - the *gradient* of Tile (tfjs-core's adds one slice per repetition: 65 536 ops for the gamma
 *   tiling of a stock LayerNormalization) by reshape + sum. Gradients are registered per kernel
 *   name, not per backend, so this one applies to every backend.
 * - Identity and same-dtype Cast, which stock wasm implements as copies.
 *
 * Every kernel is checked against the cpu backend in test/shared/backends/wasm-kernels.test.ts.
 * NB: wasm's native Conv3DBackpropFilterV2 is wrong for stride > 1; nothing here uses it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerTileGradient } from './tile-gradient';
// Side effect: registers the stock wasm kernels first, so ours replace them rather than the
// reverse when the wasm package is imported later.
import '@tensorflow/tfjs-backend-wasm';
// Side effect: registers tfjs-core's gradients (the Node bundle of tfjs-core does not), so that
// our Tile gradient below overrides the stock one instead of being overwritten by it later.
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type StockInputs = Record<string, TensorInfo | undefined>;

const BACKEND = 'wasm';

/** Stock wasm kernel functions, captured before we replace any. */
const stock = new Map<string, tf.KernelFunc>();
let registered = false;

// ---------------------------------------------------------------------------------------------
// Heap helpers. All float data of the wasm backend lives in one linear memory; we address it
// with one Float32Array over the whole heap and element offsets. The heap can grow (and its
// ArrayBuffer be replaced) on any allocation, so take `heapF32` only after allocating.
// ---------------------------------------------------------------------------------------------

/** The Emscripten module's heap view (typed by @types/emscripten, which we don't depend on). */
function heapBuffer(backend: BackendWasm): ArrayBufferLike {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
}

function heapF32(backend: BackendWasm): Float32Array {
  return new Float32Array(heapBuffer(backend));
}

/** Element offset (in float32 units) of a tensor's data in the heap. */
function off(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null || data.memoryOffset == null) throw new Error('glimpse wasm: tensor has no heap data');
  return data.memoryOffset >>> 2;
}

function alloc(backend: BackendWasm, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

function allocZeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const t = alloc(backend, shape);
  const o = off(backend, t);
  heapF32(backend).fill(0, o, o + sizeOf(shape));
  return t;
}

function free(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** A tensor that aliases `elemOffset` elements into `base`'s memory (no copy). */
function alias(backend: BackendWasm, base: TensorInfo, elemOffset: number, shape: number[]): TensorInfo {
  const bytes = (off(backend, base) + elemOffset) * 4;
  return backend.makeOutput(shape, 'float32', bytes);
}

/** Forget an alias without freeing the memory it points into. */
function releaseAlias(backend: BackendWasm, t: TensorInfo): void {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(t.dataId);
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

function callStock(name: string, backend: BackendWasm, inputs: StockInputs, attrs: Attrs): TensorInfo {
  const f = stock.get(name);
  if (f == null) throw new Error(`glimpse wasm: stock kernel '${name}' is not available`);
  return f({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/** `[M, K] @ [K, N] -> [M, N]` on XNNPACK (the stock batch-1, untransposed path). */
function gemm(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  const out = callStock('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
  return out;
}

/** dst[c * rows + r] = src[r * cols + c], tiled so both sides stay in cache. */
function transpose2d(h: Float32Array, src: number, dst: number, rows: number, cols: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let r = r0; r < r1; r++) {
        const s = src + r * cols;
        for (let c = c0; c < c1; c++) h[dst + c * rows + r] = h[s + c];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conv attribute checks
// ---------------------------------------------------------------------------------------------

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`glimpse wasm ${kernel}: only dataFormat 'NHWC' is supported, got '${String(dataFormat)}'`);
  }
}

function checkDilations(kernel: string, dilations: unknown): void {
  if (dilations == null) return;
  const d = typeof dilations === 'number' ? [dilations, dilations] : (dilations as number[]);
  if (d.some((v) => v !== 1)) {
    throw new Error(`glimpse wasm ${kernel}: only dilations 1 are supported, got [${d.join(', ')}]`);
  }
}

function checkFloat(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new Error(`glimpse wasm ${kernel}: only float32 is supported, got ${t.dtype}`);
  }
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: dW[ky,kx,ci,co] = sum_{n,oy,ox} x[n, oy*s+ky-pt, ox*s+kx-pl, ci] dy[n,oy,ox,co]
//
// dW = colsT @ dy, with colsT [kh*kw*Ci, positions] the transposed im2col of x, on XNNPACK's
// batch-1 MatMul, a chunk of columns at a time (chunks of ~1.2M floats measured 10-20% faster
// than one big product: the packed dy chunk stays in cache). Building colsT element by element
// in JS cost more than the product itself, so the default path makes every row of colsT one
// contiguous memmove ("shifted windows"):
//   split x (padded) into s*s stride phases, channel-major, on a grid of Hq x Wq positions per
//   image (Hq = Ho + (kh-1)/s). Then tap (ky, kx) of channel ci at grid position j is
//   phase[ky%s][kx%s][ci][j + (ky/s)*Wq + kx/s], a window of one array, and dy is embedded in
//   the same grid with zeros where oy >= Ho or ox >= Wo, which cancels the windows' overhang.
// The grid wastes Hq*Wq/(Ho*Wo) - 1 of the FLOPs (13% at 32x32, 56% at 8x8); above 35% waste
// the plain im2col path is used instead.
// ---------------------------------------------------------------------------------------------

/** Floats per colsT chunk (K rows x columns). */
const DW_CHUNK_FLOATS = 1_200_000;
/** Grid-over-output area above which shifted windows waste more than im2col costs. */
const DW_MAX_GRID_WASTE = 1.35;

function dwChunkColumns(K: number): number {
  const c = 2 ** Math.round(Math.log2(DW_CHUNK_FLOATS / K));
  return Math.max(512, Math.min(8192, c));
}

function conv2DBackpropFilter(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
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

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput: dx[n,iy,ix,ci] = sum dy[n,oy,ox,co] W[ky,kx,ci,co] over iy = oy*s+ky-pt.
//
// Stride 1: a plain conv of dy with the flipped, in/out-swapped filter (XNNPACK).
// Stride s > 1, sub-pixel: output rows iy = a*s + py of one phase (py, px) only receive taps
//   ky = ky0 + j*s with ky0 = (py + pt) mod s, so each of the s*s phases is a stride-1 conv of
//   dy with a sub-filter (XNNPACK, same FLOPs as the forward conv), interleaved into dx in JS.
// Otherwise (a phase would need negative padding): dcols = dy @ W^T ([N*Ho*Wo, Co] @
//   [Co, kh*kw*Ci], XNNPACK), then col2im in JS.
// ---------------------------------------------------------------------------------------------

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

function conv2DBackpropInput(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
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

// ---------------------------------------------------------------------------------------------
// Depthwise backprops (filter [kh, kw, C, mult]; output channel c*mult+m reads input channel c).
// Depthwise FLOPs are small; direct JS loops with float64 accumulation are fast enough.
// ---------------------------------------------------------------------------------------------

function depthwiseBackpropFilter(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkDilations('DepthwiseConv2dNativeBackpropFilter', attrs.dilations);
  checkFloat('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const mult = filterShape[3];
  const Co = C * mult;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const acc = new Float64Array(kh * kw * Co);
  const h = heapF32(backend);
  const xo = off(backend, x);
  const dyo = off(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const g = dyo + ((n * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - pt;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx - pl;
            if (ix < 0 || ix >= W) continue;
            const xs = xo + ((n * H + iy) * W + ix) * C;
            const a = (ky * kw + kx) * Co;
            if (mult === 1) {
              for (let c = 0; c < C; c++) acc[a + c] += h[xs + c] * h[g + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xv = h[xs + c];
                for (let m = 0; m < mult; m++) acc[a + c * mult + m] += xv * h[g + c * mult + m];
              }
            }
          }
        }
      }
    }
  }
  const out = alloc(backend, filterShape);
  heapF32(backend).set(acc, off(backend, out));
  return out;
}

function depthwiseBackpropInput(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkDilations('DepthwiseConv2dNativeBackpropInput', attrs.dilations);
  checkFloat('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const mult = filter.shape[3];
  const Co = C * mult;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = allocZeros(backend, inputShape);
  const h = heapF32(backend);
  const fo = off(backend, filter);
  const dyo = off(backend, dy);
  const xo = off(backend, dx);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const g = dyo + ((n * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - pt;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx - pl;
            if (ix < 0 || ix >= W) continue;
            const d = xo + ((n * H + iy) * W + ix) * C;
            const f = fo + (ky * kw + kx) * Co;
            if (mult === 1) {
              for (let c = 0; c < C; c++) h[d + c] += h[g + c] * h[f + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0; m < mult; m++) s += h[g + c * mult + m] * h[f + c * mult + m];
                h[d + c] += s;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// MatMul: XNNPACK is used by stock wasm only for batch 1 without transposes. Transpose in JS and
// split batches into batch-1 calls on aliases of the inputs.
// ---------------------------------------------------------------------------------------------

interface MatMulPlan {
  batch: number;
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

function planMatMul(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): MatMulPlan {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka !== kb) throw new Error(`glimpse wasm MatMul: inner shapes ${ka} and ${kb} must match`);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  return { batch: Math.max(batchA, batchB), batchA, batchB, m, k: ka, n, outShape: [...outer, m, n] };
}

/**
 * One [rows, cols] matrix of `t` (batch `i`), as a [1, rows, cols] tensor (the rank the stock
 * kernels expect) in untransposed layout: an alias when
 * no transpose is needed, else a JS-transposed copy. Returns the tensor and how to release it.
 */
function operand(
  backend: BackendWasm,
  t: TensorInfo,
  i: number,
  transposed: boolean,
  rows: number,
  cols: number,
): [TensorInfo, () => void] {
  if (!transposed) {
    const v = alias(backend, t, i * rows * cols, [1, rows, cols]);
    return [v, () => releaseAlias(backend, v)];
  }
  const c = alloc(backend, [1, rows, cols]);
  transpose2d(heapF32(backend), off(backend, t) + i * rows * cols, off(backend, c), cols, rows);
  return [c, () => free(backend, c)];
}

function batchMatMul(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const tA = Boolean(attrs.transposeA);
  const tB = Boolean(attrs.transposeB);
  const p = planMatMul(a, b, tA, tB);
  const fast = !tA && !tB && p.batch === 1;
  // Tiny products: per-call overhead beats any kernel speedup.
  const tiny = p.m * p.n * p.k < 4096;
  if (fast || tiny || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return callStock('BatchMatMul', backend, { a, b }, attrs);
  }
  const out = alloc(backend, p.outShape);
  for (let i = 0; i < p.batch; i++) {
    const [ai, relA] = operand(backend, a, p.batchA === 1 ? 0 : i, tA, p.m, p.k);
    const [bi, relB] = operand(backend, b, p.batchB === 1 ? 0 : i, tB, p.k, p.n);
    const r = gemm(backend, ai, bi);
    relA();
    relB();
    const h = heapF32(backend);
    const ro = off(backend, r);
    h.copyWithin(off(backend, out) + i * p.m * p.n, ro, ro + p.m * p.n);
    free(backend, r);
  }
  return out;
}

function fusedMatMul(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const tA = Boolean(attrs.transposeA);
  const tB = Boolean(attrs.transposeB);
  const p = planMatMul(a, b, tA, tB);
  if ((!tA && !tB) || p.batch !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return callStock('_FusedMatMul', backend, inputs, attrs);
  }
  const [a2, relA] = operand(backend, a, 0, tA, p.m, p.k);
  const [b2, relB] = operand(backend, b, 0, tB, p.k, p.n);
  const r = callStock('_FusedMatMul', backend, { ...inputs, a: a2, b: b2 }, { ...attrs, transposeA: false, transposeB: false });
  relA();
  relB();
  return { dataId: r.dataId, shape: p.outShape, dtype: r.dtype };
}

// ---------------------------------------------------------------------------------------------
// Tile: copy the innermost run, then replicate blocks outward with copyWithin.
// ---------------------------------------------------------------------------------------------

function tile(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const reps = attrs.reps as number[];
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) {
    return callStock('Tile', backend, inputs, attrs);
  }
  const s = x.shape;
  const r = s.length;
  const o = s.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(o, x.dtype);
  if (sizeOf(o) === 0) return out;
  // Same bit patterns for float32 and int32: copy as int32 to be exact for both.
  const h = new Int32Array(heapBuffer(backend));
  const xo = off(backend, x);
  const oo = off(backend, out);
  // inner[i] = elements in one output block at level i (product of o[i+1..]).
  const inner = new Array<number>(r).fill(1);
  const srcStride = new Array<number>(r).fill(1);
  for (let i = r - 2; i >= 0; i--) {
    inner[i] = inner[i + 1] * o[i + 1];
    srcStride[i] = srcStride[i + 1] * s[i + 1];
  }
  const fill = (level: number, src: number, dst: number): void => {
    const len = s[level] * inner[level];
    if (level === r - 1) {
      const d = s[level];
      if (d * reps[level] <= 64) {
        let q = dst;
        for (let k = 0; k < reps[level]; k++) for (let j = 0; j < d; j++) h[q++] = h[src + j];
        return;
      }
      h.copyWithin(dst, src, src + d);
    } else {
      for (let j = 0; j < s[level]; j++) fill(level + 1, src + j * srcStride[level], dst + j * inner[level]);
    }
    // Replicate the first block reps[level] times by doubling.
    let have = 1;
    while (have < reps[level]) {
      const n = Math.min(have, reps[level] - have);
      h.copyWithin(dst + have * len, dst, dst + n * len);
      have += n;
    }
  };
  fill(0, xo, oo);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Identity and same-dtype Cast: stock wasm copies the data; share it by reference count instead,
// as the cpu backend and wasm's own Reshape do (tensors are immutable). tfjs-layers and the
// gradient tape call Identity hundreds of times per step.
// ---------------------------------------------------------------------------------------------

function identity(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const x = args.inputs.x!;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function cast(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo {
  const x = args.inputs.x!;
  if (args.attrs.dtype === x.dtype && x.dtype !== 'string') return identity(args);
  return callStock('Cast', args.backend, args.inputs, args.attrs);
}

// ---------------------------------------------------------------------------------------------
// Fused LayerNormalization over the last axis.
//
// tfjs-layers' LayerNormalization tiles mean, variance, gamma and beta to the full input shape
// and calls batchNorm; with its gradient that is ~40 full-size elementwise kernels per layer and
// dominated a training step on wasm. Two kernels on the heap do the same work in ~4 passes:
//   forward  y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps)   (Ba et al. 2016)
//   backward g = dy * gamma, xhat = (x - mean) * rstd,
//            dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
//            dgamma = sum_rows dy * xhat,  dbeta = sum_rows dy.
// ---------------------------------------------------------------------------------------------

const LN_FWD = 'GlimpseLayerNorm';
const LN_GRAD = 'GlimpseLayerNormGrad';

function layerNormFwd(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const gamma = inputs.gamma!;
  const beta = inputs.beta!;
  checkFloat(LN_FWD, x, gamma, beta);
  const eps = attrs.epsilon as number;
  const C = x.shape[x.shape.length - 1];
  const R = sizeOf(x.shape) / C;
  const y = alloc(backend, x.shape);
  const mean = alloc(backend, [R]);
  const rstd = alloc(backend, [R]);
  const h = heapF32(backend);
  const xo = off(backend, x);
  const yo = off(backend, y);
  const go = off(backend, gamma);
  const bo = off(backend, beta);
  const mo = off(backend, mean);
  const ro = off(backend, rstd);
  for (let r = 0; r < R; r++) {
    const b = xo + r * C;
    // One pass in float64: E[x^2] - E[x]^2 loses nothing measurable for float32 inputs unless
    // |mean| / std exceeds ~1e5, which a normalisation input never approaches.
    let s = 0;
    let s2 = 0;
    for (let c = 0; c < C; c++) {
      const v = h[b + c];
      s += v;
      s2 += v * v;
    }
    const mu = s / C;
    const rs = 1 / Math.sqrt(Math.max(0, s2 / C - mu * mu) + eps);
    const yb = yo + r * C;
    for (let c = 0; c < C; c++) h[yb + c] = (h[b + c] - mu) * rs * h[go + c] + h[bo + c];
    h[mo + r] = mu;
    h[ro + r] = rs;
  }
  return [y, mean, rstd];
}

function layerNormGrad(args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }): TensorInfo[] {
  const { inputs, backend } = args;
  const dy = inputs.dy!;
  const x = inputs.x!;
  const gamma = inputs.gamma!;
  const mean = inputs.mean!;
  const rstd = inputs.rstd!;
  const C = x.shape[x.shape.length - 1];
  const R = sizeOf(x.shape) / C;
  const dx = alloc(backend, x.shape);
  const dgamma = alloc(backend, [C]);
  const dbeta = alloc(backend, [C]);
  const h = heapF32(backend);
  const dyo = off(backend, dy);
  const xo = off(backend, x);
  const go = off(backend, gamma);
  const mo = off(backend, mean);
  const ro = off(backend, rstd);
  const dxo = off(backend, dx);
  const dg = new Float64Array(C);
  const db = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const b = r * C;
    const mu = h[mo + r];
    const rs = h[ro + r];
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < C; c++) {
      const d = h[dyo + b + c];
      const xh = (h[xo + b + c] - mu) * rs;
      const g = d * h[go + c];
      sg += g;
      sgx += g * xh;
      dg[c] += d * xh;
      db[c] += d;
    }
    sg /= C;
    sgx /= C;
    for (let c = 0; c < C; c++) {
      const xh = (h[xo + b + c] - mu) * rs;
      h[dxo + b + c] = rs * (h[dyo + b + c] * h[go + c] - sg - xh * sgx);
    }
  }
  h.set(dg, off(backend, dgamma));
  h.set(db, off(backend, dbeta));
  return [dx, dgamma, dbeta];
}

/**
 * LayerNorm over the last axis with affine parameters, as one op with its own gradient.
 * x [..., C], gamma [C], beta [C] → [..., C]. Uses the fused kernels on wasm, plain ops elsewhere.
 */
export function layerNormLastAxis(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  if (tf.getBackend() !== BACKEND || tf.getKernel(LN_FWD, BACKEND) == null) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
    });
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, rstd] = tf.engine().runKernel(LN_FWD, { x: xi, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    save([xi, g, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs] = saved;
        return tf.engine().runKernel(LN_GRAD, { dy, x: xs, gamma: gs, mean: ms, rstd: rs }, {}) as tf.Tensor[];
      },
    };
  });
  return f(x, gamma, beta);
}

interface LayerNormLike {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
}

/**
 * Routes tfjs-layers' LayerNormalization through `layerNormLastAxis` while the wasm backend is
 * active (normalising the last axis, with center and scale: Glimpse's configuration). Other
 * backends and configurations keep the stock implementation; saved models are unaffected.
 */
function installFusedLayerNorm(): void {
  const proto = Object.getPrototypeOf(tfl.layers.layerNormalization({})) as {
    call(this: LayerNormLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
    __glimpseFused?: boolean;
  };
  if (proto.__glimpseFused) return;
  const stockCall = proto.call;
  proto.call = function (this: LayerNormLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axes = Array.isArray(this.axis) ? this.axis : [this.axis];
    const lastAxis = axes.length === 1 && (axes[0] === x.rank - 1 || axes[0] === -1);
    if (tf.getBackend() !== BACKEND || !lastAxis || !this.center || !this.scale || x.dtype !== 'float32' || !this.gamma || !this.beta) {
      return stockCall.call(this, inputs, kwargs);
    }
    return layerNormLastAxis(x, this.gamma.read(), this.beta.read(), this.epsilon);
  };
  proto.__glimpseFused = true;
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

type Impl = (args: { inputs: StockInputs; backend: BackendWasm; attrs: Attrs }) => TensorInfo | TensorInfo[];

const KERNELS: ReadonlyArray<[string, Impl]> = [
  ['Conv2DBackpropFilter', conv2DBackpropFilter],
  ['Conv2DBackpropInput', conv2DBackpropInput],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput],
  ['BatchMatMul', batchMatMul],
  ['_FusedMatMul', fusedMatMul],
  ['Tile', tile],
  ['Identity', identity],
  ['Cast', cast],
  [LN_FWD, layerNormFwd],
  [LN_GRAD, layerNormGrad],
];

/** Stock wasm kernels our replacements call into. */
const NEEDED_STOCK = ['Conv2D', 'BatchMatMul', '_FusedMatMul', 'Tile', 'Cast'];

/** Names of the wasm kernels Glimpse registers (replacing stock ones where they exist). */
export const GLIMPSE_WASM_KERNELS: readonly string[] = KERNELS.map(([name]) => name);

/**
 * Registers Glimpse's training kernels for the 'wasm' backend, the fast Tile gradient for all
 * backends, and the wasm-only fused LayerNormalization. Idempotent; call before or after
 * `tf.setBackend('wasm')`, but after tfjs-layers is loaded if it is loaded lazily (its import
 * re-registers the stock gradients).
 */
export function registerGlimpseWasmKernels(): void {
  if (registered) return;
  for (const name of NEEDED_STOCK) {
    const k = tf.getKernel(name, BACKEND);
    if (k == null) throw new Error(`glimpse wasm: stock kernel '${name}' is not registered`);
    stock.set(name, k.kernelFunc);
  }
  for (const [name, impl] of KERNELS) {
    const old = tf.getKernel(name, BACKEND);
    if (old != null) tf.unregisterKernel(name, BACKEND);
    // Keep the stock setupFunc: it binds the wasm export the stock kernelFunc (which we call)
    // uses, and runs when the backend initialises.
    tf.registerKernel({
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: impl as unknown as tf.KernelFunc,
      ...(old?.setupFunc ? { setupFunc: old.setupFunc } : {}),
    });
  }
  // Quietly replace tfjs-core's Tile gradient (registerGradient warns only in DEBUG mode).
  registerTileGradient();
  installFusedLayerNorm();
  registered = true;
}
