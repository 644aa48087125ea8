/**
 * `bench:step -- --backends` rows from Chromium: the built extension, loaded unpacked in headless
 * Debian Chromium, times bench:step's step (same method, default encoder, batch, fixed input,
 * one warm-up then the median of N) inside its own training worker (worker.js, the bundle the
 * extension trains with) on each tfjs backend that initialises there: wasm (Glimpse's SIMD
 * kernels), cpu, webgl and webgpu (SwiftShader where there is no GPU: marked as software). Each
 * backend gets a fresh worker, driven one step per call from here, so that:
 *   - the extension's wasm steps and the same steps on Node's wasm (this process, one thread)
 *     take turns: load from other processes falls on both alike, and their ratio (issue-12 goal
 *     ≤ 1.3×) compares steps taken side by side;
 *   - each step's CPU time is read from the browser's process tree (GPU process included), next
 *     to Node's process CPU time: on a shared machine the CPU minima compare the work itself.
 * A backend that fails to start, or runs past the step limit, gets a row saying why; after one
 * is stopped the browser is left to go idle first (a GPU process finishes what it had queued).
 * With --threads N > 1, the wasm-threads rows: the extension's step on N threads, data-parallel and
 * on its kernel pool (chromium-threads.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildExtension } from '../../scripts/build-extension';
import type { BackendRow, BackendRowSource, BackendRows } from './backend-rows';
import { launchExtensionBrowser, PAGE_RPC, type ExtensionBrowser } from './chromium';
import {
  backendsOf, CHROMIUM_BACKENDS, EXTENSION_WASM_GOAL, message, nodeStepper, noteOf, settle, startRunner, timeSteps,
  type ChromiumRowOptions, type NodeSteps, type Runner,
} from './chromium-steps';
import { measureThreads, threadsLines, type ThreadsComparison } from './chromium-threads';
import { fmt, median } from './timing';

export { CHROMIUM_BACKENDS, EXTENSION_WASM_GOAL, type ChromiumBackend, type ChromiumRowOptions } from './chromium-steps';

/** One method's extension-wasm vs Node-wasm comparison (1 thread each, steps taken in turn). */
export interface WasmComparison {
  method: string;
  batch: number;
  steps: number;
  chromiumMs: number;
  nodeMs: number;
  /** chromiumMs / nodeMs: wall medians. */
  ratio: number;
  /** Minimum CPU of a step: the browser's whole process tree, and the worker's thread alone. */
  chromiumMinCpuMs?: number;
  chromiumMinWorkerCpuMs?: number;
  nodeMinCpuMs: number;
  /** The same from CPU minima (robust to other load): the whole browser, and its worker thread, over Node's process. */
  cpuRatio?: number;
  workerCpuRatio?: number;
  simd: string | null;
  /** The untimed first steps (kernel set-up, heap growth, JIT): what a round's first step also pays. */
  chromiumWarmupMs: number;
  nodeWarmupMs: number;
  goal: number;
}


/**
 * One method on every backend. wasm first, its steps in turn with Node's (the ratio); then each
 * other backend on its own (cpu, webgl, webgpu: the slowest last), the browser left to go idle
 * after any backend that had to be stopped.
 */
async function measureMethod(page: Page, browser: ExtensionBrowser, method: string, o: ChromiumRowOptions, out: BackendRow[]): Promise<WasmComparison | null> {
  const limit = o.stepLimitMs ?? 120_000;
  const rows: BackendRow[] = [];
  const unavailable = (backend: string, why: string) => rows.push({ backend, host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, unavailable: why });
  const done: Runner[] = [];
  const node: NodeSteps = { ...(await nodeStepper(method, o.batch, o.methodConfig)), wallMs: [], cpuMs: [] };
  let nodeWarmupMs = NaN;
  try {
    for (const backend of backendsOf(o)) {
      if (backend === 'cpu' && o.skipCpu) {
        unavailable('cpu', 'skipped (--skip-cpu): stock tfjs-cpu takes minutes per step');
        continue;
      }
      const r = await startRunner(page, backend, method, o, limit);
      if (typeof r === 'string') {
        unavailable(backend, r);
        if (r.includes('stopped')) await settle(browser);
        continue;
      }
      try {
        if (backend === 'wasm') nodeWarmupMs = node.step().wallMs;
        await timeSteps(page, browser, [r], o.steps, limit, backend === 'wasm' ? [node] : []);
      } finally {
        await page.evaluate(`glimpseBench.terminate(${r.worker})`).catch(() => {});
      }
      if (r.stopped) await settle(browser);
      done.push(r);
    }
  } finally {
    node.dispose();
  }
  for (const r of done) {
    if (r.stopped || r.wallMs.length === 0) {
      unavailable(r.backend, r.stopped ?? 'no timed step');
      continue;
    }
    const ms = median(r.wallMs);
    rows.push({
      backend: r.backend, host: 'chromium', method, batch: o.batch, msPerStep: ms, minCpuMs: r.cpuMs.length ? Math.min(...r.cpuMs) : undefined,
      imagesPerSecond: o.batch / (ms / 1000), loss: r.loss, note: noteOf(r),
    });
  }
  const order = (r: BackendRow) => (CHROMIUM_BACKENDS as readonly string[]).indexOf(r.backend);
  out.push(...rows.sort((a, b) => order(a) - order(b)));
  const wasm = done.find((r) => r.backend === 'wasm' && !r.stopped && r.wallMs.length);
  if (!wasm || node.wallMs.length === 0) return null;
  const chromiumMs = median(wasm.wallMs);
  const nodeMs = median(node.wallMs);
  const chromiumMinCpuMs = wasm.cpuMs.length ? Math.min(...wasm.cpuMs) : undefined;
  const chromiumMinWorkerCpuMs = wasm.workerCpuMs.length ? Math.min(...wasm.workerCpuMs) : undefined;
  const nodeMinCpuMs = Math.min(...node.cpuMs);
  return {
    method, batch: o.batch, steps: o.steps, chromiumMs, nodeMs, ratio: chromiumMs / nodeMs, chromiumMinCpuMs, nodeMinCpuMs,
    cpuRatio: chromiumMinCpuMs !== undefined ? chromiumMinCpuMs / nodeMinCpuMs : undefined,
    chromiumMinWorkerCpuMs, workerCpuRatio: chromiumMinWorkerCpuMs !== undefined ? chromiumMinWorkerCpuMs / nodeMinCpuMs : undefined, simd: wasm.info?.simd ?? null, chromiumWarmupMs: wasm.warmupMs ?? NaN, nodeWarmupMs, goal: EXTENSION_WASM_GOAL,
  };
}

