/**
 * Does a flood from a few sockets move an honest contributor's ack latency? (issue 13: "a flood
 * from one socket must not move an honest client's ack latency by more than 2×").
 *
 *   npm run bench:flood [-- --seconds 6] [--sockets 4] [--keys 180000] [--server-root DIR] [--report FILE]
 *
 * A real glimpse-server child process (tiny BYOL model, maxMessageBytes 3 MB as for the default
 * model, an open server) and one honest FederationClient in this process that submits a small
 * delta and pulls `latest` back to back, recording each ack's latency. Attackers run in another
 * child process (this file with --attacker), so their encoding work does not share this
 * process's event loop; they write pre-encoded Socket.IO packets straight onto the Engine.IO
 * connection as fast as it drains:
 *   hello-many-keys  `session:hello` whose capabilities hold --keys keys (~2 MB), with ack ids
 *   unknown-event    an unknown event of the same size, no ack
 *   pre-hello-junk   small requests before hello, back to back
 * Each phase runs --seconds; the baseline has no attacker. --server-root runs another checkout's
 * server (e.g. a worktree of main) under the same flood, for comparison. Prints p50/p95 per phase and the
 * ratio to the baseline, and writes bench/reports/flood.json. Timings on a shared machine are
 * noisy: the report records the load average.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { io as ioClient, type Socket } from 'socket.io-client';
import { intFlag, runMain } from '../shared/cli/args';
import { FederationClient } from '../shared/protocol/client';
import { encodeWeights } from '../shared/weights/codec';
import type { WeightMap } from '../shared/weights/weight-map';

const TINY = { encoder: { widths: [8, 8, 8], stemWidth: 8 }, projectionHidden: 16, projectionDim: 8 };
const ATTACKS = ['hello-many-keys', 'unknown-event', 'pre-hello-junk'] as const;
type Attack = (typeof ATTACKS)[number];

function manyKeys(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"k${i}":1`);
  return `{${parts.join(',')}}`;
}

/** The attacker process: `sockets` connections writing `attack` packets until killed. */
async function attacker(url: string, attack: Attack, sockets: number, keys: number): Promise<void> {
  const blob = attack === 'pre-hello-junk' ? '' : manyKeys(keys);
  let id = 0;
  const packet = () => {
    if (attack === 'hello-many-keys') return `2${++id}["session:hello",{"protocol":1,"clientKind":"node","backend":"cpu","capabilities":${blob}}]`;
    if (attack === 'unknown-event') return `2["flood:junk",${blob}]`;
    return `2${++id}["weights:pull",{"version":"latest"}]`;
  };
  const flood = (s: Socket) => {
    const engine = s.io.engine;
    const pump = () => {
      if (!s.connected) return;
      // Write while the transport keeps up; 'drain' says it flushed.
      for (let i = 0; i < 4; i++) engine.write(packet());
      engine.once('drain', () => setImmediate(pump));
    };
    pump();
  };
  for (let i = 0; i < sockets; i++) {
    // Reconnect when the server closes a connection: a real attacker comes back.
    const s = ioClient(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    s.on('connect', () => flood(s));
  }
  await new Promise(() => {});
}

/** startServer of the checkout at `root` (this one, or another to compare) in a child process. */
function startServer(root: string, dataDir: string): Promise<{ url: string; proc: ChildProcess }> {
  const options = { port: 0, host: '127.0.0.1', dataDir, method: 'byol', methodConfig: TINY, log: false, localSteps: 2, batchSize: 8, maxMessageBytes: 3 * 1024 * 1024 };
  const script = join(dataDir, 'start.mjs');
  writeFileSync(script, [
    `import { startServer } from ${JSON.stringify(pathToFileURL(resolve(root, 'server/server.ts')).href)};`,
    `const s = await startServer(${JSON.stringify(options)});`,
    `console.log('listening on ' + s.url);`,
    `process.on('SIGTERM', () => s.close().then(() => process.exit(0)));`,
  ].join('\n'));
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  return new Promise((done, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) done({ url: m[1], proc });
    });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)));
  });
}

