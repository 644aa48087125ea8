/**
 * bench:step's `wasm-threads` rows from Chromium: the extension's training worker on N threads,
 * both ways it can use them (the extension's pages are cross-origin isolated, so shared memory
 * works there):
 *   - 'data' (its default): the encoder's batch split across N encoder shard workers, each with
 *     its own wasm backend (shared/parallel/browser-shard-workers.ts);
 *   - 'kernels': each conv and LayerNorm kernel split across Glimpse's SIMD kernel pool.
 * Steps are taken in turn, so that load from other processes falls on all alike: the extension
 * on 1 thread, on N threads each way, and Node's wasm on N threads each way (node-backend.ts).
 * The lines say each way's speed-up over the extension's 1 thread and its ratio to Node's.
 */
import type { Page } from 'playwright-core';
import type { ParallelMode } from '../../shared/backends/node-backend';
import { fmt, median } from './timing';
import type { BackendRow } from './backend-rows';
import type { ExtensionBrowser } from './chromium';
import { nodeStepper, startRunner, timeSteps, type ChromiumRowOptions, type NodeSteps, type Runner } from './chromium-steps';

/** The issue-12 goal: one contributor on N cores at least this many times its 1-thread throughput. */
export const THREADS_GOAL = 1.7;
const MODES: readonly ParallelMode[] = ['data', 'kernels'];

export interface ThreadsComparison {
  method: string;
  parallel: ParallelMode;
  batch: number;
  threads: number;
  steps: number;
  oneThreadMs: number;
  threadsMs: number;
  /** oneThreadMs / threadsMs. */
  speedup: number;
  nodeThreadsMs: number;
  /** threadsMs / nodeThreadsMs. */
  ratio: number;
  simd: string | null;
}

const describe = (parallel: ParallelMode, threads: number, simd: string | null | undefined) =>
  parallel === 'data'
    ? `data-parallel: ${threads} encoder shard workers (Glimpse SIMD kernels, 1 thread each)`
    : `Glimpse SIMD kernel pool (${simd}), ${threads} threads on Web Workers`;

export async function measureThreads(
  page: Page, browser: ExtensionBrowser, method: string, o: ChromiumRowOptions, isolated: boolean, out: BackendRow[],
): Promise<ThreadsComparison[]> {
  const row = (parallel: ParallelMode, r: Partial<BackendRow>) =>
    out.push({ backend: `wasm-threads (${parallel})`, host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, ...r });
  const none = (why: string) => (MODES.forEach((p) => row(p, { unavailable: why })), []);
  if (o.threads < 2) return none('skipped: --threads 1');
  if (!isolated) return none("the extension's pages are not cross-origin isolated (manifest.json's COOP/COEP), so no shared memory");
  const limit = o.stepLimitMs ?? 120_000;
  const runners: Runner[] = [];
  const nodes: NodeSteps[] = [];
  const started: Array<{ parallel: ParallelMode; runner: Runner; node: NodeSteps }> = [];
  try {
    const one = await startRunner(page, 'wasm', method, o, limit, 1);
    if (typeof one === 'string') return none(`1 thread: ${one}`);
    runners.push(one);
    for (const parallel of MODES) {
      const r = await startRunner(page, 'wasm', method, o, limit, o.threads, parallel);
      if (typeof r === 'string') {
        row(parallel, { unavailable: `${o.threads} threads: ${r}` });
        continue;
      }
      runners.push(r);
      const t = r.info?.wasmThreads;
      if (t?.threads !== o.threads || (t.parallel ?? 'kernels') !== parallel) {
        row(parallel, { unavailable: `${parallel}-parallel did not start: ${t?.why ?? `got ${t?.threads} thread(s), ${t?.parallel ?? 'kernels'}`}` });
        continue;
      }
      const node: NodeSteps = { ...(await nodeStepper(method, o.batch, o.methodConfig, o.threads, parallel)), wallMs: [], cpuMs: [] };
      nodes.push(node);
      node.step(); // Node's warm-up (the browser runners took theirs when they started)
      started.push({ parallel, runner: r, node });
    }
    if (started.length === 0) return [];
    process.stderr.write(`chromium: ${method}: extension 1 thread, extension and Node ${o.threads} threads (${started.map((s) => s.parallel).join(', ')}), ${o.steps} steps in turn…\n`);
    await timeSteps(page, browser, runners, o.steps, limit, nodes);
  } finally {
    for (const n of nodes) n.dispose();
    for (const r of runners) await page.evaluate(`glimpseBench.terminate(${r.worker})`).catch(() => {});
  }
  const [one] = runners;
  if (one.stopped || one.wallMs.length === 0) return none(`1 thread: ${one.stopped ?? 'no timed step'}`);
  const oneThreadMs = median(one.wallMs);
  const comparisons: ThreadsComparison[] = [];
  for (const { parallel, runner, node } of started) {
    if (runner.stopped || runner.wallMs.length === 0) {
      row(parallel, { unavailable: `${o.threads} threads: ${runner.stopped ?? 'no timed step'}` });
      continue;
    }
    const threadsMs = median(runner.wallMs);
    const simd = runner.info?.simd ?? null;
    row(parallel, {
      msPerStep: threadsMs, minCpuMs: Math.min(...runner.cpuMs), imagesPerSecond: o.batch / (threadsMs / 1000), loss: runner.loss,
      note: `${describe(parallel, o.threads, simd)}; 1 thread in turn: ${fmt(oneThreadMs, 0)} ms`,
    });
    const nodeThreadsMs = median(node.wallMs);
    comparisons.push({ method, parallel, batch: o.batch, threads: o.threads, steps: o.steps, oneThreadMs, threadsMs, speedup: oneThreadMs / threadsMs, nodeThreadsMs, ratio: threadsMs / nodeThreadsMs, simd });
  }
  return comparisons;
}

export function threadsLines(c: ThreadsComparison[], loadavg: number[]): string[] {
  if (c.length === 0) return [];
  return [
    `\nextension wasm on ${c[0].threads} threads (data-parallel shard workers, and the kernel pool) vs its 1 thread (goal ≥ ${THREADS_GOAL}×) and vs Node's ${c[0].threads} threads the same way (batch ${c[0].batch}, median of ${c[0].steps}, taken in turn), loadavg ${loadavg.map((x) => x.toFixed(2)).join(' ')}:`,
    ...c.map((x) => `${x.method}, ${x.parallel}-parallel: 1 thread ${fmt(x.oneThreadMs, 0)} ms, ${x.threads} threads ${fmt(x.threadsMs, 0)} ms (${fmt(x.speedup, 2)}× faster, ${x.speedup >= THREADS_GOAL ? 'meets' : 'misses'} the goal); Node ${x.threads} threads ${fmt(x.nodeThreadsMs, 0)} ms → extension/Node ${fmt(x.ratio, 2)}×`),
  ];
}
