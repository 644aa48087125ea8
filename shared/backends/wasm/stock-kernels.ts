/**
 * The stock tfjs-backend-wasm kernels our replacements call into (XNNPACK's Conv2D, FusedConv2D
 * and batch-1 MatMul, and the stock Tile/Cast/GatherV2/AvgPoolGrad for the cases we leave alone), captured before we replace any.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, type Attrs, type KernelInputs, type TensorInfo } from './kernel-utils';

/** Stock kernels our replacements call. */
export const NEEDED_STOCK = ['Conv2D', 'FusedConv2D', 'BatchMatMul', '_FusedMatMul', 'Tile', 'Cast', 'GatherV2', 'AvgPoolGrad'] as const;

const stock = new Map<string, tf.KernelFunc>();

/** Remembers the stock kernel functions; must run before ours replace them. Idempotent. */
export function captureStockKernels(): void {
  if (stock.size > 0) return;
  for (const name of NEEDED_STOCK) {
    const k = tf.getKernel(name, BACKEND);
    if (k == null) throw new Error(`glimpse wasm: stock kernel '${name}' is not registered`);
    stock.set(name, k.kernelFunc);
  }
}

export function callStock(name: (typeof NEEDED_STOCK)[number], backend: BackendWasm, inputs: KernelInputs, attrs: Attrs): TensorInfo {
  const f = stock.get(name);
  if (f == null) throw new Error(`glimpse wasm: stock kernel '${name}' is not available`);
  return f({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
}

/** `[M, K] @ [K, N] -> [M, N]` on XNNPACK (the stock batch-1, untransposed path). */
export function gemm(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return callStock('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}