function stopGroup(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch { /* gone */ }
    }, 5000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(-proc.pid!, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

interface Phase { phase: string; submits: number; submitP50: number; submitP95: number; pulls: number; pullP50: number; pullP95: number; failures: number }

/** The honest contributor for `seconds`: submit, pull, submit, … recording ack latencies. */
async function honest(client: FederationClient, online: WeightMap, seconds: number, phase: string): Promise<Phase> {
  const submit: number[] = [];
  const pull: number[] = [];
  let failures = 0;
  const delta = new Map([...online].map(([n, t]) => [n, { shape: [...t.shape], data: new Float32Array(t.data.length).fill(1e-5) }]));
  const end = Date.now() + seconds * 1000;
  let version = 0;
  while (Date.now() < end) {
    let t = performance.now();
    try {
      version = (await client.pullWeights('latest')).version;
    } catch {
      failures++;
    }
    pull.push(performance.now() - t);
    t = performance.now();
    try {
      const a = await client.submitDelta({ baseVersion: version, examples: 8, delta });
      if (!a.ok) failures++;
    } catch {
      failures++;
    }
    submit.push(performance.now() - t);
  }
  return { phase, submits: submit.length, submitP50: pct(submit, 50), submitP95: pct(submit, 95), pulls: pull.length, pullP50: pct(pull, 50), pullP95: pct(pull, 95), failures };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, sockets: { type: 'string' }, keys: { type: 'string' }, attacker: { type: 'string' }, url: { type: 'string' }, 'server-root': { type: 'string' }, report: { type: 'string' } } });
  const seconds = intFlag(values.seconds, 'seconds', 6, 1);
  const sockets = intFlag(values.sockets, 'sockets', 4, 1);
  const keys = intFlag(values.keys, 'keys', 180_000, 1);
  if (values.attacker) return attacker(values.url!, values.attacker as Attack, sockets, keys);

  const dir = mkdtempSync(join(tmpdir(), 'glimpse-flood-'));
  const root = values['server-root'] ?? '.';
  const { url, proc } = await startServer(root, dir);
  const client = new FederationClient({ url, clientKind: 'node', backend: 'cpu', requestTimeoutMs: 30_000, submitTimeoutMs: 30_000, submitAttempts: 1 });
  const phases: Phase[] = [];
  try {
    await client.connect();
    const { weights } = await client.pullWeights('latest');
    const online: WeightMap = new Map([...weights].filter(([n]) => !n.startsWith('target/')));
    encodeWeights(online); // warm the codec
    await honest(client, online, 1, 'warm-up');
    phases.push(await honest(client, online, seconds, 'baseline'));
    for (const attack of ATTACKS) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/flood.ts', '--attacker', attack, '--url', url, '--sockets', String(sockets), '--keys', String(keys)], { stdio: 'inherit', detached: true });
      try {
        await new Promise((r) => setTimeout(r, 1500)); // let the attackers connect and start
        phases.push(await honest(client, online, seconds, attack));
      } finally {
        await stopGroup(child);
      }
    }
  } finally {
    client.close();
    await stopGroup(proc);
    rmSync(dir, { recursive: true, force: true });
  }

  const base = phases[0];
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  console.log(`\nhonest contributor's ack latency under a flood (server: ${root}; ${sockets} attacking sockets, ${seconds} s per phase, load ${loadavg()[0].toFixed(1)})`);
  console.log('phase              submits  submit p50 ms  p95 ms  ×base p50   pulls  pull p50 ms  p95 ms  ×base p50  failures');
  for (const p of phases) {
    console.log(`${p.phase.padEnd(18)} ${String(p.submits).padStart(7)}  ${fmt(p.submitP50).padStart(13)}  ${fmt(p.submitP95).padStart(6)}  ${fmt(p.submitP50 / base.submitP50).padStart(9)}  ${String(p.pulls).padStart(6)}  ${fmt(p.pullP50).padStart(11)}  ${fmt(p.pullP95).padStart(6)}  ${fmt(p.pullP50 / base.pullP50).padStart(9)}  ${String(p.failures).padStart(8)}`);
  }
  const worst = Math.max(...phases.slice(1).map((p) => p.submitP50 / base.submitP50));
  console.log(`\nworst submit p50 ratio to baseline: ${worst.toFixed(2)}× (goal ≤ 2×)`);
  const report = values.report ?? 'bench/reports/flood.json';
  mkdirSync(dirname(report), { recursive: true });
  writeFileSync(report, JSON.stringify({ date: new Date().toISOString(), serverRoot: root, loadavg: loadavg(), seconds, sockets, keys, phases, worstSubmitP50Ratio: worst }, null, 2));
  console.log(`wrote ${report}`);
}

runMain(main);
