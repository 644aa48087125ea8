/**
 * Learning curves of the encoder under the glimpse-fmnist-v1 protocol (shared/eval/protocol.ts):
 * examples seen → kNN top-1 and the 1% / 10% linear probes, for centralized training, the
 * federation (in-process simulation with the server's FedBuff step: IID and Dirichlet non-IID
 * shards over `--clients` contributors) and the same-recipe PyTorch peer (SimCLR), for each method;
 * beside raw pixels and the random-init encoder on the same split.
 *
 *   npm run bench:quality -- --minutes 30 [--methods simclr,byol,mocov2]
 *       [--settings centralized,iid,noniid-0.5,noniid-0.1,peer] [--checkpoints 0,2500,5000,10000]
 *       [--clients 8] [--eval-bank 5000] [--eval-queries 1000] [--no-linear] [--data DIR|fixture]
 *       [--view layout|crop]   (the grayscale views: shift + erase, the default, or random resized crop)
 *       [--recon 100]          (λ of the pixel-reconstruction term, shared/ssl/reconstruction.ts; 0: none)
 *       [--client-optimizer fresh|kept] [--upload int8:topk=0.1] [--server-opt fedavg|fedavgm:LR:MOMENTUM|fedadam:LR]
 *       [--delay 0] [--server-decay] [--lr 1e-3] [--local-steps 5]
 *                              (federated settings: the contributor's optimizer across rounds, uploads
 *                              packed as contributors pack them, the server optimizer, versions each
 *                              round's base lags the newest, the server rate's cosine to 0 over the
 *                              curve, the steps of a local round; --lr: the recipe's Adam rate,
 *                              every setting)
 *
 * `--minutes` is shared equally by the curves; a curve whose share runs out ends at the checkpoint
 * it reached (the table and JSON say so). The default evaluation is a SUBSET (5k bank / 1k
 * queries) of the full 60k / 10k protocol, and every line says which. Writes
 * bench/reports/quality.json and bench/reports/quality.svg, prints a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '../shared/backends/node-backend';
import { intFlag, numFlag, runMain, UsageError } from '../shared/cli/args';
import { loadTrainingData } from '../shared/data/source';
import { makeEvalSet } from '../shared/eval/evaluate';
import { formatPaired } from '../shared/eval/paired';
import { describeSplit, probeEncoder, probeRawPixels, splitOf } from '../shared/eval/protocol';
import { buildEncoder } from '../shared/models/encoder';
import { withSeededInit } from '../shared/models/seeded-init';
import { methodNames, resolveMethodConfig } from '../shared/ssl/registry';
import { centralizedCurve } from './quality/centralized';
import { qualityChartSvg } from './quality/chart';
import { pointNear, type Curve, type CurveContext } from './quality/curves';
import { federatedCurve, type FederatedSetting } from './quality/federated';
import { validateServerOptimizer, type ServerOptimizerConfig } from '../server/aggregation/server-optimizer';
import { parseUploadSpec, type UploadCompression } from '../shared/protocol/compression';
import { peerCurve } from './quality/peer';
import { RECON_WEIGHT, recipeWithView, VIEWS } from './quality/recipe';

const REPORTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports');
const SETTINGS = ['centralized', 'iid', 'noniid-0.5', 'noniid-0.1', 'peer'];

async function main() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' }, methods: { type: 'string' }, settings: { type: 'string' }, checkpoints: { type: 'string' },
      clients: { type: 'string' }, 'eval-bank': { type: 'string' }, 'eval-queries': { type: 'string' }, 'no-linear': { type: 'boolean' }, data: { type: 'string' }, view: { type: 'string' }, recon: { type: 'string' },
      'client-optimizer': { type: 'string' }, upload: { type: 'string' }, 'server-opt': { type: 'string' }, delay: { type: 'string' }, 'server-decay': { type: 'boolean' }, lr: { type: 'string' }, 'local-steps': { type: 'string' },
    },
  });
  const minutes = numFlag(values.minutes, 'minutes', 30, 0.1, 24 * 60);
  const methods = (values.methods ?? 'simclr,byol,mocov2').split(',');
  for (const m of methods) if (!methodNames().includes(m)) throw new UsageError(`unknown method ${m} (known: ${methodNames().join(', ')})`);
  const settings = (values.settings ?? SETTINGS.join(',')).split(',');
  for (const s of settings) if (!SETTINGS.includes(s)) throw new UsageError(`unknown setting ${s} (known: ${SETTINGS.join(', ')})`);
  const checkpoints = [...new Set((values.checkpoints ?? '0,2500,5000,10000').split(',').map(Number))].sort((a, b) => a - b);
  if (checkpoints.some((c) => !Number.isInteger(c) || c < 0)) throw new UsageError(`--checkpoints: whole numbers of examples, got ${values.checkpoints}`);
  const clients = intFlag(values.clients, 'clients', 8, 1);
  const linear = !values['no-linear'];
  const viewName = values.view ?? 'layout';
  if (!(viewName in VIEWS)) throw new UsageError(`--view: one of ${Object.keys(VIEWS).join(', ')}, got ${viewName}`);
  const reconWeight = numFlag(values.recon, 'recon', RECON_WEIGHT, 0, 1e4);
  const base = recipeWithView(viewName, reconWeight);
  const recipe = {
    ...base,
    optimizer: { ...base.optimizer, learningRate: numFlag(values.lr, 'lr', base.optimizer.learningRate, 1e-6, 1) },
    localSteps: intFlag(values['local-steps'], 'local-steps', base.localSteps, 1),
  };
  const clientOptimizer = values['client-optimizer'] ?? 'fresh';
  if (clientOptimizer !== 'fresh' && clientOptimizer !== 'kept') throw new UsageError(`--client-optimizer: fresh or kept, got ${clientOptimizer}`);
  let upload: UploadCompression | undefined;
  try {
    upload = values.upload ? parseUploadSpec(values.upload) : undefined;
  } catch (e) {
    throw new UsageError(`--upload: ${(e as Error).message}`);
  }
  const serverOptimizer = parseServerOpt(values['server-opt']);
  const delay = intFlag(values.delay, 'delay', 0, 0);
  const federated = (alpha: number | undefined): FederatedSetting => ({ clients, alpha, clientOptimizer, upload, serverOptimizer, delay, serverDecay: values['server-decay'] });

  const backend = await initNodeBackend('wasm');
  const data = loadTrainingData(values.data, (l) => console.log(`note: ${l}`));
  const set = makeEvalSet(data.train, data.test, { trainCount: intFlag(values['eval-bank'], 'eval-bank', 5000, 10), testCount: intFlag(values['eval-queries'], 'eval-queries', 1000, 10) });
  const split = splitOf(set, data.source);
  const runs = methods.flatMap((m) => settings.filter((s) => s !== 'peer' || m === 'simclr').map((s) => [m, s] as const));
  const share = (minutes * 60_000) / runs.length;
  const started = new Date().toISOString();
  console.log(`bench:quality — backend ${backend}; evaluation on the ${describeSplit(split)}; ${runs.length} curves, ${(share / 60_000).toFixed(1)} min each; view ${viewName}${reconWeight ? `, reconstruction λ ${reconWeight}` : ''}; checkpoints ${checkpoints.join(', ')} examples`);

  let rawKnn: Int32Array | undefined;
  const raw = probeRawPixels(set, { linear, onKnnPredictions: (p) => (rawKnn = p) });
  console.log(`raw pixels: kNN ${(raw.knn_top1 * 100).toFixed(1)}%${linear ? `, 1% labels ${(raw.linear_1pct! * 100).toFixed(1)}%, 10% labels ${(raw.linear_10pct! * 100).toFixed(1)}%` : ''}`);
  const randomInit: Record<string, ReturnType<typeof probeEncoder>> = {};
  for (const m of methods) {
    const enc = withSeededInit(1, () => buildEncoder(resolveMethodConfig(m, recipe.methodConfig).encoder));
    randomInit[m] = probeEncoder(enc, set, { linear });
    enc.dispose();
    console.log(`random init (${m} architecture): kNN ${(randomInit[m].knn_top1 * 100).toFixed(1)}%`);
  }

  const curves: Curve[] = [];
  const write = () => {
    mkdirSync(REPORTS, { recursive: true });
    const report = { date: started, backend, protocol: split, recipe, minutes, checkpoints, clients, rawPixels: raw, randomInit, curves };
    writeFileSync(path.join(REPORTS, 'quality.json'), JSON.stringify(report, null, 2) + '\n');
    const bars = [{ label: 'raw pixels', y: raw.knn_top1 }, { label: 'random init', y: randomInit[methods[0]].knn_top1 }];
    writeFileSync(path.join(REPORTS, 'quality.svg'), qualityChartSvg(curves, bars, `kNN top-1 on ${split.subset ? `a ${split.bank}/${split.queries} subset` : 'the full protocol'} (${split.protocol})`));
  };
  for (const [method, setting] of runs) {
    const ctx: CurveContext = { set, checkpoints, deadline: Date.now() + share, linear, log: (l) => console.log(l), rawKnn };
    const curve =
      setting === 'centralized' ? await centralizedCurve(method, recipe, data.train, ctx)
      : setting === 'peer' ? (data.isFixture ? { method, setting: 'PyTorch peer', points: [], stopped: 'the peer reads the full Fashion-MNIST (IDX files), not the fixture' } : await peerCurve(recipe, ctx, values.data ?? '/usr/share/datasets/fashion-mnist'))
      : await federatedCurve(method, recipe, data.train, federated(setting === 'iid' ? undefined : Number(setting.slice('noniid-'.length))), ctx);
    if (curve.stopped) console.log(`  (${curve.method} ${curve.setting}: ${curve.stopped})`);
    curves.push(curve);
    write(); // a partial report survives an interrupted run
  }
  printTable(curves, checkpoints, raw.knn_top1, randomInit);
  console.log(`\nwrote bench/reports/quality.json and bench/reports/quality.svg (evaluation: ${describeSplit(split)})`);
}

/** `fedavg`, `fedavgm:LR:MOMENTUM` (default 1:0.9) or `fedadam:LR` (default 0.01); absent: FedAvg. */
function parseServerOpt(spec: string | undefined): ServerOptimizerConfig | undefined {
  if (spec === undefined) return undefined;
  const [kind, a, b] = spec.split(':');
  const num = (x: string | undefined, d: number) => (x === undefined ? d : Number(x));
  const c: ServerOptimizerConfig | undefined =
    kind === 'fedavg' ? { kind, lr: num(a, 1) }
    : kind === 'fedavgm' ? { kind, lr: num(a, 1), momentum: num(b, 0.9) }
    : kind === 'fedadam' ? { kind, lr: num(a, 0.01), beta1: 0.9, beta2: 0.99, epsilon: 1e-3 }
    : undefined;
  if (!c) throw new UsageError(`--server-opt: fedavg, fedavgm:LR:MOMENTUM or fedadam:LR, got ${spec}`);
  try {
    validateServerOptimizer(c);
  } catch (e) {
    throw new UsageError(`--server-opt: ${(e as Error).message}`);
  }
  return c;
}

