/**
 * npm run bench:compression — what compressed updates cost in accuracy and save in bytes
 * (issue 14): the same federation (a Glimpse server, FedBuff K = clients, real contributor loops
 * over Socket.IO, real tfjs rounds, same seeds and data) run for the same number of versions with
 * each upload packing — float32, float16, int8 + error feedback, top-k 1% + error feedback, the
 * default int8 top-10% and int8 top-25% + error feedback — then
 * the kNN accuracy of the resulting encoder (weighted kNN, k = 20, on Fashion-MNIST or the
 * committed fixture; SimCLR by default, whose kNN moves at small budgets), the measured bytes per
 * upload, and the bytes per upload of the default BYOL model (packing is size-determined), and the drift of the final weights from the first
 * variant's run relative to how far that run moved (a finer signal than kNN at small budgets).
 * Also the pull of a new version: float32 whole vs the float16 difference from the version before.
 *
 *   npm run bench:compression [-- --versions 8] [--clients 2] [--local-steps 8] [--batch 32] [--method simclr]
 *                             [--widths 8,16,32] [--variants fp32,fp16,int8,fp32:topk=0.01]
 *                             [--eval-train 2000] [--eval-test 1000] [--data DIR|fixture]
 *
 * Goal: ≤ ¼ of float32's bytes at ≤ 0.5 kNN points lost. Writes bench/reports/compression.json.
 * Small budgets are noisy (a few hundred examples per client): read differences below about a
 * point as noise unless they repeat across seeds (--seeds).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, runMain } from '../shared/cli/args';
import { runContributor } from '../shared/contributor/loop';
import { ImageBatchSource, selectImages, shard, toModelInput } from '../shared/data/images';
import type { LabeledImages } from '../shared/data/idx';
import { loadTrainingData } from '../shared/data/source';
import { evaluateEncoder, makeEvalSet, type EvalSet } from '../shared/eval/evaluate';
import { buildEncoder, type EncoderConfig } from '../shared/models/encoder';
import { writeWeights } from '../shared/models/weights-io';
import { FederationClient } from '../shared/protocol/client';
import { parseUploadSpec, type UploadCompression } from '../shared/protocol/compression';
import { resolveMethodConfig } from '../shared/ssl/registry';
import { encodeWeights } from '../shared/weights/codec';
import type { WeightMap } from '../shared/weights/weight-map';
import { describeMethod } from '../server/model/method-info';
import { startServer } from '../server/server';

const REPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports', 'compression.json');
const DEFAULT_VARIANTS = 'fp32,fp16,int8,fp32:topk=0.01,int8:topk=0.1,int8:topk=0.25';

interface Row {
  variant: string;
  upload: UploadCompression;
  seed: number;
  knn: number;
  versions: number;
  bytesPerUpdate: number;
  ofFp32: number;
  defaultModelBytes: number;
  /** ‖w − w_fp32‖ / ‖w_fp32 − w_0‖ over the final online weights: how far packing moved the run off the first variant's trajectory. */
  drift: number;
  seconds: number;
}

