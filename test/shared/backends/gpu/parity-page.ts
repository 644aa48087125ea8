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

/**
 * The real architecture at toy widths, two stages (every kind of layer, as few distinct shapes as
 * possible: SwiftShader compiles one shader per op and shape), batch 4 of 16×16.
 */
const TINY: Partial<MethodConfig> = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' },
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

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * max |got − ref| / max |ref|, with the denominator at least `floor`: a gradient that is zero in
 * exact arithmetic (the bias of a layer a batch norm follows) is float noise on every backend, so
 * small gradients are compared on the scale of the largest.
 */
function relErr(ref: Float32Array, got: Float32Array, floor: number): number {
  let num = 0;
  for (let i = 0; i < ref.length; i++) num = Math.max(num, Math.abs(ref[i] - got[i]));
  return num / Math.max(maxAbs(ref), floor);
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
        // Floor: a hundredth of the largest gradient of any variable.
        const floor = 1e-2 * Math.max(...ref.slice(1).map(maxAbs));
        const errs = ref.map((r, i) => relErr(r, got[i], i === 0 ? 0 : floor));
        const w = errs.indexOf(Math.max(...errs));
        report[name][b] = { loss: [ref[0][0], got[0][0]], worst: errs[w], worstOf: w === 0 ? 'loss' : vars[w - 1].name, variables: vars.length, ms: Math.round(performance.now() - t0) };
      } catch (e) {
        report[name][b] = { error: String((e as Error)?.message ?? e).slice(0, 300), ms: Math.round(performance.now() - t0) };
      }
      console.info(`parity ${name} ${b} ${JSON.stringify(report[name][b])}`);
    }
    await tf.setBackend('cpu');
    tf.dispose([images, ...inputs]);
    method.dispose();
  }
  return report;
}

(globalThis as unknown as { runParity: typeof runParity }).runParity = runParity;