function printTable(curves: Curve[], checkpoints: number[], raw: number, random: Record<string, { knn_top1: number }>) {
  const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
  console.log(`\n| method | setting | ${checkpoints.map((c) => `kNN @${c}`).join(' | ')} | 1% labels (last) | 10% labels (last) | kNN − raw pixels (last, paired) | vs centralized / peer |`);
  console.log(`|---|---|${checkpoints.map(() => '---|').join('')}---|---|---|---|`);
  for (const c of curves) {
    const at = (x: number) => pointNear(c.points, x)?.knn_top1;
    const last = c.points[c.points.length - 1];
    const central = curves.find((o) => o.method === c.method && o.setting === 'centralized');
    const cl = central?.points[central.points.length - 1];
    let cmp = '';
    const same = cl && last && pointNear([cl], last.examples) ? ` (${cl.examples} vs ${last.examples} examples)` : undefined;
    if (c.setting.startsWith('federated') && same) cmp = `${((last!.knn_top1 / cl!.knn_top1) * 100).toFixed(1)}% of centralized${same}`;
    if (c.setting === 'PyTorch peer' && same) cmp = `Glimpse − peer: ${((cl!.knn_top1 - last!.knn_top1) * 100).toFixed(1)} points${same}`;
    console.log(`| ${c.method} | ${c.setting} | ${checkpoints.map((x) => pct(at(x))).join(' | ')} | ${pct(last?.linear_1pct)} | ${pct(last?.linear_10pct)} | ${last?.knn_vs_raw ? formatPaired(last.knn_vs_raw) : '—'} | ${cmp}${c.stopped ? ` (${c.stopped})` : ''} |`);
  }
  console.log(`| — | raw pixels | ${pct(raw)} | | | | |`);
  for (const [m, r] of Object.entries(random)) console.log(`| ${m} | random init | ${pct(r.knn_top1)} | | | | |`);
}

runMain(main);
