/**
 * npm run bench:scale — many connected volunteers against one node, then against two ingest
 * nodes + an aggregator sharing a Redis (server/cluster, docs/deploy.md).
 *
 * Per topology: the servers start as child processes; load generators (bench/scale/load-client.ts,
 * separate processes) connect `--clients` bare Socket.IO clients spread over the serving nodes,
 * each saying hello and then idling; after they settle the servers' RSS is read from /proc
 * (→ KB per idle client, and per 1,000); then `--submitters` of them submit pre-encoded deltas
 * back to back for `--seconds` (accepted updates/s, ack p50/p99). Redis runs with AOF and
 * `appendfsync always`, so an ack means the delta is on disk in both topologies.
 *
 *   --clients N      connected clients (goal 10,000; default 2,000)      --submitters N  (default 64)
 *   --seconds S      submit phase length (default 15)                    --load-procs N  (default 2)
 *   --model tiny|default  tiny BYOL (~37 KB as float32) or the default model (~3.1 MB); uploads are
 *                    packed as the plan asks (default int8 top-10%, bitmap positions: ~6% of that)  [tiny]
 *   --only single|cluster
 *
 * BENCH_NODE_ARGS: extra node flags for the server nodes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * (the nodes are then stopped with SIGTERM, so node writes the profiles; one per process and thread).
 *
 * Writes bench/reports/scale.json. Numbers are from a shared machine: compare only side by side.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { packUpload } from '../shared/contributor/compression';
import { FederationClient } from '../shared/protocol/client';
import { redisMissing, startNode, startRedis, type Proc } from '../test/helpers/cluster-procs';
import { TINY_METHOD_CONFIG, randomDelta, onlineOnly, tempDir } from '../test/server/helpers';

const { values: a } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' }, submitters: { type: 'string', default: '64' }, seconds: { type: 'string', default: '15' },
    'load-procs': { type: 'string', default: '2' }, model: { type: 'string', default: 'tiny' }, only: { type: 'string' },
  },
});
const CLIENTS = Number(a.clients);
const SUBMITTERS = Math.min(Number(a.submitters), CLIENTS);
const SECONDS = Number(a.seconds);
const LOAD_PROCS = Math.max(1, Number(a['load-procs']));
const NICE = 5;
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ask<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.send(msg as never);
  });
}

interface Result {
  topology: string;
  serving: number;
  clients: number;
  connected: number;
  connectSeconds: number;
  rssKbBefore: number;
  rssKbIdle: number;
  kbPerIdleClient: number;
  mbPer1000Idle: number;
  submitters: number;
  accepted: number;
  busy: number;
  other: number;
  updatesPerSec: number;
  p50ms: number;
  p99ms: number;
}

async function stop(p: Proc): Promise<void> {
  if (!NODE_ARGS.length) return p.kill('SIGKILL');
  const t = setTimeout(() => void p.kill('SIGKILL'), 20_000);
  await p.kill('SIGTERM');
  clearTimeout(t);
}

async function measure(topology: 'single' | 'cluster'): Promise<Result> {
  const tmp = tempDir(`glimpse-scale-${topology}-`);
  const procs: Proc[] = [];
  const loads: ChildProcess[] = [];
  try {
    const model = a.model === 'default' ? [] : ['--method-config', JSON.stringify(TINY_METHOD_CONFIG)];
    const common = ['--method', 'byol', ...model, '--max-staleness', '1000000', '--buffer-size', '10', '--quiet', '--admin-token', 'scale-bench-admin-token-0123456789',
      // Every load client connects from loopback, and 10,000 handshakes queue up: no per-address cap, a lenient hello deadline.
      '--max-connections-per-address', '0', '--hello-timeout', '120000'];
    let serving: Array<Proc & { url: string }>;
    if (topology === 'single') {
      serving = [await startNode([...common, '--data-dir', `${tmp.dir}/single`], { nice: NICE, timeoutMs: 120_000, nodeArgs: NODE_ARGS })];
      procs.push(...serving);
    } else {
      const redis = await startRedis(tmp.dir, ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction']);
      procs.push(redis);
      const cl = [...common, '--redis', redis.url];
      procs.push(await startNode([...cl, '--role', 'aggregator', '--data-dir', `${tmp.dir}/agg`], { nice: NICE, timeoutMs: 120_000, nodeArgs: NODE_ARGS }));
      serving = await Promise.all([1, 2].map((i) => startNode([...cl, '--role', 'ingest', '--data-dir', `${tmp.dir}/ing-${i}`], { nice: NICE, timeoutMs: 120_000, nodeArgs: NODE_ARGS })));
      procs.push(...serving);
    }
    const urls = serving.map((s) => s.url);
    const probe = new FederationClient({ url: urls[0], clientKind: 'node', backend: 'cpu' });
    const plan = await probe.connect();
    const online = onlineOnly((await probe.pullWeights('latest')).weights);
    probe.close();
    // Packed as the node's plan asks, as contributors send it (both topologies ask the same).
    const delta = packUpload(randomDelta(online, 7, 1e-4), null, plan, 0).bytes;
    console.log(`  ${topology}: uploads of ${(delta.length / 1024).toFixed(1)} KB (${plan.compression ? JSON.stringify(plan.compression.upload) : 'float32'})`);
    await sleep(2000);
    const rssKbBefore = serving.reduce((s, p) => s + rssKb(p.proc.pid!), 0);

    for (let i = 0; i < LOAD_PROCS; i++) {
      loads.push(fork('bench/scale/load-client.ts', [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    const per = (i: number, n: number) => Math.floor(n / LOAD_PROCS) + (i < n % LOAD_PROCS ? 1 : 0);
    const t0 = performance.now();
    const conn = await Promise.all(loads.map((l, i) => ask<{ connected: number; failed: number }>(l, { cmd: 'connect', urls, count: per(i, CLIENTS), prefix: `l${i}` })));
    const connectSeconds = (performance.now() - t0) / 1000;
    const connected = conn.reduce((s, c) => s + c.connected, 0);
    await sleep(3000);
    const rssKbIdle = serving.reduce((s, p) => s + rssKb(p.proc.pid!), 0);
    console.log(`  ${topology}: ${connected}/${CLIENTS} connected in ${connectSeconds.toFixed(1)} s; serving RSS ${(rssKbBefore / 1024).toFixed(0)} → ${(rssKbIdle / 1024).toFixed(0)} MB`);

    const subs = await Promise.all(loads.map((l, i) => ask<{ accepted: number; busy: number; other: number; latencies: number[] }>(l, { cmd: 'submit', submitters: per(i, SUBMITTERS), seconds: SECONDS, delta })));
    const lat = subs.flatMap((s) => s.latencies).sort((x, y) => x - y);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
    const accepted = subs.reduce((s, r) => s + r.accepted, 0);
    const kbPerIdleClient = (rssKbIdle - rssKbBefore) / Math.max(1, connected);
    return {
      topology, serving: serving.length, clients: CLIENTS, connected, connectSeconds, rssKbBefore, rssKbIdle, kbPerIdleClient, mbPer1000Idle: (kbPerIdleClient * 1000) / 1024,
      submitters: SUBMITTERS, accepted, busy: subs.reduce((s, r) => s + r.busy, 0), other: subs.reduce((s, r) => s + r.other, 0),
      updatesPerSec: accepted / SECONDS, p50ms: q(0.5), p99ms: q(0.99),
    };
  } finally {
    for (const l of loads) {
      l.send({ cmd: 'close' });
      l.kill('SIGKILL');
    }
    // A graceful stop first when profiling (a killed node writes no profile); Redis is last in the reversed list.
    for (const p of procs.reverse()) await stop(p);
    tmp.cleanup();
  }
}

async function main(): Promise<void> {
  const missing = redisMissing();
  const topologies = (['single', 'cluster'] as const).filter((t) => !a.only || a.only === t).filter((t) => t === 'single' || !missing);
  if (missing && a.only !== 'single') console.log(`cluster topology skipped: ${missing}`);
  console.log(`bench:scale — ${CLIENTS} clients over ${LOAD_PROCS} load generator(s), ${SUBMITTERS} submitting for ${SECONDS} s, ${a.model} model, servers at nice ${NICE}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const results: Result[] = [];
  for (const t of topologies) results.push(await measure(t));
  console.log('\ntopology  nodes  connected  KB/idle client  MB/1000 idle  accepted  updates/s  p50 ms  p99 ms  busy  other');
  for (const r of results) {
    console.log(`${r.topology.padEnd(8)}  ${String(r.serving).padStart(5)}  ${String(r.connected).padStart(9)}  ${r.kbPerIdleClient.toFixed(1).padStart(14)}  ${r.mbPer1000Idle.toFixed(1).padStart(12)}  ${String(r.accepted).padStart(8)}  ${r.updatesPerSec.toFixed(1).padStart(9)}  ${r.p50ms.toFixed(1).padStart(6)}  ${r.p99ms.toFixed(1).padStart(6)}  ${String(r.busy).padStart(4)}  ${String(r.other).padStart(5)}`);
  }
  const single = results.find((r) => r.topology === 'single');
  const cluster = results.find((r) => r.topology === 'cluster');
  const ratio = single && cluster ? cluster.updatesPerSec / single.updatesPerSec : null;
  if (ratio !== null) console.log(`\n2 ingest nodes + aggregator vs 1 node: ${ratio.toFixed(2)}× accepted updates/s (goal ≥ 1.6× where the cores allow; this box has 2 cores shared by every process above)`);
  const report = { at: new Date().toISOString(), node: process.version, load: loadavg(), clients: CLIENTS, submitters: SUBMITTERS, seconds: SECONDS, model: a.model, results, clusterOverSingle: ratio };
  mkdirSync('bench/reports', { recursive: true });
  writeFileSync('bench/reports/scale.json', JSON.stringify(report, null, 2));
  console.log('wrote bench/reports/scale.json');
  process.exit(0);
}

void main();
