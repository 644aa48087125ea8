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
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { buildExtension } from '../../scripts/build-extension';
import { initNodeBackend } from '../../shared/backends/node-backend';
import type { MethodConfig } from '../../shared/ssl/method';
import { createMethod } from '../../shared/ssl/registry';
import { DEFAULT_OPTIMIZER, mainVariables, makeAuxiliaryOptimizers, makeOptimizer, trainStep } from '../../shared/train/local-round';
import type { StepBenchInfo } from '../../extension/worker/bench-step';
import type { BackendRow, BackendRowOptions, BackendRowSource, BackendRows } from './backend-rows';
import { launchExtensionBrowser, PAGE_RPC, workerCall, type ExtensionBrowser } from './chromium';
import { fmt, median, time } from './timing';

/** Measured in this order: wasm (with the Node reference) first, the slowest last. */
export const CHROMIUM_BACKENDS = ['wasm', 'cpu', 'webgl', 'webgpu'] as const;
export type ChromiumBackend = (typeof CHROMIUM_BACKENDS)[number];
/** The issue-12 goal: the extension's wasm step at most this many times Node's. */
export const EXTENSION_WASM_GOAL = 1.3;

export interface ChromiumRowOptions extends BackendRowOptions {
  /** Method overrides (tests use a tiny encoder); bench:step uses the registry's defaults. */
  methodConfig?: Partial<MethodConfig>;
  /** A backend whose start or step takes longer is stopped and reported as such (default 120 s). */
  stepLimitMs?: number;
}

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

class LimitError extends Error {}

function withLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LimitError(`${what} took over ${Math.round(ms / 1000)} s: stopped`)), ms)))]).finally(() => clearTimeout(timer));
}

const message = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);

/** A backend's worker in the page, and what its steps measured. */
interface Runner {
  backend: ChromiumBackend;
  worker: number;
  info?: StepBenchInfo;
  warmupMs?: number;
  wallMs: number[];
  cpuMs: number[];
  /** CPU of the worker's own thread: for wasm and cpu, the step without the browser around it. */
  workerCpuMs: number[];
  loss: number;
  stopped?: string;
}

/** The same step in this process, on Node's wasm backend with one thread: the reference. */
async function nodeStepper(method: string, batch: number, methodConfig?: Partial<MethodConfig>) {
  await initNodeBackend('wasm', { threads: 1 });
  const m = createMethod(method, methodConfig ?? {});
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const aux = makeAuxiliaryOptimizers(m, DEFAULT_OPTIMIZER);
  const vars = mainVariables(m);
  const [, s, , c] = m.encoder.inputs[0].shape as number[];
  const x = tf.randomUniform([batch, s, s, c], 0, 1, 'float32', 7) as tf.Tensor4D;
  let seed = 0;
  return {
    step: () => time(() => trainStep(m, optimizer, vars, x, seed++, 0, 0, aux)),
    dispose() {
      x.dispose();
      optimizer.dispose();
      for (const a of aux) a.dispose();
      m.dispose();
    },
  };
}

function noteOf(r: Runner): string | undefined {
  if (r.backend === 'wasm') return r.info?.simd ? `Glimpse SIMD kernels (${r.info.simd}), 1 thread` : 'SIMD kernels not bound: XNNPACK-based fallbacks, 1 thread';
  if (r.backend === 'webgl' || r.backend === 'webgpu') return r.info?.softwareGpu ? 'software GPU (SwiftShader): says nothing about real GPUs' : 'hardware GPU';
  return 'stock tfjs-cpu';
}

/**
 * Waits (at most `maxMs`) until the browser is idle again. A worker killed mid-step leaves the
 * GPU process running what it had queued (seconds to minutes under SwiftShader), which would
 * be timed as the next backend's step.
 */
async function settle(browser: ExtensionBrowser, maxMs = 180_000): Promise<void> {
  const t0 = Date.now();
  let busy = true;
  while (busy && Date.now() < t0 + maxMs) {
    const c0 = browser.cpuMs();
    await new Promise((r) => setTimeout(r, 1000));
    const c1 = browser.cpuMs();
    busy = c0 !== undefined && c1 !== undefined && c1 - c0 >= 150;
  }
  process.stderr.write(`chromium: waited ${fmt((Date.now() - t0) / 1000)} s for the browser to go idle${busy ? ' (still busy: timing on)' : ''}\n`);
}

type Step = { ms: number; loss: number };

/** Chromium's name for a dedicated worker's thread (/proc/…/task/…/comm). */
const WORKER_THREAD = 'DedicatedWorker';

