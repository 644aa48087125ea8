/**
 * The fused LayerNormalization (kernels GlimpseLayerNorm / GlimpseLayerNormGrad, the op
 * layerNormLastAxis and the tfjs-layers patch) on wasm against stock tfjs-layers on cpu, on
 * Glimpse's SIMD kernels and on their JS fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { layerNormLastAxis } from '../../../../shared/backends/wasm/layer-norm-op';
import { expectSame, KERNEL_PATHS, onKernelPath, relErr, T, TOL } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

for (const path of KERNEL_PATHS) {
  describe(`fused LayerNormalization on wasm matches stock tfjs-layers on cpu (${path})`, () => {
    onKernelPath(path);
    it('forward and gradients of x, gamma, beta', async () => {
      const shape = [2, 5, 5, 12];
      const layers = new Map<string, tfl.layers.Layer>();
      const make = () => {
        const ln = tfl.layers.layerNormalization({ axis: -1, epsilon: 1e-5 });
        ln.build(shape);
        ln.setWeights([T([12], 18), T([12], 19)]);
        return ln;
      };
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        if (!layers.has(backend)) layers.set(backend, make());
        const ln = layers.get(backend)!;
        return tf.tidy(() => {
          const x = T(shape, 20);
          const dy = T(shape, 21);
          const vars = ln.trainableWeights.map((w) => w.read() as tf.Variable);
          const f = (xi: tf.Tensor) => tf.sum(tf.mul(ln.apply(xi) as tf.Tensor, dy)) as tf.Scalar;
          const y = ln.apply(x) as tf.Tensor;
          const dx = tf.grad(f)(x);
          const { grads } = tf.variableGrads(() => f(x), vars);
          return [y, dx, ...vars.map((v) => grads[v.name])].map((t) => t.dataSync() as Float32Array);
        });
      };
      const cpu = await run('cpu');
      const wasm = await run('wasm');
      cpu.forEach((ref, i) => expect(relErr(ref, wasm[i]), `output ${i}`).toBeLessThanOrEqual(TOL));
      for (const l of layers.values()) for (const w of l.weights) w.dispose();
    });

    it('runs as the fused kernel on wasm', async () => {
      await tf.setBackend('wasm');
      const ln = tfl.layers.layerNormalization({ axis: -1 });
      const x = T([3, 8], 26);
      const info = await tf.profile(() => tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.sum(ln.apply(xi) as tf.Tensor))(x)));
      const names = info.kernels.map((k) => k.name);
      expect(names).toContain('GlimpseLayerNorm');
      expect(names).toContain('GlimpseLayerNormGrad');
      expect(names).not.toContain('FusedBatchNorm');
      tf.dispose([x, info.result as tf.Tensor]);
      for (const w of ln.weights) w.dispose();
    });

    // 20 channels: whole SIMD vectors; 7: a scalar tail; 600 rows: several work items.
    for (const [rows, c] of [[6, 20], [5, 7], [600, 12]]) {
      it(`layerNormLastAxis equals the op composition [${rows}, ${c}]`, async () => {
        await expectSame(() => {
          const x = T([rows, c], 22);
          const g = T([c], 23);
          const b = T([c], 24);
          const dy = T([rows, c], 25);
          const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(layerNormLastAxis(xi, gi, bi, 1e-5), dy));
          return [layerNormLastAxis(x, g, b, 1e-5), ...tf.grads(f)([x, g, b])];
        });
      });
    }
  });
}
