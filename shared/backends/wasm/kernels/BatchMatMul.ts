/**
 * BatchMatMul for wasm: stock wasm reaches XNNPACK only for batch 1 without transposes and
 * falls back to a scalar loop otherwise (every dense-layer gradient has a transpose flag).
 * Transposed operands are transposed in JS, batches split into batch-1 XNNPACK products.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { alloc, free, heapF32, off } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { operand, planMatMul } from '../matmul-operands';
import { callStock, gemm } from '../stock-kernels';

function batchMatMul(args: KernelArgs): TensorInfo {
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


export const batchMatMulConfig: tf.KernelConfig = wasmKernel('BatchMatMul', batchMatMul);
