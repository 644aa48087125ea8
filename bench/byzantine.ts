/**
 * Byzantine contributors (issue 13): kNN of the encoder after the same number of versions under
 * each attack (bench/byzantine-attacks.ts) for plain FedAvg and each robust rule, next to a clean
 * run, plus DP-FedAvg's cost (clean, DP on vs off).
 *
 *   npm run bench:byzantine [-- --versions 5] [--clients 10] [--attackers 2] [--alpha 0.3]
 *        [--rules none,centered-clip,trimmed-mean,median] [--attacks clean,sign-flip,…] [--no-dp]
 *        [--dp-noise 1] [--local-steps 3] [--batch 16] [--widths 8,16,16] [--method simclr]
 *        [--eval-train 1000] [--eval-test 500] [--data DIR|fixture] [--cost-only]
 *
 * The server is real (startServer, Socket.IO on loopback, one token per contributor so that the
 * server can tell them apart); so are the honest contributors' local rounds (tfjs, non-IID
 * Dirichlet shards). Each version is one round: every contributor pulls, the honest ones train,
 * the attackers (20% by default, omniscient and colluding) craft their deltas from the honest
 * ones, all submit, and the buffer (K = contributors) folds. 'none' is plain FedAvg with no
 * defence at all (the norm guard's relative bound off); robust rules keep the default guard.
 * --cost-only times one robust combine of K deltas of the model's size per rule, no training.
 * Prints a table and writes bench/reports/byzantine.json.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, numFlag, runMain } from '../shared/cli/args';
import { ImageBatchSource, selectImages, toModelInput } from '../shared/data/images';
import { mulberry32 } from '../shared/data/rng';
import { shard } from '../shared/data/shard';
import { loadTrainingData } from '../shared/data/source';
import { evaluateEncoder, makeEvalSet, type EvalSet } from '../shared/eval/evaluate';
import { buildEncoder, type EncoderConfig } from '../shared/models/encoder';
import { writeWeights } from '../shared/models/weights-io';
import { FederationClient } from '../shared/protocol/client';
import { createMethod, resolveMethodConfig } from '../shared/ssl/registry';
import { initialGlobalWeights, runLocalRound } from '../shared/train/local-round';
import type { WeightMap } from '../shared/weights/weight-map';
import { l2NormOf } from '../server/aggregation/fold';
import { DEFAULT_ROBUST, ROBUST_KINDS, robustCombine, type RobustKind } from '../server/aggregation/robust';
import { median } from '../server/aggregation/validate';
import { startServer } from '../server/server';
import { ATTACKS, attackDelta, type Attack } from './byzantine-attacks';

const REPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports', 'byzantine.json');

interface Opts {
  method: string; methodConfig: Record<string, unknown>; versions: number; clients: number; attackers: number;
  localSteps: number; batch: number; alpha: number; dpNoise: number;
  /** Centered clipping's settings for this bench (defaults: the server's). */
  cc: { bucketSize?: number; center?: 'previous' | 'zero' };
}
interface Row { rule: string; attack: Attack; knn: number; versions: number; seconds: number; flagged: number; flaggedHonest: number; honestNorm: number }