async function main() {
  const { values } = parseArgs({
    options: {
      versions: { type: 'string' }, clients: { type: 'string' }, 'local-steps': { type: 'string' }, batch: { type: 'string' },
      widths: { type: 'string' }, variants: { type: 'string' }, 'eval-train': { type: 'string' }, 'eval-test': { type: 'string' },
      data: { type: 'string' }, seeds: { type: 'string' }, method: { type: 'string' },
    },
  });
  // SimCLR by default: at a CPU budget it is the method whose kNN measurably leaves random init
  // (README, "Methods"); BYOL needs far longer before kNN can tell settings apart.
  const method = values.method ?? 'simclr';
  const versions = intFlag(values.versions, 'versions', 8, 1);
  const clients = intFlag(values.clients, 'clients', 2, 1);
  const localSteps = intFlag(values['local-steps'], 'local-steps', 8, 1);
  const batch = intFlag(values.batch, 'batch', 32, 2);
  const seeds = intFlag(values.seeds, 'seeds', 1, 1);
  const widths = (values.widths ?? '8,16,32').split(',').map(Number);
  const variants = (values.variants ?? DEFAULT_VARIANTS).split(',').map((v) => ({ name: v, upload: parseUploadSpec(v) }));
  const methodConfig = { encoder: { widths, stemWidth: widths[0] } as Partial<EncoderConfig> };
  const backend = await initNodeBackend('wasm');
  const { train, test, source } = loadTrainingData(values.data, (l) => console.log(`note: ${l}`));
  const evalSet = makeEvalSet(train, test, {
    trainCount: Math.min(train.count, intFlag(values['eval-train'], 'eval-train', 2000, 10)),
    testCount: Math.min(test.count, intFlag(values['eval-test'], 'eval-test', 1000, 10)),
  });
  console.log(`bench:compression — ${source}, backend ${backend}, ${method} widths [${widths}], ${versions} versions × K = ${clients} (${clients} clients × ${localSteps} steps × batch ${batch} per version); kNN bank ${evalSet.train.count} / queries ${evalSet.test.count}; load ${loadavg()[0].toFixed(1)}`);

  // Bytes per upload of the default model (size-determined): a synthetic delta of its online shapes.
  const info = await describeMethod('byol', {});
  const defaultDelta: WeightMap = new Map(info.onlineSpecs.map((s, i) => [s.name, { shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(i * 7919 + j) * 1e-3) }]));
  // Bitmap positions where smaller, as contributors write them for a server that lists them (ours).
  const defaultBytes = (u: UploadCompression) => encodeWeights(defaultDelta, { pack: u.dtype === 'float32' && !u.topK ? undefined : { dtype: u.dtype, block: u.block, topK: u.topK }, bitmaps: true }).length;

  const rows: Row[] = [];
  let downloads: { fullBytes: number; fp16DiffBytes: number } | null = null;
  let reference: { initial: WeightMap; final: WeightMap } | null = null;
  for (let seed = 1; seed <= seeds; seed++) {
    for (const v of variants) {
      const t0 = performance.now();
      const r = await federate(method, v.upload, methodConfig, train, evalSet, { clients, versions, localSteps, batch, seed });
      downloads ??= r.downloads;
      const fp32 = rows.find((x) => x.seed === seed && x.variant === variants[0].name)?.bytesPerUpdate ?? r.bytesPerUpdate;
      if (v === variants[0]) reference = { initial: r.initial, final: r.final };
      const row: Row = {
        variant: v.name, upload: v.upload, seed, knn: r.knn, versions: r.versions, bytesPerUpdate: r.bytesPerUpdate, ofFp32: r.bytesPerUpdate / fp32,
        defaultModelBytes: defaultBytes(v.upload), drift: drift(r.final, reference!), seconds: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      console.log(`seed ${seed} ${v.name.padEnd(16)} kNN ${(r.knn * 100).toFixed(2)}%  ${r.bytesPerUpdate.toFixed(0)} B/update (${(100 * row.ofFp32).toFixed(1)}% of fp32)  drift ${(100 * row.drift).toFixed(2)}%  v${r.versions}  ${row.seconds.toFixed(0)} s`);
    }
  }

  const summary = variants.map((v) => {
    const mine = rows.filter((r) => r.variant === v.name);
    const base = rows.filter((r) => r.variant === variants[0].name);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const knn = mean(mine.map((r) => r.knn));
    const lost = (mean(base.map((r) => r.knn)) - knn) * 100;
    const ofFp32 = mean(mine.map((r) => r.ofFp32));
    const defaultModelBytes = mine[0].defaultModelBytes;
    return { variant: v.name, knn, knnPointsLost: lost, ofFp32, drift: mean(mine.map((r) => r.drift)), defaultModelBytes, defaultModelOfFp32: defaultModelBytes / defaultBytes(variants[0].upload), meetsGoal: ofFp32 <= 0.25 && lost <= 0.5 };
  });
  console.log(`\n| upload | kNN | points lost vs ${variants[0].name} | drift from ${variants[0].name} | bytes vs fp32 (this model) | bytes/update, default model | vs fp32 | goal (≤ ¼ bytes, ≤ 0.5 pt) |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of summary) {
    console.log(`| ${s.variant} | ${(s.knn * 100).toFixed(2)}% | ${s.knnPointsLost.toFixed(2)} | ${(100 * s.drift).toFixed(2)}% | ${(100 * s.ofFp32).toFixed(1)}% | ${(s.defaultModelBytes / 1e6).toFixed(3)} MB | ${(100 * s.defaultModelOfFp32).toFixed(1)}% | ${s === summary[0] ? 'reference' : s.meetsGoal ? 'met' : 'not met'} |`);
  }
  if (downloads) console.log(`\npull of a new version (this model): float32 whole ${downloads.fullBytes} B, float16 difference ${downloads.fp16DiffBytes} B (${((100 * downloads.fp16DiffBytes) / downloads.fullBytes).toFixed(1)}%)`);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), source, backend, method, widths, clients, localSteps, batch, versions, seeds, loadavg: loadavg(), evalTrain: evalSet.train.count, evalTest: evalSet.test.count, rows, summary, downloads }, null, 2) + '\n');
  console.log(`report: ${REPORT}`);
}

async function federate(
  method: string, upload: UploadCompression, methodConfig: Record<string, unknown>, train: LabeledImages, evalSet: EvalSet,
  o: { clients: number; versions: number; localSteps: number; batch: number; seed: number },
): Promise<{ knn: number; versions: number; bytesPerUpdate: number; downloads: { fullBytes: number; fp16DiffBytes: number }; initial: WeightMap; final: WeightMap }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-benchcomp-'));
  const server = await startServer({ port: 0, dataDir, method, methodConfig, seed: o.seed, localSteps: o.localSteps, batchSize: o.batch, aggregation: { bufferSize: o.clients }, upload, log: process.env.BENCH_LOG ? undefined : false });
  const online = (w: WeightMap): WeightMap => new Map([...w].filter(([n]) => !n.startsWith('target/')).map(([n, t]) => [n, { shape: t.shape, data: new Float32Array(t.data) }]));
  const initial = online(server.coordinator.globalState.online);
  try {
    const parts = shard(train.labels, o.clients, { mode: 'iid', seed: o.seed });
    const sent: number[] = [];
    await Promise.all(parts.map(async (idx, i) => {
      const mine = selectImages(train, idx);
      const src = new ImageBatchSource(toModelInput(mine.images, mine.count, mine.height, mine.width, 32), mine.count, 32, 3, o.seed * 100 + i);
      const client = new FederationClient({ url: server.url, clientKind: 'node', backend: tf.getBackend() });
      try {
        await runContributor({ client, sample: (b) => src.nextBatch(b), maxRounds: o.versions, seed: o.seed * 1000 + i * 100, waitForNextVersion: true, onRound: (r) => sent.push(r.uploadBytes) });
      } finally {
        client.close();
      }
    }));
    const c = server.coordinator;
    // The last clients' updates may still be folding: wait for the server to settle.
    for (let i = 0; i < 2400 && (c.aggregating || c.bufferFill >= o.clients); i++) await new Promise((r) => setTimeout(r, 50));
    const v = c.version;
    const full = await c.pull(v);
    const diff = await c.pull(v, { dtype: 'float16', since: v - 1 });
    const enc = await c.encoderWeights(v);
    const encoder = buildEncoder(resolveMethodConfig(method, methodConfig).encoder);
    writeWeights([{ prefix: '', models: [encoder] }], enc!.weights);
    const knn = evaluateEncoder(encoder, evalSet).knn;
    encoder.dispose();
    const size = (p: typeof full) => ('bytes' in p ? p.bytes.length : NaN);
    return {
      knn, versions: v, bytesPerUpdate: sent.reduce((a, b) => a + b, 0) / sent.length, downloads: { fullBytes: size(full), fp16DiffBytes: size(diff) },
      initial, final: online(c.globalState.online),
    };
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** ‖w − ref.final‖ / ‖ref.final − ref.initial‖ (0 for the reference itself). */
function drift(w: WeightMap, ref: { initial: WeightMap; final: WeightMap }): number {
  let off = 0;
  let moved = 0;
  for (const [n, t] of ref.final) {
    const a = w.get(n)!.data;
    const o = ref.initial.get(n)!.data;
    for (let i = 0; i < t.data.length; i++) {
      off += (a[i] - t.data[i]) ** 2;
      moved += (t.data[i] - o[i]) ** 2;
    }
  }
  return Math.sqrt(off / moved);
}

runMain(main);
