/**
 * Does the federation learn as well as centralized training? kNN accuracy of the encoder after
 * the same total number of training examples for (a) centralized training of the same encoder and
 * method, (b) the federation with IID shards, (c) with non-IID shards (Dirichlet label skew), plus
 * the raw-pixel and random-init baselines; for SimCLR and BYOL.
 *
 *   npm run bench:federated [-- --examples 6400] [--clients 2] [--alpha 0.5] [--methods simclr,byol]
 *                           [--local-steps 10] [--batch 32] [--eval-train 10000] [--eval-test 10000]
 *                           [--widths 32,64,128] [--data DIR|fixture]
 *
 * The federation is real: a Glimpse server (startServer, FedBuff K = clients, FedAvg, EMA target)
 * and `clients` FederationClients running the contributor loop over Socket.IO on loopback, all in
 * this process (so training interleaves on one thread: this measures accuracy per example, not
 * speed). Evaluation: weighted kNN (k = 20, cosine) on the Fashion-MNIST test set.
 * Prints a table and writes bench/reports/federated.json.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, numFlag, runMain } from '../shared/cli/args';
import { runContributor } from '../shared/contributor/loop';
import { ImageBatchSource, selectImages, shard, toModelInput } from '../shared/data/images';
import type { LabeledImages } from '../shared/data/idx';
import { loadTrainingData } from '../shared/data/source';
import { evaluateEncoder, makeEvalSet, rawPixelBaseline, type EvalSet } from '../shared/eval/evaluate';
import { buildEncoder, type EncoderConfig } from '../shared/models/encoder';
import { writeWeights } from '../shared/models/weights-io';
import { FederationClient } from '../shared/protocol/client';
import { createMethod, methodNames, resolveMethodConfig } from '../shared/ssl/registry';
import { syncTargetToOnline } from '../shared/ssl/momentum';
import { trainCentralized } from '../shared/train/local-round';
import { startServer } from '../server/server';

const REPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports', 'federated.json');

interface Row { method: string; setting: string; knn: number; examples: number; seconds: number }

async function main() {
  const { values } = parseArgs({
    options: {
      examples: { type: 'string' }, clients: { type: 'string' }, alpha: { type: 'string' }, methods: { type: 'string' },
      'local-steps': { type: 'string' }, batch: { type: 'string' }, 'eval-train': { type: 'string' }, 'eval-test': { type: 'string' },
      widths: { type: 'string' }, data: { type: 'string' },
    },
  });
  const examples = intFlag(values.examples, 'examples', 6400, 1);
  const clients = intFlag(values.clients, 'clients', 2, 1);
  const alpha = numFlag(values.alpha, 'alpha', 0.5, 1e-6);
  const localSteps = intFlag(values['local-steps'], 'local-steps', 10, 1);
  const batch = intFlag(values.batch, 'batch', 32, 2);
  const methods = (values.methods ?? 'simclr,byol').split(',');
  for (const m of methods) if (!methodNames().includes(m)) throw new Error(`unknown method ${m}`);
  const widths = (values.widths ?? '32,64,128').split(',').map(Number);
  const encoder: Partial<EncoderConfig> = { widths, stemWidth: widths[0] };
  const backend = await initNodeBackend('wasm');
  const { train, test, source } = loadTrainingData(values.data, (l) => console.log(`note: ${l}`));
  const evalSet = makeEvalSet(train, test, { trainCount: intFlag(values['eval-train'], 'eval-train', 10_000, 10), testCount: intFlag(values['eval-test'], 'eval-test', 10_000, 10) });
  const rounds = Math.max(1, Math.round(examples / (clients * localSteps * batch)));
  const fedExamples = rounds * clients * localSteps * batch;
  console.log(`bench:federated — ${source}, backend ${backend}, encoder widths [${widths}]; ${fedExamples} training examples per setting (${rounds} rounds × ${clients} clients × ${localSteps} steps × ${batch}); kNN bank ${evalSet.train.count} / queries ${evalSet.test.count}`);

  const rows: Row[] = [];
  const raw = rawPixelBaseline(evalSet);
  console.log(`raw pixels: kNN ${(raw * 100).toFixed(2)}%`);
  for (const method of methods) {
    const config = { encoder: encoder as EncoderConfig };
    const probe = createMethod(method, config);
    syncTargetToOnline(probe);
    const random = evaluateEncoder(probe.encoder, evalSet).knn;
    probe.dispose();
    rows.push({ method, setting: 'random init', knn: random, examples: 0, seconds: 0 });
    console.log(`${method}: random init kNN ${(random * 100).toFixed(2)}%`);

    let t0 = performance.now();
    const central = createMethod(method, config);
    syncTargetToOnline(central);
    const images = toModelInput(train.images, train.count, train.height, train.width, 32);
    const src = new ImageBatchSource(images, train.count, 32, 3, 7);
    await trainCentralized({ method: central, steps: fedExamples / batch, batchSize: batch, seed: 1, targetMomentum: 0.99, nextBatch: (b) => tf.tensor4d(src.nextBatch(b), [b, 32, 32, 3]) });
    const centralKnn = evaluateEncoder(central.encoder, evalSet).knn;
    central.dispose();
    rows.push({ method, setting: 'centralized', knn: centralKnn, examples: fedExamples, seconds: (performance.now() - t0) / 1000 });
    console.log(`${method}: centralized kNN ${(centralKnn * 100).toFixed(2)}%`);

    for (const [setting, mode] of [['federated IID', 'iid'], [`federated non-IID (α=${alpha})`, 'dirichlet']] as const) {
      t0 = performance.now();
      const knn = await federated(method, config, train, evalSet, { clients, rounds, localSteps, batch, mode, alpha });
      rows.push({ method, setting, knn, examples: fedExamples, seconds: (performance.now() - t0) / 1000 });
      console.log(`${method}: ${setting} kNN ${(knn * 100).toFixed(2)}%  (${((knn / centralKnn) * 100).toFixed(1)}% of centralized)`);
    }
  }

  console.log('\n| method | setting | kNN | vs centralized | examples | seconds |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| — | raw pixels | ${(raw * 100).toFixed(2)}% | | | |`);
  for (const r of rows) {
    const c = rows.find((x) => x.method === r.method && x.setting === 'centralized')!.knn;
    console.log(`| ${r.method} | ${r.setting} | ${(r.knn * 100).toFixed(2)}% | ${r.setting.startsWith('federated') ? `${((r.knn / c) * 100).toFixed(1)}%` : ''} | ${r.examples} | ${r.seconds.toFixed(0)} |`);
  }
  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), source, backend, widths, clients, alpha, localSteps, batch, rounds, examples: fedExamples, evalTrain: evalSet.train.count, evalTest: evalSet.test.count, rawPixel: raw, rows }, null, 2) + '\n');
  console.log(`report: ${REPORT}`);
}

async function federated(
  method: string, methodConfig: Record<string, unknown>, train: LabeledImages, evalSet: EvalSet,
  o: { clients: number; rounds: number; localSteps: number; batch: number; mode: 'iid' | 'dirichlet'; alpha: number },
): Promise<number> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-benchfed-'));
  const server = await startServer({ port: 0, dataDir, method, methodConfig, localSteps: o.localSteps, batchSize: o.batch, aggregation: { bufferSize: o.clients }, log: false });
  try {
    const parts = shard(train.labels, o.clients, o.mode === 'iid' ? { mode: 'iid', seed: 1 } : { mode: 'dirichlet', alpha: o.alpha, seed: 1 });
    await Promise.all(parts.map(async (idx, i) => {
      const mine = selectImages(train, idx);
      const src = new ImageBatchSource(toModelInput(mine.images, mine.count, mine.height, mine.width, 32), mine.count, 32, 3, i + 1);
      const client = new FederationClient({ url: server.url, clientKind: 'node', backend: tf.getBackend() });
      try {
        await runContributor({ client, sample: (b) => src.nextBatch(b), maxRounds: o.rounds, seed: i * 1000 });
      } finally {
        client.close();
      }
    }));
    const enc = await server.coordinator.encoderWeights(server.coordinator.version);
    const encoder = buildEncoder(resolveMethodConfig(method, methodConfig).encoder);
    writeWeights([{ prefix: '', models: [encoder] }], enc!.weights);
    const knn = evaluateEncoder(encoder, evalSet).knn;
    encoder.dispose();
    return knn;
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runMain(main);
