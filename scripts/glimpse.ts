/**
 * `glimpse contribute`: a Node contributor. Connects to a Glimpse server, trains local rounds on
 * its own images (a folder of PNG/JPEG, or a Fashion-MNIST shard) with the shared trainer on wasm
 * (Glimpse's kernels; cpu fallback) and submits weight deltas. Images never leave the process.
 *
 *   glimpse contribute --server http://127.0.0.1:8787 [--token T] (--images DIR | --shard i/n [--non-iid ALPHA])
 *   glimpse export --data-dir DIR --out DIR [--version N]   (scripts/export.ts)
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '../shared/backends/node-backend';
import { initNodeWebgpu } from '../shared/backends/node-webgpu';
import { choiceFlag, intFlag, numFlag, runMain, UsageError } from '../shared/cli/args';
import { runContributor, type ImageSampler } from '../shared/contributor/loop';
import { loadImageFolder } from '../shared/data/folder-source';
import { ImageBatchSource, selectImages, shard, toModelInput } from '../shared/data/images';
import { loadTrainingData } from '../shared/data/source';
import { FederationClient } from '../shared/protocol/client';
import { EXPORT_HELP, exportCommand } from './export';

const HELP = `Usage: glimpse contribute [options]
  --server URL        Glimpse server (default http://127.0.0.1:8787, or $GLIMPSE_SERVER)
  --token T           contributor token, when the server requires one (or $GLIMPSE_TOKEN)
  --images DIR        train on the PNG/JPEG images in DIR
  --shard i/n         or train on shard i of n of Fashion-MNIST's train split (default 1/1)
  --non-iid ALPHA     label-skewed shards: Dirichlet(ALPHA) class shares (default: IID shards)
  --data DIR|fixture  Fashion-MNIST location (default: the Debian package, else the committed fixture)
  --rounds N          stop after N submitted rounds (default: run until Ctrl+C)
  --backend wasm|cpu|webgpu
                      tfjs backend (default wasm, falls back to cpu); webgpu runs on a GPU through
                      Dawn (the webgpu package); without one, SwiftShader from Debian's Chromium with
                      LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  --threads N         cores one training step uses on wasm (default: all, here ${availableParallelism()});
                      run several contributors on one machine with --threads 1 each
  --name NAME         prefix of the progress lines (default: the shard or folder)
  --seed N`;

async function contribute(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' }, token: { type: 'string' }, images: { type: 'string' }, shard: { type: 'string' },
      'non-iid': { type: 'string' }, data: { type: 'string' }, rounds: { type: 'string' }, backend: { type: 'string' },
      threads: { type: 'string' }, name: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(HELP);
  const url = values.server ?? process.env.GLIMPSE_SERVER ?? 'http://127.0.0.1:8787';
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--server must be an http(s) URL, got '${url}'`);
  const seed = intFlag(values.seed, 'seed', 0);
  const rounds = values.rounds === undefined ? undefined : intFlag(values.rounds, 'rounds', 0, 1);
  const threads = intFlag(values.threads, 'threads', availableParallelism(), 1);
  const wanted = choiceFlag(values.backend, 'backend', ['wasm', 'cpu', 'webgpu'] as const, 'wasm');
  let backend: string;
  let adapter = '';
  if (wanted === 'webgpu') {
    const r = await initNodeWebgpu();
    if (!r.ok) {
      console.error(`glimpse: --backend webgpu is not available here: ${r.reason}`);
      process.exit(3);
    }
    backend = 'webgpu';
    adapter = r.adapter;
  } else {
    backend = await initNodeBackend(wanted, { threads });
  }
  const { sample, describe, short } = await makeSampler(values, seed);
  const name = values.name ?? short;
  const say = (line: string) => console.log(`[${name}] ${line}`);

  const client = new FederationClient({ url, clientKind: 'node', backend, token: values.token ?? process.env.GLIMPSE_TOKEN, capabilities: { cores: availableParallelism() } });
  client.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') say(`disconnected (${reason}); reconnecting…`);
  });
  client.on('reconnect', (plan) => say(`reconnected; server at version ${plan.version}`));
  const abort = new AbortController();
  const stop = () => {
    if (abort.signal.aborted) process.exit(130);
    say('stopping after this round (Ctrl+C again to quit now)');
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  say(`contributing ${describe} to ${url} on ${backend}${backend === 'wasm' && threads > 1 ? ` (${threads} threads)` : ''}${adapter ? ` (${adapter})` : ''}`);
  const summary = await runContributor({
    client, sample, seed, maxRounds: rounds, signal: abort.signal, log: say,
    onRound: (r) => say(
      `round ${String(r.round + 1).padStart(3)}  v${r.baseVersion}→v${r.version}  loss ${r.loss.toFixed(4)}  ` +
      `${r.msPerStep.toFixed(0)} ms/step  ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
    ),
  });
  client.close();
  say(`done: ${summary.rounds} rounds, ${summary.accepted} accepted, ${summary.rejected} rejected`);
}

/** Builds the image sampler; model input is made lazily at the plan's input size. */
async function makeSampler(values: Record<string, string | boolean | undefined>, seed: number): Promise<{ sample: ImageSampler; describe: string; short: string }> {
  const bySize = new Map<number, ImageBatchSource>();
  const cached = (size: number, make: () => ImageBatchSource) => bySize.get(size) ?? bySize.set(size, make()).get(size)!;
  if (typeof values.images === 'string') {
    if (values.shard) throw new UsageError('use either --images or --shard, not both');
    const dir = values.images;
    const first = await loadImageFolder(dir, 32);
    for (const s of first.skipped) console.log(`skipped ${s}`);
    const loaded = new Map([[32, first]]);
    return {
      describe: `${first.count} images from ${dir}`,
      short: dir,
      sample: (b, size) => {
        if (!loaded.has(size)) throw new Error(`plan wants ${size}-px input; restart the contributor to reload ${dir}`);
        const f = loaded.get(size)!;
        return cached(size, () => new ImageBatchSource(f.images, f.count, size, 3, seed)).nextBatch(b);
      },
    };
  }
  const m = /^(\d+)\/(\d+)$/.exec(typeof values.shard === 'string' ? values.shard : '1/1');
  if (!m || +m[1] < 1 || +m[1] > +m[2]) throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n, got '${values.shard}'`);
  const [i, n] = [+m[1], +m[2]];
  const alpha = values['non-iid'] === undefined ? undefined : numFlag(values['non-iid'] as string, 'non-iid', 0.5, 1e-6, 1e6);
  const { train, source } = loadTrainingData(values.data as string | undefined, (line) => console.log(`note: ${line}`));
  // Every contributor computes the same split from the same seed, so shards never overlap.
  const parts = shard(train.labels, n, alpha === undefined ? { mode: 'iid', seed: 1 } : { mode: 'dirichlet', alpha, seed: 1 });
  const mine = selectImages(train, parts[i - 1]);
  if (mine.count === 0) throw new UsageError(`shard ${i}/${n} is empty (Dirichlet α=${alpha} is very skewed); use more data or a larger α`);
  const classes = new Set(mine.labels).size;
  return {
    short: `shard ${i}/${n}`,
    describe: `shard ${i}/${n}${alpha === undefined ? ' iid' : ` non-iid α=${alpha}`} (${mine.count} images, ${classes} classes) of ${source}`,
    sample: (b, size) => cached(size, () => new ImageBatchSource(toModelInput(mine.images, mine.count, mine.height, mine.width, size), mine.count, size, 3, seed + i)).nextBatch(b),
  };
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'contribute') runMain(() => contribute(rest));
else if (command === 'export') runMain(() => exportCommand(rest));
else {
  console.log(command && command !== '--help' ? `unknown command '${command}'\n\n${HELP}\n\n${EXPORT_HELP}` : `${HELP}\n\n${EXPORT_HELP}`);
  process.exit(command && command !== '--help' ? 2 : 0);
}
