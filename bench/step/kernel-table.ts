/**
 * Per-kernel throughput of the encoder's convolutions (forward, input gradient, filter gradient)
 * next to the 128-bit SIMD ceiling of this engine and CPU, measured in the same run:
 * - SIMD, 1 thread: Glimpse's kernels on a standalone memory (CPU time, min of N);
 * - SIMD, N threads: the same on a worker pool's shared memory (wall time, min of N);
 * - fallback: what runs without the SIMD kernels, through tfjs (stock XNNPACK forward; the
 *   XNNPACK-based gradients of shared/backends/wasm/fallback/).
 * The ceiling is csrc/fma_peak.c: 12 independent multiply-add chains, no memory traffic.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { compileNodeSimd, createNodeSimdPool } from '../../shared/backends/wasm/simd/node-simd';
import { instantiateSimd, type SimdInstance } from '../../shared/backends/wasm/simd/module';
import { createSimdKernels, type HeapAllocator, type JobRunner, type SimdKernels } from '../../shared/backends/wasm/simd/simd-kernels';
import { setSimdKernels, simdKernelsFor } from '../../shared/backends/wasm/simd/tfjs-binding';
import { encoderConvs, type EncoderConv } from './conv-shapes';
import { minOf, type Timed } from './timing';

export type Op = 'forward' | 'backpropInput' | 'backpropFilter';
export const OPS: readonly Op[] = ['forward', 'backpropInput', 'backpropFilter'];

export interface KernelRow {
  conv: string;
  count: number;
  gflop: number;
  simd1: Record<Op, Timed>;
  simdN?: Record<Op, Timed>;
  fallback?: Record<Op, Timed>;
}

export interface KernelTable {
  images: number;
  threads: number;
  relaxedSimd: boolean;
  /** GFLOP/s of fma_peak on one thread (CPU time). */
  ceilingGflops: number;
  rows: KernelRow[];
}

const PAGE = 65536;

/** Operand buffers for every conv in `memory` from `base`, plus a scratch allocator above them. */
function layout(memory: WebAssembly.Memory, base: number, convs: EncoderConv[]) {
  let top = base;
  const take = (floats: number) => {
    const at = top;
    top = (top + floats * 4 + 63) & ~63;
    return at;
  };
  const bufs = convs.map(({ g }) => {
    const n = { x: g.batchSize * g.inHeight * g.inWidth * g.inChannels, y: g.batchSize * g.outHeight * g.outWidth * g.outChannels, w: g.filterHeight * g.filterWidth * g.inChannels * g.outChannels };
    return { x: take(n.x), w: take(n.w), y: take(n.y), dy: take(n.y), dx: take(n.x), dw: take(n.w), n };
  });
  const scratchBase = top;
  const need = scratchBase + (16 << 20) - memory.buffer.byteLength;
  if (need > 0) memory.grow(Math.ceil(need / PAGE));
  const f32 = new Float32Array(memory.buffer);
  for (const b of bufs) {
    for (let i = 0; i < b.n.x; i++) f32[b.x / 4 + i] = Math.sin(i * 0.37);
    for (let i = 0; i < b.n.w; i++) f32[b.w / 4 + i] = Math.cos(i * 0.11) * 0.1;
    for (let i = 0; i < b.n.y; i++) f32[b.dy / 4 + i] = Math.sin(i * 0.53);
  }
  let scratch = scratchBase;
  const heap: HeapAllocator & { reset(): void } = {
    malloc(bytes) {
      const at = scratch;
      scratch = (scratch + bytes + 63) & ~63;
      return at;
    },
    free() {},
    reset() {
      scratch = scratchBase;
    },
  };
  return { bufs, heap };
}

