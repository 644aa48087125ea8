/**
 * _FusedMatMul (bias + activation) for wasm: the stock kernel's XNNPACK path takes untransposed
 * operands only, so transposed batch-1 operands are transposed in JS first.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { operand, planMatMul } from '../matmul-operands';
import { callStock } from '../stock-kernels';

function fusedMatMul(args: KernelArgs): TensorInfo {
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


export const fusedMatMulConfig: tf.KernelConfig = wasmKernel('_FusedMatMul', fusedMatMul);