/** The backends asked for (--browser-backends), in measuring order. */
function backendsOf(o: BackendRowOptions): ChromiumBackend[] {
  const unknown = (o.browserBackends ?? []).filter((b) => !(CHROMIUM_BACKENDS as readonly string[]).includes(b));
  if (unknown.length) throw new Error(`unknown browser backend(s) ${unknown.join(', ')}: choose from ${CHROMIUM_BACKENDS.join(', ')}`);
  return CHROMIUM_BACKENDS.filter((b) => !o.browserBackends || o.browserBackends.includes(b));
}

/** Starts `backend` in a fresh worker and takes its warm-up step; the reason as a string if it cannot. */
async function startRunner(page: Page, backend: ChromiumBackend, method: string, o: ChromiumRowOptions, limit: number): Promise<Runner | string> {
  const r: Runner = { backend, worker: (await page.evaluate('glimpseBench.spawn()')) as number, wallMs: [], cpuMs: [], workerCpuMs: [], loss: NaN };
  try {
    const t0 = performance.now();
    r.info = await withLimit(workerCall<StepBenchInfo>(page, r.worker, 'stepBenchStart', [backend, { method, batch: o.batch, methodConfig: o.methodConfig }]), limit, 'starting');
    const t1 = performance.now();
    const warm = await withLimit(workerCall<Step>(page, r.worker, 'stepBenchStep', []), limit, 'the warm-up step');
    r.loss = warm.loss;
    r.warmupMs = warm.ms;
    process.stderr.write(`chromium: ${method} on ${backend}: started in ${fmt((t1 - t0) / 1000)} s, warm-up step ${fmt(warm.ms / 1000)} s\n`);
    return r;
  } catch (e) {
    await page.evaluate(`glimpseBench.terminate(${r.worker})`);
    return e instanceof LimitError ? `${message(e)}${r.info?.softwareGpu ? ' (software GPU: SwiftShader)' : ''}` : `unavailable: ${message(e)}`;
  }
}

/** `steps` timed steps of each runner in turn (and of `node` before them); a runner over the limit is stopped. */
async function timeSteps(page: Page, browser: ExtensionBrowser, runners: Runner[], steps: number, limit: number, node?: NodeSteps): Promise<void> {
  for (let i = 0; i < steps; i++) {
    if (node) {
      const t = node.step();
      node.wallMs.push(t.wallMs);
      node.cpuMs.push(t.cpuMs);
    }
    for (const r of runners.filter((x) => !x.stopped)) {
      const cpu0 = browser.cpuMs();
      const worker0 = browser.threadCpuMs(WORKER_THREAD);
      try {
        const s = await withLimit(workerCall<Step>(page, r.worker, 'stepBenchStep', []), limit, `step ${i + 1}`);
        const cpu1 = browser.cpuMs();
        const worker1 = browser.threadCpuMs(WORKER_THREAD);
        r.wallMs.push(s.ms);
        if (cpu0 !== undefined && cpu1 !== undefined) r.cpuMs.push(cpu1 - cpu0);
        if (worker0 !== undefined && worker1 !== undefined) r.workerCpuMs.push(worker1 - worker0);
        r.loss = s.loss;
      } catch (e) {
        r.stopped = message(e);
        await page.evaluate(`glimpseBench.terminate(${r.worker})`);
      }
    }
  }
}

type NodeSteps = Awaited<ReturnType<typeof nodeStepper>> & { wallMs: number[]; cpuMs: number[] };

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
        await timeSteps(page, browser, [r], o.steps, limit, backend === 'wasm' ? node : undefined);
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

/** Why tfjs's threaded wasm cannot run in the extension's worker. */
function wasmThreadsWhy(crossOriginIsolated: boolean): string {
  const bundle = 'the extension bundles only tfjs\'s single-threaded wasm (scripts/build-extension.ts: its threaded build\'s helper worker loads from a blob: URL, which extension pages refuse)';
  return crossOriginIsolated ? `unavailable: ${bundle}` : `unavailable: the extension's pages are not cross-origin isolated (no COOP/COEP in the manifest), so no shared wasm memory; and ${bundle}`;
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
      rows.push({ backend: 'wasm-threads', host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, unavailable: wasmThreadsWhy(isolated) });
    }
    return { rows, lines: comparisonLines(comparison, os.loadavg()), details: { browser: browser.userAgent, version: /Chrome\/([\d.]+)/.exec(browser.userAgent)?.[1] ?? null, crossOriginIsolated: isolated, comparison } };
  } catch (e) {
    const why = `unavailable: Chromium run failed: ${message(e)}`;
    for (const method of o.methods) if (!rows.some((r) => r.method === method)) rows.push({ backend: 'chromium', host: 'chromium', method, batch: o.batch, msPerStep: null, imagesPerSecond: null, unavailable: why });
    return { rows, lines: [why], details: { browser: browser?.userAgent ?? null, error: message(e), comparison } };
  } finally {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const chromiumBackendRows: BackendRowSource = { name: 'chromium', rows: chromiumRows };