async function main() {
  const { values: v } = parseArgs({
    options: {
      versions: { type: 'string' }, clients: { type: 'string' }, attackers: { type: 'string' }, alpha: { type: 'string' }, rules: { type: 'string' },
      attacks: { type: 'string' }, 'no-dp': { type: 'boolean' }, 'dp-noise': { type: 'string' }, 'local-steps': { type: 'string' }, batch: { type: 'string' },
      widths: { type: 'string' }, method: { type: 'string' }, 'eval-train': { type: 'string' }, 'eval-test': { type: 'string' }, data: { type: 'string' },
      'cost-only': { type: 'boolean' }, 'bucket-size': { type: 'string' }, 'cc-center': { type: 'string' },
    },
  });
  const widths = (v.widths ?? '8,16,16').split(',').map(Number);
  const method = v.method ?? 'simclr';
  const methodConfig = { encoder: { widths, stemWidth: widths[0] } as Partial<EncoderConfig> };
  const o: Opts = {
    method, methodConfig, versions: intFlag(v.versions, 'versions', 5, 1), clients: intFlag(v.clients, 'clients', 10, 2),
    attackers: intFlag(v.attackers, 'attackers', 2, 0), localSteps: intFlag(v['local-steps'], 'local-steps', 3, 1), batch: intFlag(v.batch, 'batch', 16, 2),
    alpha: numFlag(v.alpha, 'alpha', 0.3, 1e-6), dpNoise: numFlag(v['dp-noise'], 'dp-noise', 1, 1e-6),
    cc: { ...(v['bucket-size'] ? { bucketSize: intFlag(v['bucket-size'], 'bucket-size', 2, 1) } : {}), ...(v['cc-center'] ? { center: v['cc-center'] as 'previous' | 'zero' } : {}) },
  };
  if (o.attackers >= o.clients) throw new Error('--attackers must be fewer than --clients');
  const rules = (v.rules ?? ROBUST_KINDS.join(',')).split(',') as RobustKind[];
  for (const r of rules) if (!ROBUST_KINDS.includes(r)) throw new Error(`unknown rule ${r}`);
  const attacks = (v.attacks ?? ATTACKS.join(',')).split(',') as Attack[];
  for (const a of attacks) if (!ATTACKS.includes(a)) throw new Error(`unknown attack ${a}`);
  const backend = await initNodeBackend('wasm');
  if (v['cost-only']) return costOnly(o, rules);

  const { train, test, source } = loadTrainingData(v.data ?? 'fixture');
  const evalSet = makeEvalSet(train, test, { trainCount: intFlag(v['eval-train'], 'eval-train', 1000, 10), testCount: intFlag(v['eval-test'], 'eval-test', 500, 10) });
  console.log(`bench:byzantine — ${source}, backend ${backend}, ${method} widths [${widths}], ${o.clients} contributors (${o.attackers} attacking), non-IID α=${o.alpha}, ${o.versions} versions × ${o.localSteps} steps × batch ${o.batch}; kNN bank ${evalSet.train.count} / queries ${evalSet.test.count}`);
  const parts = shard(train.labels, o.clients - o.attackers, { mode: 'dirichlet', alpha: o.alpha, seed: 1 });
  const sources = parts.map((idx, i) => {
    const mine = selectImages(train, idx);
    return () => new ImageBatchSource(toModelInput(mine.images, mine.count, mine.height, mine.width, 32), mine.count, 32, 3, i + 1);
  });

  const randomInit = await randomInitKnn(o, evalSet);
  console.log(`random init kNN ${(randomInit * 100).toFixed(2)}%; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rows: Row[] = [];
  const runs: Array<[string, Attack, number | null]> = [];
  for (const rule of rules) for (const attack of attacks) runs.push([rule, attack, null]);
  let dpClip: number | null = null;
  for (const [rule, attack] of runs) {
    const r = await federatedRun(o, rule as RobustKind, attack, null, sources, evalSet);
    rows.push(r);
    if (rule === rules[0] && attack === 'clean') dpClip = r.honestNorm;
    console.log(`${rule.padEnd(13)} ${attack.padEnd(10)} kNN ${(r.knn * 100).toFixed(2)}%  (${r.seconds.toFixed(0)} s; flagged: ${r.flagged} of ${o.attackers} attackers, ${r.flaggedHonest} honest)`);
  }
  if (!v['no-dp'] && attacks.includes('clean')) {
    // C = the clean run's median honest delta norm (McMahan et al. clip near the median norm).
    const c = dpClip ?? 1;
    for (const rule of ['none', 'centered-clip'] as const) {
      const r = await federatedRun(o, rule, 'clean', { clip: c, noiseMultiplier: o.dpNoise, delta: 1e-5 }, sources, evalSet);
      rows.push({ ...r, rule: `dp σ=${o.dpNoise} C=${c.toPrecision(2)} (${rule})` });
      console.log(`${rows[rows.length - 1].rule} clean kNN ${(r.knn * 100).toFixed(2)}%`);
    }
  }
  printTable(rows, attacks);
  console.log(`(random init ${(randomInit * 100).toFixed(1)}%; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), source, backend, ...o, evalTrain: evalSet.train.count, evalTest: evalSet.test.count, randomInit, loadAverage: loadavg(), rows }, null, 2) + '\n');
  console.log(`report: ${REPORT}`);
}

