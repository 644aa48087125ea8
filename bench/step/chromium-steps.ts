/**
 * The pieces bench:step's Chromium rows are made of (chromium-backends.ts, chromium-threads.ts):
 * a backend's worker in the extension page and its steps, timed in turn with the same step on
 * Node's wasm backend in this process, each against a limit.
 */
import type { Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend, type ParallelMode } from '../../shared/backends/node-backend';
import type { MethodConfig } from '../../shared/ssl/method';
import { createMethod } from '../../shared/ssl/registry';
import { DEFAULT_OPTIMIZER, mainVariables, makeAuxiliaryOptimizers, makeOptimizer, trainStep } from '../../shared/train/local-round';
import type { StepBenchInfo, StepTiming } from '../../extension/worker/bench-step';
import type { BackendRowOptions } from './backend-rows';
import { workerCall, type ExtensionBrowser } from './chromium';
import { fmt, time } from './timing';

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

export class LimitError extends Error {}

export function withLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LimitError(`${what} took over ${Math.round(ms / 1000)} s: stopped`)), ms)))]).finally(() => clearTimeout(timer));
}

export const message = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);

/** A backend's worker in the page, and what its steps measured. */
export interface Runner {
  backend: ChromiumBackend;
  /** Threads asked for the wasm kernels (what runs: info.wasmThreads). */
  threads: number;
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

/**
 * The same step in this process, on Node's wasm backend (one thread by default): the reference.
 * `activate` puts this stepper's threads and mode back (several steppers take turns).
 */
export async function nodeStepper(method: string, batch: number, methodConfig?: Partial<MethodConfig>, threads = 1, parallel: ParallelMode = 'data') {
  const activate = async () => void (await initNodeBackend('wasm', { threads, parallel }));
  await activate();
  const m = createMethod(method, methodConfig ?? {});
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const aux = makeAuxiliaryOptimizers(m, DEFAULT_OPTIMIZER);
  const vars = mainVariables(m);
  const [, s, , c] = m.encoder.inputs[0].shape as number[];
  const x = tf.randomUniform([batch, s, s, c], 0, 1, 'float32', 7) as tf.Tensor4D;
  let seed = 0;
  return {
    activate,
    step: () => time(() => trainStep(m, optimizer, vars, x, seed++, 0, 0, aux)),
    dispose() {
      x.dispose();
      optimizer.dispose();
      for (const a of aux) a.dispose();
      m.dispose();
    },
  };
}

export function noteOf(r: Runner): string | undefined {
  if (r.backend === 'wasm') return r.info?.simd ? `Glimpse SIMD kernels (${r.info.simd}), 1 thread` : 'SIMD kernels not bound: XNNPACK-based fallbacks, 1 thread';
  if (r.backend === 'webgl' || r.backend === 'webgpu') return r.info?.softwareGpu ? 'software GPU (SwiftShader): says nothing about real GPUs' : 'hardware GPU';
  return 'stock tfjs-cpu';
}

/**
 * Waits (at most `maxMs`) until the browser is idle again. A worker killed mid-step leaves the
 * GPU process running what it had queued (seconds to minutes under SwiftShader), which would
 * be timed as the next backend's step.
 */
export async function settle(browser: ExtensionBrowser, maxMs = 180_000): Promise<void> {
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

/** Chromium's name for a dedicated worker's thread (/proc/…/task/…/comm). */
export const WORKER_THREAD = 'DedicatedWorker';

/** The backends asked for (--browser-backends), in measuring order. */
export function backendsOf(o: BackendRowOptions): ChromiumBackend[] {
  const unknown = (o.browserBackends ?? []).filter((b) => !(CHROMIUM_BACKENDS as readonly string[]).includes(b));
  if (unknown.length) throw new Error(`unknown browser backend(s) ${unknown.join(', ')}: choose from ${CHROMIUM_BACKENDS.join(', ')}`);
  return CHROMIUM_BACKENDS.filter((b) => !o.browserBackends || o.browserBackends.includes(b));
}

/** Starts `backend` in a fresh worker and takes its warm-up step; the reason as a string if it cannot. */
export async function startRunner(page: Page, backend: ChromiumBackend, method: string, o: ChromiumRowOptions, limit: number, threads = 1, parallel?: ParallelMode): Promise<Runner | string> {
  const r: Runner = { backend, threads, worker: (await page.evaluate('glimpseBench.spawn()')) as number, wallMs: [], cpuMs: [], workerCpuMs: [], loss: NaN };
  try {
    const t0 = performance.now();
    r.info = await withLimit(workerCall<StepBenchInfo>(page, r.worker, 'stepBenchStart', [backend, { method, batch: o.batch, methodConfig: o.methodConfig, threads, parallel }]), limit, 'starting');
    const t1 = performance.now();
    const warm = await withLimit(workerCall<StepTiming>(page, r.worker, 'stepBenchStep', []), limit, 'the warm-up step');
    r.loss = warm.loss;
    r.warmupMs = warm.ms;
    process.stderr.write(`chromium: ${method} on ${backend}${threads > 1 ? ` (${threads} threads${parallel ? `, ${parallel}-parallel` : ''})` : ''}: started in ${fmt((t1 - t0) / 1000)} s, warm-up step ${fmt(warm.ms / 1000)} s\n`);
    return r;
  } catch (e) {
    await page.evaluate(`glimpseBench.terminate(${r.worker})`);
    return e instanceof LimitError ? `${message(e)}${r.info?.softwareGpu ? ' (software GPU: SwiftShader)' : ''}` : `unavailable: ${message(e)}`;
  }
}

/** `steps` timed steps of each runner in turn (and of the `nodes` before them); a runner over the limit is stopped. */
export async function timeSteps(page: Page, browser: ExtensionBrowser, runners: Runner[], steps: number, limit: number, nodes: NodeSteps[] = []): Promise<void> {
  for (let i = 0; i < steps; i++) {
    for (const node of nodes) {
      if (nodes.length > 1) await node.activate();
      const t = node.step();
      node.wallMs.push(t.wallMs);
      node.cpuMs.push(t.cpuMs);
    }
    for (const r of runners.filter((x) => !x.stopped)) {
      const cpu0 = browser.cpuMs();
      const worker0 = browser.threadCpuMs(WORKER_THREAD);
      try {
        const s = await withLimit(workerCall<StepTiming>(page, r.worker, 'stepBenchStep', []), limit, `step ${i + 1}`);
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

export type NodeSteps = Awaited<ReturnType<typeof nodeStepper>> & { wallMs: number[]; cpuMs: number[] };