function measureKernels(instance: SimdInstance, base: number, convs: EncoderConv[], runs: number, run?: JobRunner, groups = 1): Array<Record<Op, Timed>> {
  const { bufs, heap } = layout(instance.memory, base, convs);
  const k: SimdKernels = createSimdKernels(instance, heap, run, groups);
  return convs.map(({ g }, i) => {
    const b = bufs[i];
    const ops: Record<Op, () => void> = {
      forward: () => k.forward(g, b.x, b.w, 0, b.y, false),
      backpropInput: () => k.backpropInput(g, b.dy, b.w, b.dx),
      backpropFilter: () => k.backpropFilter(g, b.x, b.dy, b.dw),
    };
    return Object.fromEntries(OPS.map((op) => [op, minOf(runs, () => {
      heap.reset();
      ops[op]();
    })])) as Record<Op, Timed>;
  });
}

/** The fallback kernels through tfjs on the active wasm backend (its SIMD binding lifted meanwhile). */
function measureFallback(convs: EncoderConv[], runs: number): Array<Record<Op, Timed>> {
  const backend = tf.backend() as unknown as BackendWasm;
  const bound = simdKernelsFor(backend);
  setSimdKernels(backend, undefined);
  try {
    return convs.map(({ g }) => {
      const x = tf.randomNormal([g.batchSize, g.inHeight, g.inWidth, g.inChannels]) as tf.Tensor4D;
      const w = tf.randomNormal([g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]) as tf.Tensor4D;
      const dy = tf.randomNormal([g.batchSize, g.outHeight, g.outWidth, g.outChannels]) as tf.Tensor4D;
      const pad = [[0, 0], [g.padInfo.top, (g.outHeight - 1) * g.strideHeight + g.filterHeight - g.inHeight - g.padInfo.top], [g.padInfo.left, (g.outWidth - 1) * g.strideWidth + g.filterWidth - g.inWidth - g.padInfo.left], [0, 0]] as [[0, 0], [number, number], [number, number], [0, 0]];
      const strides: [number, number] = [g.strideHeight, g.strideWidth];
      const once = (f: () => tf.Tensor) => () => f().dispose();
      try {
        return {
          forward: minOf(runs, once(() => tf.conv2d(x, w, strides, pad))),
          backpropInput: minOf(runs, once(() => tf.conv2dTranspose(dy, w, x.shape, strides, pad))),
          backpropFilter: minOf(runs, once(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor)),
        };
      } finally {
        tf.dispose([x, w, dy]);
      }
    });
  } finally {
    setSimdKernels(backend, bound);
  }
}

function ceiling(instance: SimdInstance, runs: number): number {
  const iterations = 10_000_000;
  const t = minOf(runs, () => instance.exports.fma_peak(iterations, 1), 2);
  return (iterations * 12 * 8) / t.cpuMs / 1e6;
}

/**
 * @param images encoder batch (2 views × batch for the SSL steps)
 * @param fallback also time the fallback kernels (needs the wasm backend active)
 */
export async function kernelTable(o: { images: number; threads: number; runs: number; fallback: boolean }): Promise<KernelTable> {
  const convs = encoderConvs(o.images);
  const single = await compileNodeSimd(false);
  if (single == null) throw new Error('SIMD kernels are not built (npm run build:wasm)');
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536 });
  const instance = await instantiateSimd(single.module, memory, single.variant);
  const ceilingGflops = ceiling(instance, o.runs);
  const simd1 = measureKernels(instance, PAGE, convs, o.runs);
  let simdN: Array<Record<Op, Timed>> | undefined;
  if (o.threads > 1) {
    const pool = await createNodeSimdPool(o.threads);
    if (pool) {
      try {
        simdN = measureKernels(pool.instance, 1 << 20, convs, o.runs, pool.run, pool.threads);
      } finally {
        await pool.dispose();
      }
    }
  }
  const fallback = o.fallback ? measureFallback(convs, Math.min(o.runs, 3)) : undefined;
  return {
    images: o.images,
    threads: o.threads,
    relaxedSimd: single.variant.relaxed,
    ceilingGflops,
    rows: convs.map((c, i) => ({ conv: c.name, count: c.count, gflop: c.flops / 1e9, simd1: simd1[i], simdN: simdN?.[i], fallback: fallback?.[i] })),
  };
}
