/**
 * Measures the encoder's normalization choice (shared/models/encoder.ts): the same SimCLR budget
 * with LayerNorm (Glimpse's choice), BatchNorm and no normalization in the encoder, each trained
 * centralized and as a 2-client non-IID federation of the same examples (BatchNorm's running
 * statistics are what non-IID clients disagree on, Hsieh et al. 2020). Reports kNN accuracy and
 * the collapse check (mean per-dimension std of L2-normalised embeddings; → 0 when collapsed).
 *
 *   npm run bench:normalization [-- --steps 60] [--widths 16,32,64] [--data fixture|DIR]
 *
 * Prints a table and writes bench/reports/normalization.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, runMain } from '../shared/cli/args';
import { ImageBatchSource, selectImages, shard, toModelInput } from '../shared/data/images';
import { loadTrainingData } from '../shared/data/source';
import { embedAll } from '../shared/eval/embed';
import { embeddingStd, evaluateEncoder, makeEvalSet } from '../shared/eval/evaluate';
import type { NormKind } from '../shared/models/encoder';
import { createMethod } from '../shared/ssl/registry';
import { initialGlobalWeights, loadGlobal, runLocalRound, trainCentralized } from '../shared/train/local-round';
import { cloneWeights, type WeightMap } from '../shared/weights/weight-map';

const REPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports', 'normalization.json');

async function main() {
  const { values } = parseArgs({ options: { steps: { type: 'string' }, widths: { type: 'string' }, data: { type: 'string' } } });
  const steps = intFlag(values.steps, 'steps', 60, 2);
  const widths = (values.widths ?? '16,32,64').split(',').map(Number);
  await initNodeBackend('wasm');
  const { train, test, source } = loadTrainingData(values.data ?? 'fixture');
  const set = makeEvalSet(train, test, { trainCount: 2000, testCount: 1000 });
  const images = toModelInput(train.images, train.count, train.height, train.width, 32);
  const parts = shard(train.labels, 2, { mode: 'dirichlet', alpha: 0.3, seed: 1 }).map((idx) => {
    const s = selectImages(train, idx);
    return toModelInput(s.images, s.count, s.height, s.width, 32);
  });
  console.log(`bench:normalization — SimCLR, ${steps} steps × 32 on ${source}, encoder widths [${widths}]; kNN 2000 bank / 1000 queries`);
  const rows: Record<string, unknown>[] = [];
  for (const norm of ['layer', 'batch', 'none'] as NormKind[]) {
    const config = { encoder: { widths, stemWidth: widths[0], norm } as never };
    const score = (m: ReturnType<typeof createMethod>) => {
      const { knn } = evaluateEncoder(m.encoder, set);
      const emb = embedAll(m.encoder, set.test.images, set.test.count, 32, 3);
      return { knn, std: embeddingStd(emb, emb.length / set.test.count) };
    };
    const m = createMethod('simclr', config);
    const init = initialGlobalWeights(m);
    const random = score(m);
    const src = new ImageBatchSource(images, train.count, 32, 3, 1);
    await trainCentralized({ method: m, steps, batchSize: 32, seed: 1, targetMomentum: 0.99, nextBatch: (b) => tf.tensor4d(src.nextBatch(b), [b, 32, 32, 3]) });
    const central = score(m);
    // A federation of two label-skewed clients, FedAvg with K = 2, 5 local steps per round.
    let global: WeightMap = cloneWeights(init);
    const sources = parts.map((p, i) => new ImageBatchSource(p, p.length / (32 * 32 * 3), 32, 3, 10 + i));
    for (let r = 0; r < Math.ceil(steps / 10); r++) {
      const deltas: WeightMap[] = [];
      for (const [i, s] of sources.entries()) {
        const { delta } = await runLocalRound({ method: m, global, steps: 5, batchSize: 32, seed: r * 100 + i, nextBatch: (b) => tf.tensor4d(s.nextBatch(b), [b, 32, 32, 3]) });
        deltas.push(delta);
      }
      const next = cloneWeights(global);
      for (const [name, t] of next) {
        const d = deltas.map((x) => x.get(name));
        if (d[0]) for (let k = 0; k < t.data.length; k++) t.data[k] += (d[0].data[k] + d[1]!.data[k]) / 2;
      }
      global = next;
    }
    loadGlobal(m, global);
    const federated = score(m);
    m.dispose();
    rows.push({ norm, random, centralized: central, federatedNonIid: federated });
    console.log(`${norm.padEnd(6)} random kNN ${(random.knn * 100).toFixed(1)}% (std ${random.std.toFixed(3)})  centralized ${(central.knn * 100).toFixed(1)}% (std ${central.std.toFixed(3)})  federated non-IID ${(federated.knn * 100).toFixed(1)}% (std ${federated.std.toFixed(3)})`);
  }
  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), steps, widths, source, rows }, null, 2) + '\n');
  console.log(`report: ${REPORT}`);
}

runMain(main);
