/**
 * bench:step's `wasm-threads` row from Chromium: the extension's training worker with Glimpse's
 * SIMD kernel pool on N threads (Web Workers over shared wasm memory; the extension's pages are
 * cross-origin isolated). Three steps are taken in turn, so that load from other processes falls
 * on all alike: the extension on 1 thread, the extension on N threads, and Node's wasm on N
 * threads with the same kernel pool ('kernels' mode, node-backend.ts). The lines say the
 * extension's N-thread speed-up and its ratio to Node's N-thread step.
 */
import type { Page } from 'playwright-core';
import { fmt, median } from './timing';
import type { BackendRow } from './backend-rows';
import type { ExtensionBrowser } from './chromium';
import { nodeStepper, startRunner, timeSteps, type ChromiumRowOptions, type NodeSteps, type Runner } from './chromium-steps';

export interface ThreadsComparison {
  method: string;
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

export async function measureThreads(
  page: Page, browser: ExtensionBrowser, method: string, o: ChromiumRowOptions, isolated: boolean, out: BackendRow[],
): Promise<ThreadsComparison | null> {
  const row = (r: Partial<BackendRow>) => out.push({ backend: 'wasm-threads', host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, ...r });
  if (o.threads < 2) return (row({ unavailable: 'skipped: --threads 1' }), null);
  if (!isolated) return (row({ unavailable: "the extension's pages are not cross-origin isolated (manifest.json's COOP/COEP), so no shared wasm memory" }), null);
  const limit = o.stepLimitMs ?? 120_000;
  const runners: Runner[] = [];
  const node: NodeSteps = { ...(await nodeStepper(method, o.batch, o.methodConfig, o.threads, 'kernels')), wallMs: [], cpuMs: [] };
  try {
    for (const threads of [1, o.threads]) {
      const r = await startRunner(page, 'wasm', method, o, limit, threads);
      if (typeof r === 'string') return (row({ unavailable: `${threads} thread(s): ${r}` }), null);
      runners.push(r);
    }
    const pool = runners[1].info?.wasmThreads;
    if (pool?.threads !== o.threads) return (row({ unavailable: `the kernel pool did not start: ${pool?.why ?? 'no answer'}` }), null);
    node.step(); // Node's warm-up (the browser runners took theirs when they started)
    process.stderr.write(`chromium: ${method}: extension 1 thread, extension ${o.threads} threads and Node ${o.threads} threads, ${o.steps} steps in turn…\n`);
    await timeSteps(page, browser, runners, o.steps, limit, node);
  } finally {
    node.dispose();
    for (const r of runners) await page.evaluate(`glimpseBench.terminate(${r.worker})`).catch(() => {});
  }
  const [one, many] = runners;
  const stopped = runners.find((r) => r.stopped || r.wallMs.length === 0);
  if (stopped) return (row({ unavailable: `${stopped.threads} thread(s): ${stopped.stopped ?? 'no timed step'}` }), null);
  const oneThreadMs = median(one.wallMs);
  const threadsMs = median(many.wallMs);
  const nodeThreadsMs = median(node.wallMs);
  const simd = many.info?.simd ?? null;
  row({
    msPerStep: threadsMs, minCpuMs: Math.min(...many.cpuMs), imagesPerSecond: o.batch / (threadsMs / 1000), loss: many.loss,
    note: `Glimpse SIMD kernel pool (${simd}), ${o.threads} threads on Web Workers; 1 thread in turn: ${fmt(oneThreadMs, 0)} ms`,
  });
  return { method, batch: o.batch, threads: o.threads, steps: o.steps, oneThreadMs, threadsMs, speedup: oneThreadMs / threadsMs, nodeThreadsMs, ratio: threadsMs / nodeThreadsMs, simd };
}

export function threadsLines(c: ThreadsComparison[], loadavg: number[]): string[] {
  if (c.length === 0) return [];
  return [
    `\nextension wasm on ${c[0].threads} threads (kernel pool) vs 1 thread and vs Node's ${c[0].threads}-thread kernel pool (batch ${c[0].batch}, median of ${c[0].steps}, taken in turn), loadavg ${loadavg.map((x) => x.toFixed(2)).join(' ')}:`,
    ...c.map((x) => `${x.method}: 1 thread ${fmt(x.oneThreadMs, 0)} ms, ${x.threads} threads ${fmt(x.threadsMs, 0)} ms (${fmt(x.speedup, 2)}× faster); Node ${x.threads} threads ${fmt(x.nodeThreadsMs, 0)} ms → extension/Node ${fmt(x.ratio, 2)}×`),
  ];
}
