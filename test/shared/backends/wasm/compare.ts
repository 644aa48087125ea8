/**
 * Comparing Glimpse's wasm kernels with the cpu backend (the reference implementation): every
 * case builds the same inputs on both backends and requires
 *   max |wasm − cpu| / max |cpu| ≤ 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, expect } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { setSimdKernels, simdKernelsFor } from '../../../../shared/backends/wasm/simd/tfjs-binding';

export const TOL = 1e-4;

/** Deterministic values in [-1, 1). */
export function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const T = (shape: number[], seed: number) => tf.tensor(values(shape, seed), shape);

/** Runs `f` on cpu then on wasm; returns the outputs' data per backend. */
export async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const r = f();
      return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  return { cpu, wasm };
}

export function relErr(ref: Float32Array, got: Float32Array): number {
  expect(got.length).toBe(ref.length);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export async function expectSame(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const { cpu, wasm } = await onBoth(f);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((ref, i) => {
    const e = relErr(ref, wasm[i]);
    expect(e, `output ${i}: relative error ${e}`).toBeLessThanOrEqual(TOL);
  });
}

/**
 * The implementations behind Glimpse's conv and LayerNorm kernels: the SIMD kernels on tfjs's
 * heap, the same on a 2-thread worker pool (operands copied to shared memory), and the fallback.
 */
export const KERNEL_PATHS = ['SIMD', 'SIMD 2 threads', 'fallback'] as const;

/**
 * In the enclosing describe, runs the wasm backend's kernels on `path`. Requires the wasm backend
 * to be initialised (single-thread) by an earlier beforeAll; restores that binding after.
 */
export function onKernelPath(path: (typeof KERNEL_PATHS)[number]): void {
  let backend: BackendWasm;
  let simd: ReturnType<typeof simdKernelsFor>;
  beforeAll(async () => {
    backend = tf.findBackend('wasm') as unknown as BackendWasm;
    simd = simdKernelsFor(backend);
    expect(simd, 'SIMD kernels bound (dist/wasm/ built by scripts/build-wasm.ts)').toBeDefined();
    if (path === 'SIMD 2 threads') {
      await initNodeBackend('wasm', { threads: 2, parallel: 'kernels' });
      expect(simdKernelsFor(backend)).not.toBe(simd);
    } else {
      setSimdKernels(backend, path === 'SIMD' ? simd : undefined);
    }
  });
  afterAll(async () => {
    if (path === 'SIMD 2 threads') await initNodeBackend('wasm', { threads: 1 });
    setSimdKernels(backend, simd);
  });
}