export function comparisonLines(c: WasmComparison[], loadavg: number[]): string[] {
  if (c.length === 0) return ['extension wasm / Node wasm: not measured (no wasm step in Chromium)'];
  return [
    `\nextension wasm step / Node wasm step (1 thread each, batch ${c[0].batch}, warm-up + median of ${c[0].steps}, taken in turn; goal ≤ ${EXTENSION_WASM_GOAL}×), loadavg ${loadavg.map((x) => x.toFixed(2)).join(' ')}:`,
    ...c.map((x) => `${x.method}: ${fmt(x.chromiumMs, 0)} / ${fmt(x.nodeMs, 0)} ms = ${fmt(x.ratio, 2)}× wall [CPU min: browser ${fmt(x.chromiumMinCpuMs, 0)}, its worker thread ${fmt(x.chromiumMinWorkerCpuMs, 0)} / Node ${fmt(x.nodeMinCpuMs, 0)} ms = ${fmt(x.cpuRatio, 2)}×, ${fmt(x.workerCpuRatio, 2)}×] — ${x.ratio <= x.goal ? 'within' : 'misses'} the goal (${x.simd ?? 'no SIMD kernels'}); first step ${fmt(x.chromiumWarmupMs, 0)} / ${fmt(x.nodeWarmupMs, 0)} ms`),
  ];
}

/** Builds the extension into a temporary folder, runs every method in one browser, closes it. */
export async function chromiumRows(o: ChromiumRowOptions): Promise<BackendRows> {
  backendsOf(o); // an unknown name is the caller's mistake: fail before starting anything
  const tmp = mkdtempSync(join(tmpdir(), 'glimpse-bench-ext-'));
  const rows: BackendRow[] = [];
  const comparison: WasmComparison[] = [];
  const threads: ThreadsComparison[] = [];
  let browser: ExtensionBrowser | null = null;
  try {
    const extDir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'extension') });
    browser = await launchExtensionBrowser(extDir);
    const page = await browser.ctx.newPage();
    await page.goto(`chrome-extension://${browser.extensionId}/welcome.html`);
    await page.evaluate(PAGE_RPC);
    const isolated = (await page.evaluate('globalThis.crossOriginIsolated === true')) as boolean;
    for (const method of o.methods) {
      process.stderr.write(`chromium: ${method} on ${backendsOf(o).join(', ')}, warm-up + ${o.steps} steps each (wasm's in turn with Node's)…\n`);
      const c = await measureMethod(page, browser, method, o, rows);
      if (c) comparison.push(c);
      if (backendsOf(o).includes('wasm')) {
        threads.push(...(await measureThreads(page, browser, method, o, isolated, rows)));
      }
    }
    return {
      rows, lines: [...comparisonLines(comparison, os.loadavg()), ...threadsLines(threads, os.loadavg())],
      details: { browser: browser.userAgent, version: /Chrome\/([\d.]+)/.exec(browser.userAgent)?.[1] ?? null, crossOriginIsolated: isolated, comparison, threads, profileDir: browser.profileDir },
    };
  } catch (e) {
    const why = `unavailable: Chromium run failed: ${message(e)}`;
    for (const method of o.methods) if (!rows.some((r) => r.method === method)) rows.push({ backend: 'chromium', host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, unavailable: why });
    return { rows, lines: [why], details: { browser: browser?.userAgent ?? null, error: message(e), comparison, threads } };
  } finally {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const chromiumBackendRows: BackendRowSource = { name: 'chromium', rows: chromiumRows };
