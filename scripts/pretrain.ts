/**
 * Centralized self-supervised pretraining on Fashion-MNIST, with progress output and a final kNN
 * evaluation next to the random-init encoder and the raw-pixel baseline. This is the reference
 * the federation is measured against (bench/federated.ts) and a quick way to see the core work.
 *
 *   npm run pretrain -- [--method byol|simclr] [--steps 150] [--batch 32] [--data DIR|fixture]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../shared/backends/node-backend';
import { choiceFlag, intFlag, numFlag, runMain } from '../shared/cli/args';
import { loadTrainingData } from '../shared/data/source';
import { ImageBatchSource, toModelInput } from '../shared/data/images';
import { evaluateEncoder, makeEvalSet, rawPixelBaseline } from '../shared/eval/evaluate';
import { saveModelToDir } from '../shared/models/node-io';
import { createMethod, methodNames } from '../shared/ssl/registry';
import { withSeededInit } from '../shared/models/seeded-init';
import { syncTargetToOnline } from '../shared/ssl/momentum';
import { trainCentralized } from '../shared/train/local-round';

const HELP = `Usage: npm run pretrain -- [options]
  --method NAME      SSL method (${methodNames().join(', ')}; default simclr)
  --steps N          optimizer steps (default 150)
  --batch N          images per step (default 32; two views each)
  --lr X             Adam learning rate (default 0.001)
  --momentum M       target EMA momentum for methods with a target (default 0.99)
  --data DIR|fixture Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist or
                     $GLIMPSE_FASHION_MNIST_DIR), or 'fixture' for the committed 2k/1k subset
  --eval-train N     kNN memory-bank size (default 5000)  --eval-test N  queries (default 1000)
  --backend wasm|cpu (default wasm)   --out DIR  where to save the encoder (default .glimpse/pretrain)
  --threads N        cores one step uses on wasm (default: all)
  --seed N`;

async function main() {
  const { values } = parseArgs({
    options: {
      method: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
      momentum: { type: 'string' }, data: { type: 'string' }, 'eval-train': { type: 'string' }, 'eval-test': { type: 'string' },
      backend: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(HELP);
  const methodName = choiceFlag(values.method, 'method', methodNames(), 'simclr');
  const steps = intFlag(values.steps, 'steps', 150, 1);
  const batch = intFlag(values.batch, 'batch', 32, 2);
  const lr = numFlag(values.lr, 'lr', 1e-3, 0, 10);
  const momentum = numFlag(values.momentum, 'momentum', 0.99, 0, 1);
  const seed = intFlag(values.seed, 'seed', 1);
  const threads = intFlag(values.threads, 'threads', availableParallelism(), 1);
  const backend = await initNodeBackend(choiceFlag(values.backend, 'backend', ['wasm', 'cpu'] as const, 'wasm'), { threads });

  const { train, test, source } = loadTrainingData(values.data, (line) => console.log(`note: ${line}`));
  const evalSet = makeEvalSet(train, test, { trainCount: intFlag(values['eval-train'], 'eval-train', 5000, 10), testCount: intFlag(values['eval-test'], 'eval-test', 1000, 10) });
  console.log(`Glimpse centralized pretraining: ${methodName}, ${steps} steps × ${batch} images, backend ${backend}, data ${source}`);
  console.log(`evaluation: kNN (k=20, cosine, weighted vote) with ${evalSet.train.count} bank / ${evalSet.test.count} queries`);

  // The same --seed fixes the initial weights too (shared/models/seeded-init.ts).
  const method = withSeededInit(seed, () => createMethod(methodName));
  syncTargetToOnline(method);
  const raw = rawPixelBaseline(evalSet);
  const random = evaluateEncoder(method.encoder, evalSet).knn;
  console.log(`raw-pixel kNN ${(raw * 100).toFixed(1)}%   random-init encoder kNN ${(random * 100).toFixed(1)}%`);

  const source32 = new ImageBatchSource(toModelInput(train.images, train.count, train.height, train.width, 32), train.count, 32, 3, seed);
  const t0 = performance.now();
  const metrics = await trainCentralized({
    method, steps, batchSize: batch, seed, targetMomentum: momentum,
    optimizer: { kind: 'adam', learningRate: lr },
    nextBatch: (b) => tf.tensor4d(source32.nextBatch(b), [b, 32, 32, 3]),
    onStep: (i, loss, ms) => {
      if (i === 0 || (i + 1) % 10 === 0 || i === steps - 1) {
        const elapsed = (performance.now() - t0) / 1000;
        console.log(`step ${String(i + 1).padStart(5)}/${steps}  loss ${loss.toFixed(4)}  ${ms.toFixed(0)} ms/step  ${((batch * 1000) / ms).toFixed(1)} img/s  ${elapsed.toFixed(0)} s`);
      }
    },
  });
  // The online encoder is the product (server/model/encoder-export.ts); the EMA target is shown beside it.
  const product = method.encoder;
  const trained = evaluateEncoder(product, evalSet).knn;
  const target = method.target.models.length ? evaluateEncoder(method.target.models[0], evalSet).knn : trained;
  const out = values.out ?? '.glimpse/pretrain';
  await saveModelToDir(product, out);
  console.log('');
  console.log('kNN accuracy (Fashion-MNIST test queries)');
  console.log(`  raw pixels            ${(raw * 100).toFixed(1)}%`);
  console.log(`  random-init encoder   ${(random * 100).toFixed(1)}%`);
  console.log(`  trained encoder       ${(trained * 100).toFixed(1)}%${method.target.models.length ? `   (EMA target ${(target * 100).toFixed(1)}%)` : ''}`);
  console.log(`trained ${metrics.examples} examples in ${((performance.now() - t0) / 1000).toFixed(0)} s (${metrics.msPerStep.toFixed(0)} ms/step); encoder saved to ${out}/model.json`);
  if (!(trained > random)) console.log('warning: the trained encoder did not beat random init; train longer (--steps)');
}

runMain(main);
