/**
 * Conv2D, FusedConv2D, Conv2DBackpropFilter / Conv2DBackpropInput and the depthwise backprops on
 * wasm against cpu (shared/backends/wasm/kernels/Conv2D*, FusedConv2D, DepthwiseConv2dNative*).
 * The conv kernels run twice: on Glimpse's SIMD kernels, and on their fallback (stock XNNPACK
 * forward, XNNPACK-based gradients) on a backend without the SIMD binding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { expectSame, KERNEL_PATHS, onKernelPath, T } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: 1 | 2;
  pad: Pad;
}

// Small channel counts leave partial register tiles in the SIMD kernels. In the XNNPACK fallback,
// 16x16 inputs take the "shifted windows" path of Conv2DBackpropFilter, 7x7/8x8 the im2col path;
// stride-1 Conv2DBackpropInput is a flipped conv, other strides sub-pixel convs or matmul + col2im.
const CONV_CASES: ConvCase[] = [
  { name: '3x3 s1 same 16x16', x: [2, 16, 16, 4], k: 3, cout: 6, stride: 1, pad: 'same' },
  { name: '3x3 s2 same 16x16', x: [2, 16, 16, 4], k: 3, cout: 6, stride: 2, pad: 'same' },
  { name: '3x3 s1 valid 8x8', x: [2, 8, 8, 3], k: 3, cout: 5, stride: 1, pad: 'valid' },
  { name: '3x3 s2 valid odd 9x7', x: [2, 9, 7, 3], k: 3, cout: 5, stride: 2, pad: 'valid' },
  { name: '3x3 s2 same odd 7x9', x: [3, 7, 9, 2], k: 3, cout: 4, stride: 2, pad: 'same' },
  { name: '1x1 s1 16x16', x: [2, 16, 16, 5], k: 1, cout: 7, stride: 1, pad: 'same' },
  { name: '1x1 s2 16x16', x: [2, 16, 16, 5], k: 1, cout: 7, stride: 2, pad: 'same' },
  { name: '3x3 s2 explicit', x: [2, 10, 10, 3], k: 3, cout: 4, stride: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { name: '3x3 s1 explicit', x: [2, 10, 10, 3], k: 3, cout: 4, stride: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { name: '3x3 s1 explicit 16x16', x: [2, 16, 16, 3], k: 3, cout: 4, stride: 1, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { name: '3x3 s2 explicit 16x16', x: [2, 16, 16, 3], k: 3, cout: 4, stride: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { name: '3x3 s2 same odd 17x15', x: [3, 17, 15, 2], k: 3, cout: 4, stride: 2, pad: 'same' },
  // Whole register tiles (channels multiples of 4 and 8), as in the encoder.
  { name: '3x3 s1 same 6x6 16->32', x: [2, 6, 6, 16], k: 3, cout: 32, stride: 1, pad: 'same' },
  { name: '3x3 s2 same 8x8 16->24', x: [2, 8, 8, 16], k: 3, cout: 24, stride: 2, pad: 'same' },
  { name: '1x1 s2 same 9x9 24->40', x: [2, 9, 9, 24], k: 1, cout: 40, stride: 2, pad: 'same' },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

for (const path of KERNEL_PATHS) {
  describe(`Conv2D forward and gradients on wasm match cpu (${path})`, () => {
    onKernelPath(path);
    for (const c of CONV_CASES) {
      it(c.name, async () => {
        const wShape = [c.k, c.k, c.x[3], c.cout];
        const yShape = tf.tidy(() => tf.conv2d(T(c.x, 1) as tf.Tensor4D, T(wShape, 2) as tf.Tensor4D, c.stride, c.pad).shape);
        await expectSame(() => {
          const x = T(c.x, 1) as tf.Tensor4D;
          const w = T(wShape, 2) as tf.Tensor4D;
          const dy = T(yShape, 3) as tf.Tensor4D;
          const y = tf.conv2d(x, w, c.stride, c.pad);
          const yFused = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias: T([c.cout], 4), activation: 'relu' });
          const dx = tf.conv2dTranspose(dy, w, c.x, c.stride, c.pad);
          const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
            strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape: wShape,
          }) as tf.Tensor;
          return [y, yFused, dx, dw];
        });
      });
    }
  });
}

describe('conv kernels reject what they do not support', () => {
  it('rejects NCHW and dilations with a clear error', async () => {
    await tf.setBackend('wasm');
    const x = T([1, 6, 6, 2], 1) as tf.Tensor4D;
    const dy = T([1, 6, 6, 3], 2) as tf.Tensor4D;
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3],
    })).toThrow(/only dataFormat 'NHWC'/);
    expect(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: T([1, 6, 6, 2], 3) }, {
      strides: [1, 1], pad: 'same', dilations: [2, 2], filterShape: [3, 3, 2, 1],
    })).toThrow(/only dilations 1/);
    tf.dispose([x, dy]);
  });
});

describe('depthwise gradients on wasm match cpu', () => {
  const cases: Array<{ name: string; x: [number, number, number, number]; mult: number; stride: 1 | 2; pad: 'same' | 'valid' }> = [
    { name: '3x3 s1 same mult 1', x: [2, 9, 9, 4], mult: 1, stride: 1, pad: 'same' },
    { name: '3x3 s2 same mult 2', x: [2, 9, 8, 3], mult: 2, stride: 2, pad: 'same' },
    { name: '3x3 s2 valid mult 1', x: [2, 8, 8, 3], mult: 1, stride: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const wShape = [3, 3, c.x[3], c.mult];
      await expectSame(() => {
        const x = T(c.x, 4);
        const w = T(wShape, 5);
        const f = (xi: tf.Tensor, wi: tf.Tensor) => tf.depthwiseConv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.stride, c.pad);
        const dy = T(tf.tidy(() => f(x, w).shape), 6);
        return tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi), dy)))([x, w]);
      });
    });
  }
});
