/**
 * The register list: every config in GLIMPSE_WASM_KERNEL_CONFIGS is the one tfjs runs on wasm.
 * Stock tfjs-backend-wasm already has several of these names (BatchMatMul, Tile, Identity, Cast,
 * Conv2DBackpropInput, …), so "a kernel of that name exists" would prove nothing: the test
 * compares the registered kernel function with ours, and checks behaviours only ours have.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import {
  GLIMPSE_WASM_KERNEL_CONFIGS,
  GLIMPSE_WASM_KERNELS,
  registerGlimpseWasmKernels,
} from '../../../../shared/backends/wasm/register-all-kernels';
import { T } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

describe('registerGlimpseWasmKernels', () => {
  it('is idempotent and registers every kernel for wasm', () => {
    registerGlimpseWasmKernels();
    registerGlimpseWasmKernels();
    expect(GLIMPSE_WASM_KERNELS).toEqual(GLIMPSE_WASM_KERNEL_CONFIGS.map((c) => c.kernelName));
    expect(new Set(GLIMPSE_WASM_KERNELS).size).toBe(GLIMPSE_WASM_KERNELS.length);
    for (const config of GLIMPSE_WASM_KERNEL_CONFIGS) {
      const registered = tf.getKernel(config.kernelName, 'wasm');
      expect(registered, config.kernelName).toBeDefined();
      expect(registered!.kernelFunc === config.kernelFunc, `${config.kernelName} runs Glimpse's kernelFunc`).toBe(true);
    }
  });

  it('runs our kernels: Identity shares the data (stock wasm copies), Conv2DBackpropFilter exists (stock lacks it)', async () => {
    await tf.setBackend('wasm');
    const x = T([4, 5], 1);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    const dy = T([1, 4, 4, 2], 2) as tf.Tensor4D;
    const xi = T([1, 4, 4, 3], 3) as tf.Tensor4D;
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xi, dy }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 2],
    }) as tf.Tensor;
    expect(dw.shape).toEqual([3, 3, 3, 2]);
    tf.dispose([x, y, dy, xi, dw]);
  });
});
