/**
 * The convolutions of Glimpse's default encoder (shared/models/encoder.ts) for a batch of
 * `images` 32×32×3 inputs, as kernel geometry, with their FLOPs.
 */
import type { ConvGeometry } from '../../shared/backends/wasm/simd/conv-plan';
import { DEFAULT_ENCODER } from '../../shared/models/encoder';

export interface EncoderConv {
  name: string;
  g: ConvGeometry;
  /** How many convs of this shape one encoder pass runs. */
  count: number;
  /** Multiply-adds × 2 of one call (the same for forward, input and filter gradient). */
  flops: number;
}

function geometry(n: number, size: number, ci: number, co: number, k: number, s: number): ConvGeometry {
  const out = Math.ceil(size / s);
  const pad = Math.max((out - 1) * s + k - size, 0);
  return {
    batchSize: n, inHeight: size, inWidth: size, inChannels: ci, outHeight: out, outWidth: out, outChannels: co,
    strideHeight: s, strideWidth: s, filterHeight: k, filterWidth: k, padInfo: { top: Math.floor(pad / 2), left: Math.floor(pad / 2) },
  };
}

/** Every distinct conv of the default encoder (stem, then per stage conv1, conv2, shortcut). */
export function encoderConvs(images: number): EncoderConv[] {
  const e = DEFAULT_ENCODER;
  const convs: EncoderConv[] = [];
  const add = (name: string, g: ConvGeometry) => {
    const same = convs.find((c) => JSON.stringify(c.g) === JSON.stringify(g));
    if (same) return void same.count++;
    convs.push({ name, g, count: 1, flops: 2 * g.batchSize * g.outHeight * g.outWidth * g.outChannels * g.filterHeight * g.filterWidth * g.inChannels });
  };
  let size = e.inputSize;
  add(`stem 3×3 ${e.channels}→${e.stemWidth} @${size}`, geometry(images, size, e.channels, e.stemWidth, 3, 1));
  let width = e.stemWidth;
  e.widths.forEach((w, s) => {
    for (let b = 0; b < e.blocksPerStage[s]; b++) {
      const stride = b === 0 ? e.strides[s] : 1;
      const out = Math.ceil(size / stride);
      add(`s${s + 1} 3×3/${stride} ${width}→${w} @${size}`, geometry(images, size, width, w, 3, stride));
      add(`s${s + 1} 3×3/1 ${w}→${w} @${out}`, geometry(images, out, w, w, 3, 1));
      if (stride !== 1 || width !== w) add(`s${s + 1} 1×1/${stride} ${width}→${w} @${size}`, geometry(images, size, width, w, 1, stride));
      size = out;
      width = w;
    }
  });
  return convs;
}
