/**
 * Every SSL method of the registry under one budget: pretrain the encoder on the same number of
 * examples, then kNN (k = 20, τ = 0.07) and linear-probe accuracy of its frozen representation on
 * the Fashion-MNIST test set, next to a random-init encoder and raw pixels; and the wasm step time.
 *
 *   npm run bench:methods [-- --examples 2048] [--batch 32] [--methods byol,simclr,…]
 *                         [--eval-train 5000] [--eval-test 2000] [--widths 16,32,64] [--seed 0]
 *
 * The defaults (2,048 examples per method, eval on 5k train / 2k test) finish in about 15–20 min
 * on 2 shared cores; raise --examples for meaningful accuracies.
 *
 * Training is centralized (trainCentralized: one model, the target EMA'd every step with the
 * method's serverMomentum, else 0.99) — the per-method objective, not the federation, is what is
 * compared. Every method but colorization trains on Fashion-MNIST train images; colorization needs
 * colour and trains on the colour fixture (python3-skimage photos), so its number measures transfer.
 * Data: the full Fashion-MNIST (/usr/share/datasets/fashion-mnist, `dataset-fashion-mnist`) when
 * present, else the committed 2k/1k fixture. Prints a table, writes bench/reports/methods.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../shared/backends/node-backend';
import { colourToModelInput, loadColourFixture } from '../shared/data/colour-fixture';
import { loadFashionMnist } from '../shared/data/fashion-mnist';
import { loadFixture } from '../shared/data/fixture';
import type { LabeledImages } from '../shared/data/idx';
import { ImageBatchSource, toModelInput } from '../shared/data/images';
import { embedAll } from '../shared/eval/embed';
import { knnAccuracy } from '../shared/eval/knn';
import { linearProbe } from '../shared/eval/linear-probe';
import { buildEncoder, DEFAULT_ENCODER, type EncoderConfig } from '../shared/models/encoder';
import { createMethod, methodNames, resolveMethodConfig } from '../shared/ssl/registry';
import { trainCentralized } from '../shared/train/local-round';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPORT = path.join(HERE, 'reports', 'methods.json');
const SIZE = 32;
const CLASSES = 10;

interface Args {
  examples: number;
  batch: number;
  methods: string[];
  evalTrain: number;
  evalTest: number;
  widths: number[];
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { examples: 2048, batch: 32, methods: methodNames(), evalTrain: 5000, evalTest: 2000, widths: [16, 32, 64], seed: 0 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--examples': a.examples = Number(v); i++; break;
      case '--batch': a.batch = Number(v); i++; break;
      case '--methods': a.methods = v.split(','); i++; break;
      case '--eval-train': a.evalTrain = Number(v); i++; break;
      case '--eval-test': a.evalTest = Number(v); i++; break;
      case '--widths': a.widths = v.split(',').map(Number); i++; break;
      case '--seed': a.seed = Number(v); i++; break;
      case '--': break;
      default: throw new Error(`unknown flag ${argv[i]} (see the header of bench/methods.ts)`);
    }
  }
  for (const m of a.methods) if (!methodNames().includes(m)) throw new Error(`unknown method ${m} (known: ${methodNames().join(', ')})`);
  return a;
}

function loadSplit(split: 'train' | 'test'): { set: LabeledImages; source: string } {
  try {
    return { set: loadFashionMnist({ split }), source: 'Fashion-MNIST (full)' };
  } catch {
    return { set: loadFixture(split), source: 'Fashion-MNIST fixture (2k/1k)' };
  }
}

function subset(set: LabeledImages, n: number): { images: Float32Array; labels: Uint8Array; count: number } {
  const count = Math.min(n, set.count);
  return {
    images: toModelInput(set.images.subarray(0, count * 28 * 28), count, 28, 28, SIZE),
    labels: Uint8Array.from(set.labels.subarray(0, count)),
    count,
  };
}

interface Row {
  method: string;
  knn: number;
  linear: number;
  msPerStep: number | null;
  steps: number;
  firstLoss: number | null;
  lastLoss: number | null;
  trainData: string;
}

function evaluate(encoder: LayersModel, train: ReturnType<typeof subset>, test: ReturnType<typeof subset>): { knn: number; linear: number } {
  const trainEmb = embedAll(encoder, train.images, train.count, SIZE, 3);
  const testEmb = embedAll(encoder, test.images, test.count, SIZE, 3);
  const dim = trainEmb.length / train.count;
  return evalEmbeddings(trainEmb, testEmb, dim, train.labels, test.labels);
}

function evalEmbeddings(trainEmb: Float32Array, testEmb: Float32Array, dim: number, trainLabels: Uint8Array, testLabels: Uint8Array) {
  const knn = knnAccuracy({ trainEmb, trainLabels, testEmb, testLabels, dim, numClasses: CLASSES });
  const linear = linearProbe({ trainEmb, trainLabels, testEmb, testLabels, dim, numClasses: CLASSES, epochs: 10, seed: 0 }).accuracy;
  return { knn, linear };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backend = await initNodeBackend('wasm');
  const encoder: EncoderConfig = { ...DEFAULT_ENCODER, inputSize: SIZE, stemWidth: args.widths[0], widths: args.widths };
  const base = { encoder, projectionHidden: 128, projectionDim: 64 };
  const trainSplit = loadSplit('train');
  const testSplit = loadSplit('test');
  const evalTrain = subset(trainSplit.set, args.evalTrain);
  const evalTest = subset(testSplit.set, args.evalTest);
  // Pretraining pool: all train images (labels never used).
  const pool = subset(trainSplit.set, trainSplit.set.count);
  const colour = loadColourFixture();
  const steps = Math.max(1, Math.round(args.examples / args.batch));
  console.log(`backend ${backend}; ${trainSplit.source}; encoder widths [${args.widths}]; ${steps} steps × batch ${args.batch} = ${steps * args.batch} examples per method; eval ${evalTrain.count} train / ${evalTest.count} test`);

  const rows: Row[] = [];
  const t0 = performance.now();
  const pixelsTrain = evalTrain.images;
  const px = evalEmbeddings(pixelsTrain, evalTest.images, SIZE * SIZE * 3, evalTrain.labels, evalTest.labels);
  rows.push({ method: 'raw pixels', ...px, msPerStep: null, steps: 0, firstLoss: null, lastLoss: null, trainData: '-' });
  tf.tidy(() => undefined);
  const random = buildEncoder(encoder);
  rows.push({ method: 'random init', ...evaluate(random, evalTrain, evalTest), msPerStep: null, steps: 0, firstLoss: null, lastLoss: null, trainData: '-' });
  random.dispose();
  printRow(rows.at(-2)!);
  printRow(rows.at(-1)!);

  for (const name of args.methods) {
    const config = resolveMethodConfig(name, base);
    const method = createMethod(name, base);
    const isColour = name === 'colorization';
    const src = isColour
      ? new ImageBatchSource(colourToModelInput(colour), colour.count, colour.size, 3, args.seed)
      : new ImageBatchSource(pool.images, pool.count, SIZE, 3, args.seed);
    const tm = performance.now();
    const metrics = await trainCentralized({
      method, steps, batchSize: args.batch, seed: args.seed,
      nextBatch: (b) => tf.tensor4d(src.nextBatch(b), [b, SIZE, SIZE, 3]),
      targetMomentum: typeof config.serverMomentum === 'number' ? config.serverMomentum : 0.99,
      optimizer: { kind: 'adam', learningRate: 1e-3 },
    });
    const w = Math.max(1, Math.floor(metrics.losses.length / 10));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const row: Row = {
      method: name,
      ...evaluate(method.encoder, evalTrain, evalTest),
      msPerStep: metrics.msPerStep,
      steps,
      firstLoss: mean(metrics.losses.slice(0, w)),
      lastLoss: mean(metrics.losses.slice(-w)),
      trainData: isColour ? 'colour fixture' : 'Fashion-MNIST train',
    };
    rows.push(row);
    printRow(row, (performance.now() - tm) / 1000);
    method.dispose();
  }
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, JSON.stringify({ date: new Date().toISOString(), backend, args, data: trainSplit.source, seconds: (performance.now() - t0) / 1000, rows }, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), REPORT)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

let headerPrinted = false;
function printRow(r: Row, seconds?: number): void {
  if (!headerPrinted) {
    console.log(`\n${'method'.padEnd(14)} ${'kNN'.padStart(6)} ${'linear'.padStart(7)} ${'ms/step'.padStart(8)} ${'loss first→last'.padStart(18)}  train data`);
    headerPrinted = true;
  }
  const pct = (x: number) => (100 * x).toFixed(1).padStart(5) + '%';
  const loss = r.firstLoss == null ? '' : `${r.firstLoss.toFixed(3)}→${r.lastLoss!.toFixed(3)}`;
  console.log(
    `${r.method.padEnd(14)} ${pct(r.knn)} ${pct(r.linear).padStart(7)} ${(r.msPerStep == null ? '-' : r.msPerStep.toFixed(0)).padStart(8)} ${loss.padStart(18)}  ${r.trainData}${seconds ? ` (${seconds.toFixed(0)} s)` : ''}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
