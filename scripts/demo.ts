/**
 * `npm start`: a real federated pretraining session on one machine — a Glimpse aggregation server
 * (embedded defaults, data in .glimpse/demo) with its periodic kNN evaluation, and a small fleet
 * of Node contributor processes, each training on its own non-IID Fashion-MNIST shard. Prints the
 * status and encoder URLs, one line per new global version and one per evaluation (the encoder
 * beside random init and raw pixels, on a split it names), until Ctrl+C or the version budget; the
 * last line says where the encoder stands and where the learning-curve chart is.
 *
 * `--long`: no version budget; trains until the encoder's kNN passes raw pixels or `--minutes`
 * (default 60) run out, with a progress bar and an ETA after every evaluation.
 *
 * Defaults from docs/quality.md: SimCLR (τ = 0.5), the registry's 2×2-grid pooled encoder, the
 * grayscale small-image views (crop area ≥ 0.7, no colour jitter).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { choiceFlag, intFlag, numFlag, runMain, UsageError } from '../shared/cli/args';
import { loadTrainingData } from '../shared/data/source';
import { describeSplit, formatScores, standing, type ProtocolSplit } from '../shared/eval/protocol';
import { methodNames } from '../shared/ssl/registry';
import { evaluationsUpTo } from '../server/model/run-facts';
import { curveSeries, learningCurveSvg } from '../server/public/learning-curve';
import { longProgressLine, type EvalPoint } from './demo-progress';
import { createKnnEvaluator } from '../server/eval/knn-evaluator';
import { ConfigError } from '../server/errors';
import { startServer } from '../server/server';
import { RECIPE } from '../bench/quality/recipe';

const HELP = `Usage: npm start -- [options]
  --contributors N   contributor processes (default: cores − 0, at least 2)
  --versions N       stop after N new global versions (default 150, ≈ 10 minutes on 2 cores; 0 = until Ctrl+C)
  --method NAME      ${methodNames().join(', ')} (default simclr)
  --non-iid ALPHA    Dirichlet label skew of the shards (default 0.5; 'iid' for IID shards)
  --local-steps N    steps per local round (default 5)   --batch N  (default 32)
  --data DIR|fixture Fashion-MNIST (default: the Debian package, else the committed fixture)
  --port N           server port (default 8787)          --fresh  start a new run (wipe the data dir)
  --data-dir DIR     where the run lives (default .glimpse/demo)
  --eval-every N     evaluate every N-th version (default 5)
  --long             train until the encoder's kNN passes raw pixels (or --minutes), with progress and ETA
  --minutes N        time limit of --long (default 60)`;

/** How long the end of a run waits for the final version's evaluation. */
const FINAL_EVAL_MS = 120_000;
const CONTRIBUTOR = fileURLToPath(new URL('./glimpse.ts', import.meta.url));

