/**
 * Runs in a Chromium page (bundled by ./parity.test.ts): for every method of the SSL registry,
 * one step's loss and the gradients of every trained variable on the cpu backend (the
 * reference) and on each GPU backend, from the same weights and the same prepared batch.
 * Returns the worst relative difference per method and backend, or the error a backend threw.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { registerTileGradient } from '../../../../shared/backends/tile-gradient';
import type { MethodConfig, SslMethod } from '../../../../shared/ssl/method';
import { createMethod, methodNames } from '../../../../shared/ssl/registry';
import { mainVariables } from '../../../../shared/train/local-round';

/** The real architecture at toy widths (as the method tests use), batch 4 of 16×16. */
const TINY: Partial<MethodConfig> = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16, 16], strides: [1, 2, 2], blocksPerStage: [1, 1, 1], norm: 'layer' },
  projectionHidden: 32,
  projectionDim: 16,
};
const EXTRA: Record<string, Partial<MethodConfig>> = { jigsaw: { permutations: 8 }, moco: { queueSize: 32 }, mocov2: { queueSize: 32 } };

export interface Difference {
  /** Loss on cpu and on the backend. */
  loss?: [number, number];
  /** max |backend − cpu| / max |cpu| over the loss and each gradient; the worst one named. */
  worst?: number;
  worstOf?: string;
  variables?: number;
  error?: string;
  ms?: number;
}

async function lossAndGrads(method: SslMethod, inputs: tf.Tensor[], vars: tf.Variable[]): Promise<Float32Array[]> {
  const { value, grads } = tf.variableGrads(() => method.loss(inputs), vars);
  const out = [value, ...vars.map((v) => grads[v.name])];
  // Asynchronous reads: a synchronous read of a WebGPU tensor is not supported.
  const data = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
  tf.dispose(out);
  return data;
}

function relErr(ref: Float32Array, got: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(ref[i] - got[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return den === 0 ? num : num / den;
}

async function runParity(backends: string[]): Promise<Record<string, Record<string, Difference>>> {
  registerTileGradient();
  const report: Record<string, Record<string, Difference>> = {};
  for (const name of methodNames()) {
    report[name] = {};
    await tf.setBackend('cpu');
    const method = createMethod(name, { ...TINY, ...(EXTRA[name] ?? {}) });
    const vars = mainVariables(method);
    const images = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    // Prepared once on cpu: every backend sees the very same augmented views.
    const inputs = method.prepare(images, 3);
    const ref = await lossAndGrads(method, inputs, vars);
    for (const b of backends) {
      const t0 = performance.now();
      try {
        if (!(await tf.setBackend(b))) throw new Error(`${b} did not initialise`);
        const got = await lossAndGrads(method, inputs, vars);
        const errs = ref.map((r, i) => relErr(r, got[i]));
        const w = errs.indexOf(Math.max(...errs));
        report[name][b] = { loss: [ref[0][0], got[0][0]], worst: errs[w], worstOf: w === 0 ? 'loss' : vars[w - 1].name, variables: vars.length, ms: Math.round(performance.now() - t0) };
      } catch (e) {
        report[name][b] = { error: String((e as Error)?.message ?? e).slice(0, 300), ms: Math.round(performance.now() - t0) };
      }
    }
    await tf.setBackend('cpu');
    tf.dispose([images, ...inputs]);
    method.dispose();
  }
  return report;
}

(globalThis as unknown as { runParity: typeof runParity }).runParity = runParity;