async function federatedRun(
  o: Opts, rule: RobustKind, attack: Attack, dp: { clip: number; noiseMultiplier: number; delta: number } | null,
  sources: Array<() => ImageBatchSource>, evalSet: EvalSet,
): Promise<Row> {
  const t0 = performance.now();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-byz-'));
  const tokens = Array.from({ length: o.clients }, (_, i) => `bench-contributor-${i}`);
  const server = await startServer({
    port: 0, dataDir, method: o.method, methodConfig: o.methodConfig, seed: SEED, localSteps: o.localSteps, batchSize: o.batch, contributorTokens: tokens,
    aggregation: { bufferSize: o.clients, maxStaleness: 2, robust: { kind: rule, ...o.cc }, dp, ...(rule === 'none' ? { normGuard: { maxNorm: 1e30, medianMultiple: 1e30, window: 64, minHistory: 3, mode: 'clip' } } : {}) },
    log: false, dashboard: false, metrics: false,
  });
  const clients = tokens.map((token, i) => new FederationClient({ url: server.url, clientKind: 'node', backend: tf.getBackend(), token, clientId: `c${i}` }));
  const model = createMethod(o.method, o.methodConfig);
  const batches = sources.map((s) => s());
  const firsts: Array<WeightMap | null> = clients.map(() => null);
  const rand = mulberry32(7);
  const honestNorms: number[] = [];
  try {
    await Promise.all(clients.map((c) => c.connect()));
    const honestN = o.clients - o.attackers;
    for (let round = 0; round < o.versions; round++) {
      const { version, weights } = await clients[0].pullWeights('latest');
      const honest: WeightMap[] = [];
      for (let i = 0; i < honestN; i++) {
        const r = await runLocalRound({ method: model, global: weights, steps: o.localSteps, batchSize: o.batch, seed: i * 1000 + round * 10_000, nextBatch: (b) => tf.tensor4d(batches[i].nextBatch(b), [b, 32, 32, 3]) });
        honest.push(r.delta);
      }
      if (round === 0) honestNorms.push(...honest.map(l2NormOf));
      const deltas = [...honest];
      for (let a = 0; a < o.attackers; a++) {
        const d = attack === 'clean' ? honest[a % honestN] : attackDelta(attack, { honest, n: o.clients, attackers: o.attackers, index: a, first: firsts[honestN + a], rand });
        firsts[honestN + a] ??= honest[a % honestN];
        deltas.push(d);
      }
      const maxExamples = 4 * o.localSteps * o.batch;
      // One at a time, attackers first: a reproducible order, and the worst one for the norm guard
      // (its statistics know nobody yet when the first attack arrives).
      let folded = 0;
      for (const i of [...deltas.keys()].reverse()) {
        const ack = await clients[i].submitDelta({ baseVersion: version, examples: i < honestN ? o.localSteps * o.batch : maxExamples, delta: deltas[i] });
        if (ack.ok) folded++;
      }
      if (folded < deltas.length) await server.coordinator.flush();
      await server.coordinator.settled();
    }
    const knn = await knnOf(server, o, evalSet);
    const { accountability } = await import('../server/store/accountability');
    // Attackers are the last `attackers` contributors (ids c<honestN>…).
    const flaggedIds = accountability(server.coordinator.db).filter((r) => r.flag !== null).map((r) => Number(r.contributorId.slice(1)));
    const flagged = flaggedIds.filter((i) => i >= honestN).length;
    const flaggedHonest = flaggedIds.length - flagged;
    return { rule, attack, knn, versions: server.coordinator.version, seconds: (performance.now() - t0) / 1000, flagged, flaggedHonest, honestNorm: median(honestNorms) };
  } finally {
    model.dispose();
    for (const c of clients) c.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Every run starts from the same version 0 (the server's seeded init): rules differ only by rule. */
const SEED = 1;

async function knnOf(server: Awaited<ReturnType<typeof startServer>>, o: Opts, evalSet: EvalSet, version = server.coordinator.version): Promise<number> {
  const enc = await server.coordinator.encoderWeights(version);
  const encoder = buildEncoder(resolveMethodConfig(o.method, o.methodConfig).encoder);
  writeWeights([{ prefix: '', models: [encoder] }], enc!.weights);
  const knn = evaluateEncoder(encoder, evalSet).knn;
  encoder.dispose();
  return knn;
}

/** kNN of the seeded version 0 that every run starts from. */
async function randomInitKnn(o: Opts, evalSet: EvalSet): Promise<number> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-byz-'));
  const server = await startServer({ port: 0, dataDir, method: o.method, methodConfig: o.methodConfig, seed: SEED, log: false, dashboard: false, metrics: false });
  try {
    return await knnOf(server, o, evalSet, 0);
  } finally {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function printTable(rows: Row[], attacks: Attack[]) {
  const rules = [...new Set(rows.map((r) => r.rule))];
  console.log(`\n| rule | ${attacks.join(' | ')} | worst drop vs clean |`);
  console.log(`|---|${attacks.map(() => '---|').join('')}---|`);
  for (const rule of rules) {
    const mine = rows.filter((r) => r.rule === rule);
    const clean = mine.find((r) => r.attack === 'clean')?.knn;
    const cells = attacks.map((a) => {
      const r = mine.find((x) => x.attack === a);
      return r ? `${(r.knn * 100).toFixed(1)}%` : '';
    });
    const drops = mine.filter((r) => r.attack !== 'clean').map((r) => (clean ?? r.knn) - r.knn);
    console.log(`| ${rule} | ${cells.join(' | ')} | ${drops.length && clean !== undefined ? `${(Math.max(...drops) * 100).toFixed(1)} pts` : ''} |`);
  }
}

/** Milliseconds of one robust combine of K = clients deltas of the model's size, per rule. */
async function costOnly(o: Opts, rules: RobustKind[]) {
  const model = createMethod(o.method, o.methodConfig);
  const like = new Map([...initialGlobalWeights(model)].filter(([n]) => !n.startsWith('target/')));
  model.dispose();
  const specs = [...like].map(([name, t]) => ({ name, shape: t.shape }));
  const rand = mulberry32(3);
  const inputs = Array.from({ length: o.clients }, (_, i) => ({
    contributorId: `c${i}`, staleWeight: 1,
    delta: new Map([...like].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data, () => rand() - 0.5) }])) as WeightMap,
  }));
  const params = specs.reduce((s, x) => s + x.shape.reduce((a, b) => a * b, 1), 0);
  console.log(`| rule | ms per combine (K=${o.clients}, ${params} parameters) |\n|---|---|`);
  for (const kind of [...rules.map((r) => [r, false] as const), ['centered-clip', true] as const]) {
    const opts = { robust: { ...DEFAULT_ROBUST, kind: kind[0] }, dp: kind[1] ? { clip: 1, noiseMultiplier: 1, delta: 1e-5 } : null, denominator: o.clients, center: null, rand, normal: () => 0 };
    robustCombine(specs, inputs, opts);
    const t0 = performance.now();
    for (let k = 0; k < 3; k++) robustCombine(specs, inputs, opts);
    console.log(`| ${kind[1] ? 'dp' : kind[0]} | ${((performance.now() - t0) / 3).toFixed(1)} |`);
  }
}

runMain(main);
