/**
 * GlimpseAdam: one Adam step of one variable as one kernel (Kingma & Ba 2015):
 *   m' = m·β1 + g·(1 − β1),  v' = v·β2 + g²·(1 − β2),
 *   x' = (m' / (1 − β1^t)) / (sqrt(v' / (1 − β2^t)) + ε) · (−lr) + x.
 * Inputs x, m, v, g (one shape); attrs beta1, beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon,
 * learningRate; outputs x', m', v'. Every scalar is rounded to float32 first and every operation
 * is a float32 operation in tfjs's AdamOptimizer order, so the result is stock Adam's to the bit
 * (test/shared/backends/wasm/adam.test.ts), where stock Adam runs ~12 whole-tensor kernels per
 * variable, each allocating its output: 14 ms of a BYOL step's 768k parameters against ~1 ms.
 * On Glimpse's SIMD kernels (../csrc/adam.c) when they are bound, else in JS on the heap.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { alloc, byteOffset, heapF32, off, sizeOf } from '../heap';
import { checkFloat, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import type { AdamScalars } from '../simd/simd-kernels';
import { simdKernelsFor } from '../simd/tfjs-binding';

export const ADAM = 'GlimpseAdam';

const f32 = Math.fround;

/** The kernel's float32 scalars from its attributes, as tfjs's AdamOptimizer rounds them. */
export function adamScalars(attrs: Record<string, unknown>): AdamScalars {
  const num = (k: string) => {
    const v = attrs[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`glimpse wasm ${ADAM}: attribute '${k}' must be a finite number, got ${String(v)}`);
    return v;
  };
  const beta1 = num('beta1');
  const beta2 = num('beta2');
  return {
    beta1: f32(beta1),
    oneMinusBeta1: f32(1 - beta1),
    beta2: f32(beta2),
    oneMinusBeta2: f32(1 - beta2),
    oneMinusAccBeta1: f32(num('oneMinusAccBeta1')),
    oneMinusAccBeta2: f32(num('oneMinusAccBeta2')),
    epsilon: f32(num('epsilon')),
    negLearningRate: f32(-num('learningRate')),
  };
}

function adam(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const [x, m, v, g] = [inputs.x!, inputs.m!, inputs.v!, inputs.g!];
  checkFloat(ADAM, x, m, v, g);
  const n = sizeOf(x.shape);
  for (const [name, t] of [['m', m], ['v', v], ['g', g]] as const) {
    if (sizeOf(t.shape) !== n) throw new Error(`glimpse wasm ${ADAM}: ${name} has shape [${t.shape.join(', ')}], x [${x.shape.join(', ')}]`);
  }
  const s = adamScalars(attrs);
  const [xo, mo, vo] = [alloc(backend, x.shape), alloc(backend, x.shape), alloc(backend, x.shape)];
  const simd = simdKernelsFor(backend);
  if (simd && n > 0) {
    const at = (t: TensorInfo) => byteOffset(backend, t);
    simd.adam(n, at(x), at(m), at(v), at(g), at(xo), at(mo), at(vo), s);
    return [xo, mo, vo];
  }
  const h = heapF32(backend);
  const [X, M, V, G, XO, MO, VO] = [x, m, v, g, xo, mo, vo].map((t) => off(backend, t));
  for (let i = 0; i < n; i++) {
    const gi = h[G + i];
    // Math.fround after each operation: float64 then rounded is float32's own result for + − × ÷ √.
    const mi = f32(f32(h[M + i] * s.beta1) + f32(gi * s.oneMinusBeta1));
    const vi = f32(f32(h[V + i] * s.beta2) + f32(f32(gi * gi) * s.oneMinusBeta2));
    h[MO + i] = mi;
    h[VO + i] = vi;
    const step = f32(f32(mi / s.oneMinusAccBeta1) / f32(f32(Math.sqrt(f32(vi / s.oneMinusAccBeta2))) + s.epsilon));
    h[XO + i] = f32(step * s.negLearningRate) + h[X + i];
  }
  return [xo, mo, vo];
}

export const adamConfig: tf.KernelConfig = wasmKernel(ADAM, adam);