async function main() {
  const { values } = parseArgs({
    options: {
      contributors: { type: 'string' }, versions: { type: 'string' }, method: { type: 'string' }, 'non-iid': { type: 'string' },
      'local-steps': { type: 'string' }, batch: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' },
      fresh: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'eval-every': { type: 'string' }, help: { type: 'boolean' }, long: { type: 'boolean' }, minutes: { type: 'string' },
    },
  });
  if (values.help) return console.log(HELP);
  const n = intFlag(values.contributors, 'contributors', Math.max(2, availableParallelism()), 1);
  const long = values.long === true;
  // 150 versions of 2 × 5 × 32 examples: ≈ 10 minutes here (9 min 34 s on a quiet box), where the
  // encoder passes raw pixels' kNN on the evaluation subset (docs/quality.md); 100 stopped it level
  // with raw pixels, 40 under them.
  const budget = intFlag(values.versions, 'versions', long ? 0 : 150, 0);
  const limitMs = numFlag(values.minutes, 'minutes', 60, 0.1, 24 * 60) * 60_000;
  // SimCLR by default: measured here, it beats the random-init encoder's kNN within a few hundred
  // steps, while BYOL needs far longer budgets (see the README's figures).
  const method = choiceFlag(values.method, 'method', methodNames(), 'simclr');
  const skew = values['non-iid'] === 'iid' ? undefined : numFlag(values['non-iid'], 'non-iid', 0.5, 1e-6, 1e6);
  const dataDir = values['data-dir'] ?? '.glimpse/demo';
  // Resolve the data once here: a missing dataset is one line, said once, not per process.
  const data = values.data ?? (loadTrainingData(undefined, (line) => console.log(`note: ${line}`)).isFixture ? 'fixture' : undefined);
  if (values.fresh) await rm(dataDir, { recursive: true, force: true });

  const evalEvery = intFlag(values['eval-every'], 'eval-every', 5, 1);
  // The contributors get the cores first: at their priority the evaluations (an embedding pass over
  // 6,000 images each, every 5 versions) took about a third of the machine's CPU. At niceness 5
  // they take less and skip to the newest version: 100 versions in 6 min 26 s
  // instead of 8 min 34 s, an evaluation line every 15–20 versions instead of every 5.
  const evaluator = createKnnEvaluator({ data, every: evalEvery, trainCount: 5000, testCount: 1000, niceness: 5 });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      port: intFlag(values.port, 'port', 8787, 0), dataDir, method,
      // The evaluator's random-init bar is the seed-1 encoder (server/eval/knn-child.ts): a new run
      // starts from those very weights, so "over random init" is measured from this run's start.
      seed: 1,
      // Fashion-MNIST is small and gray: docs/quality.md's recipe — the layout-keeping view and the
      // pixel-reconstruction term (options other methods do not read are ignored by them).
      methodConfig: structuredClone(RECIPE.methodConfig),
      localSteps: intFlag(values['local-steps'], 'local-steps', 5, 1), batchSize: intFlag(values.batch, 'batch', 32, 2),
      aggregation: { bufferSize: n },
      evaluator,
      log: false,
    });
  } catch (e) {
    evaluator.close();
    if (e instanceof ConfigError) throw new UsageError(`${e.message} — or \`npm start -- --fresh\` to start a new run`);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${values.port ?? 8787} is in use: is another Glimpse running? (npm start -- --port N)`);
    throw e;
  }
  const startVersion = server.coordinator.version;
  console.log(`Glimpse federated pretraining: ${server.coordinator.run.method}, ${n} contributors on ${skew === undefined ? 'IID' : `non-IID (Dirichlet α=${skew})`} Fashion-MNIST shards`);
  console.log(`  server     ${server.url}   (run ${server.coordinator.run.runId}, version ${startVersion}, data in ${dataDir})`);
  console.log(`  dashboard  ${server.url}/admin   admin token: ${server.adminToken}`);
  console.log(`  status     ${server.url}/api/status`);
  console.log(`  encoder    ${server.url}/api/encoder/latest/model.json   (tf.loadLayersModel-ready)`);
  console.log(`  ${budget ? `stops after ${budget} new versions` : 'runs until Ctrl+C'}; Ctrl+C stops cleanly (final checkpoint)`);
  let split: ProtocolSplit | undefined;
  evaluator.ready.then(
    (r) => {
      split = r.split;
      console.log(`  evaluation on the ${describeSplit(r.split)}; raw-pixel kNN ${(r.rawPixel * 100).toFixed(1)}%`);
    },
    (e) => console.log(`  evaluation unavailable: ${(e as Error).message}`),
  );

  const children: ChildProcess[] = [];
  for (let i = 1; i <= n; i++) {
    // Several contributors share this machine's cores: one thread each.
    const args = ['--import', 'tsx', CONTRIBUTOR, 'contribute', '--server', server.url, '--shard', `${i}/${n}`, '--seed', String(i), '--threads', '1'];
    if (skew !== undefined) args.push('--non-iid', String(skew));
    if (data) args.push('--data', data);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('[') || /error/i.test(line)) console.log(`  ${line}`);
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
    children.push(child);
  }

  let lastEval: { version: number; metrics: Record<string, number> } | null = null;
  const points: EvalPoint[] = [];
  const t0 = Date.now();
  let stopping: Promise<void> | null = null;
  const stop = (why: string, finalVersion?: number) =>
    (stopping ??= (async () => {
      console.log(`\n${why}: stopping contributors, writing the final checkpoint…`);
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
      // At the end of the budget the final line should be about the budget's last version, not
      // one a few versions back: with the contributors gone its evaluation has the cores to itself.
      const last = finalVersion;
      if (last !== undefined && last % evalEvery === 0 && (lastEval?.version ?? -1) < last) {
        console.log(`evaluating version ${last} (at most ${FINAL_EVAL_MS / 1000} s)…`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, FINAL_EVAL_MS);
          const off = server.events.on('eval:recorded', (e) => {
            if (e.version >= last) done();
          });
          function done() {
            clearTimeout(t);
            off();
            resolve();
          }
        });
      }
      const chart = await writeChart();
      // An evaluation in flight would hold server.close() for up to a minute: drop it (the last
      // finished one is what the standing line reports).
      evaluator.close();
      await server.close();
      // The server is gone now: name the offline export, not a URL that no longer answers.
      const v = server.coordinator.version;
      console.log(`stopped at version ${v}; resume with npm start. Encoder files (tfjs, safetensors, ONNX, model card): npx glimpse export --data-dir ${dataDir} --out glimpse-encoder-v${v}`);
      console.log(lastEval
        ? `where the encoder stands (version ${lastEval.version}, ${split ? describeSplit(split) : 'evaluation split'}): ${standing(lastEval.metrics)}.${chart ? ` Learning curve: ${chart}` : ''}`
        : 'where the encoder stands: no evaluation finished yet (run longer, or npm start -- --long)');
      process.exit(0);
    })());
  // The run's learning curve (encoder vs random init vs raw pixels per version) as an SVG file.
  const writeChart = async (): Promise<string | null> => {
    try {
      const series = curveSeries(evaluationsUpTo(server.coordinator.db, server.coordinator.version));
      if (!series.length) return null;
      const file = `${dataDir}/learning-curve.svg`;
      await writeFile(file, `<?xml version="1.0" encoding="UTF-8"?>\n${learningCurveSvg(series, 800, 320).replace('<svg ', '<svg xmlns="http://www.w3.org/2000/svg" ')}\n`);
      return file;
    } catch {
      return null;
    }
  };
  process.on('SIGINT', () => void stop('Ctrl+C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  server.events.on('version:created', (s) => {
    const staleness = s.meanStaleness.toFixed(1);
    console.log(`version ${String(s.version).padStart(4)}  ${s.updates.length} updates from ${s.contributors} contributors  mean local loss ${s.meanLoss?.toFixed(4) ?? '—'}  staleness ${staleness}  |Δ| ${s.aggregateNorm.toExponential(2)}`);
    if (budget && s.version - startVersion >= budget) void stop(`reached ${budget} new versions`, s.version);
  });
  server.events.on('eval:recorded', ({ version, metrics }) => {
    lastEval = { version, metrics };
    const where = split ? (split.subset ? `subset ${split.bank}/${split.queries}` : 'full protocol') : 'eval split';
    console.log(`eval    ${String(version).padStart(4)}  [${where}] ${formatScores(metrics)}  (embedding std ${metrics.embedding_std?.toFixed(3)})`);
    if (!long || metrics.knn_top1 === undefined || metrics.knn_top1_raw_pixels === undefined) return;
    points.push({ t: Date.now() - t0, knn: metrics.knn_top1 });
    console.log(longProgressLine(points, metrics.knn_top1_raw_pixels, Date.now() - t0, limitMs));
    if (metrics.knn_top1 > metrics.knn_top1_raw_pixels) void stop('the encoder passed raw pixels');
  });
  if (long) setTimeout(() => void stop(`--long time limit (${Math.round(limitMs / 60_000)} min) reached`), limitMs).unref();
  server.events.on('update:rejected', (r) => console.log(`  rejected update from ${r.contributorId ?? '?'}: ${r.code} (${r.reason})`));
}

runMain(main);
