/**
 * What it costs to offer an encoder version in every format, and how fast each runtime embeds:
 * the tfjs LayersModel export, safetensors encoding, the ONNX export (a Python child: interpreter
 * start + `import torch` + torch.onnx.export), the model card; then images/s of the same encoder
 * and batch in tfjs (wasm with Glimpse's kernels; stock cpu too with --cpu, slow) and ONNX
 * Runtime (onnxruntime-node, CPU), with the max |Δ| between their embeddings and tfjs's.
 *
 *   npm run bench:export [-- --repeats 3] [--batch 64] [--large] [--cpu]
 *
 * Prints a table and writes bench/reports/export.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, runMain } from '../shared/cli/args';
import { mulberry32 } from '../shared/data/rng';
import { buildEncoder, DEFAULT_ENCODER, LARGE_ENCODER } from '../shared/models/encoder';
import { readWeights } from '../shared/models/weights-io';
import { exportLayersModel } from '../server/model/encoder-export';
import { safetensorsMetadata } from '../server/model/encoder-files';
import { renderModelCard } from '../server/model/model-card';
import { exportOnnx, findTorchPython } from '../server/model/python';
import { encodeSafetensors } from '../server/model/safetensors';

const REPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports', 'export.json');

async function timed<T>(repeats: number, f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    value = await f();
    times.push(performance.now() - t0);
  }
  return { ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)], value };
}

async function main() {
  const { values } = parseArgs({ options: { repeats: { type: 'string' }, batch: { type: 'string' }, large: { type: 'boolean' }, cpu: { type: 'boolean' } } });
  const repeats = intFlag(values.repeats, 'repeats', 3, 1);
  const batch = intFlag(values.batch, 'batch', 64, 1);
  const config = values.large ? LARGE_ENCODER : DEFAULT_ENCODER;
  const run = { runId: 'bench', method: 'simclr', methodConfig: { encoder: config } };
  await initNodeBackend('wasm');
  const encoder = buildEncoder(config);
  const weights = readWeights([{ prefix: '', models: [encoder] }]);
  const py = await findTorchPython();
  console.log(`bench:export — encoder widths [${config.widths}], ${repeats} repeats (median), batch ${batch}; Python ${py ? `${py.command}, torch ${py.torchVersion}` : 'with torch: none'}`);

  const rows: Array<{ step: string; ms: number; bytes?: number }> = [];
  const layers = await timed(repeats, () => exportLayersModel(run.method, run.methodConfig, weights));
  rows.push({ step: 'tfjs LayersModel (model.json + weights)', ms: layers.ms, bytes: layers.value.weightData.byteLength });
  const st = await timed(repeats, () => encodeSafetensors(weights, safetensorsMetadata(run, { version: 1, source: 'online' }, config)));
  rows.push({ step: 'safetensors', ms: st.ms, bytes: st.value.byteLength });
  let onnx: Uint8Array | null = null;
  if (py) {
    const o = await timed(repeats, () => exportOnnx(st.value));
    onnx = o.value;
    rows.push({ step: 'ONNX (Python child: start, import torch, export)', ms: o.ms, bytes: o.value.byteLength });
  }
  const card = await timed(repeats, () => renderModelCard({
    version: 1, source: 'online', runId: 'bench', method: 'simclr', methodConfig: run.methodConfig, encoder: config, parameters: 0,
    training: { contributors: 0, updates: 0, examples: 0, firstUpdateAt: null, lastUpdateAt: null, clientKinds: {} },
    evaluation: null, evaluations: 0, dp: null, license: null, files: [], software: {}, createdAt: null,
  }));
  rows.push({ step: 'model card', ms: card.ms, bytes: Buffer.byteLength(card.value) });
  console.log('\nexport step                                         median ms      bytes');
  for (const r of rows) console.log(`${r.step.padEnd(50)} ${r.ms.toFixed(1).padStart(10)} ${String(r.bytes ?? '').padStart(10)}`);

  // Inference: the same images through each runtime.
  const s = config.inputSize;
  const nhwc = Float32Array.from({ length: batch * s * s * config.channels }, mulberry32(1));
  const x = tf.tensor4d(nhwc, [batch, s, s, config.channels]);
  const nchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
  const embedWith = async (backend: string) => {
    await tf.setBackend(backend);
    const t = await timed(repeats, () => tf.tidy(() => (encoder.predict(x) as tf.Tensor).dataSync() as Float32Array));
    return { runtime: `tfjs ${backend}`, ms: t.ms, out: t.value };
  };
  const results = [await embedWith('wasm'), ...(values.cpu ? [await embedWith('cpu')] : [])];
  if (onnx) {
    const session = await ort.InferenceSession.create(onnx);
    const feeds = { images: new ort.Tensor('float32', nchw, [batch, config.channels, s, s]) };
    await session.run(feeds); // warm-up
    const t = await timed(repeats, async () => (await session.run(feeds)).embedding.data as Float32Array);
    results.push({ runtime: `onnxruntime-node ${ort.env.versions.node ?? ''} (CPU)`, ms: t.ms, out: t.value });
    await session.release();
  }
  x.dispose();
  const ref = results[0].out;
  const inference = results.map((r) => ({
    runtime: r.runtime, ms: r.ms, imagesPerSecond: (batch / r.ms) * 1000,
    maxAbsDiffVsTfjsWasm: Math.max(...Array.from(r.out, (v, i) => Math.abs(v - ref[i]))),
  }));
  console.log('\nruntime                                   ms/batch    images/s   max |Δ| vs tfjs wasm');
  for (const r of inference) console.log(`${r.runtime.padEnd(40)} ${r.ms.toFixed(1).padStart(9)} ${r.imagesPerSecond.toFixed(0).padStart(11)}   ${r.maxAbsDiffVsTfjsWasm.toExponential(2)}`);

  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), encoder: config, repeats, batch, python: py, exports: rows, inference }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), REPORT)}`);
  encoder.dispose();
}

runMain(main);
