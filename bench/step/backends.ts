/**
 * `npm run bench:step -- --backends`: one row per tfjs backend that can train here, BYOL and
 * SimCLR steps side by side. Rows come from sources; Node's own (cpu, wasm, wasm-threads) are
 * below. HOOK for the browser backends: a source that launches Chromium (playwright-core,
 * /usr/bin/chromium) and measures webgl, webgpu and the extension's wasm (e.g.
 * bench/step/chromium-backends.ts) is added to BACKEND_ROW_SOURCES; bench/step.ts prints
 * whatever rows the sources return and never fails when a source has none.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../shared/backends/node-backend';
import { measureSteps } from './train-steps';

export interface BackendRow {
  backend: string;
  /** Where it ran: 'node', 'chromium', … */
  host: string;
  method: string;
  batch: number;
  /** Median wall ms per step. */
  msPerStep: number;
  /** Minimum process CPU ms of a step (not available from every host). */
  minCpuMs?: number;
  imagesPerSecond: number;
  note?: string;
}

export interface BackendRowOptions {
  batch: number;
  steps: number;
  methods: string[];
  threads: number;
  /** Stock tfjs-cpu takes minutes per step: measured in a child process, one step, when asked. */
  cpu: () => Promise<Record<string, { msPerStep: number; minCpuMs?: number }> | null>;
}

export interface BackendRowSource {
  name: string;
  rows(o: BackendRowOptions): Promise<BackendRow[]>;
}

/** cpu (stock), wasm (Glimpse's kernels, one thread), wasm-threads (N threads, 'data' and 'kernels' parallel). */
export const nodeBackendRows: BackendRowSource = {
  name: 'node',
  async rows(o) {
    const rows: BackendRow[] = [];
    const configs = [
      { name: 'wasm', threads: 1, parallel: 'data' as const },
      ...(o.threads > 1 ? (['data', 'kernels'] as const).map((parallel) => ({ name: 'wasm-threads', threads: o.threads, parallel })) : []),
    ].map((c) => ({
      name: c.threads > 1 ? `${c.name} (${c.parallel})` : c.name,
      mode: c.threads > 1 ? c.parallel : ('single' as const),
      note: c.threads > 1 ? `${c.threads} threads, ${c.parallel}-parallel` : undefined,
      activate: async () => void (await initNodeBackend('wasm', { threads: c.threads, parallel: c.parallel })),
    }));
    for (const m of o.methods) {
      const r = await measureSteps(m, o.batch, o.steps, configs, false);
      for (const c of configs) {
        const s = r.byConfig[c.name];
        rows.push({ backend: c.name, host: 'node', method: m, batch: o.batch, msPerStep: s.msPerStep, minCpuMs: s.minCpuMs, imagesPerSecond: o.batch / (s.msPerStep / 1000), note: c.note });
      }
    }
    const cpu = await o.cpu();
    if (cpu) {
      for (const m of o.methods) {
        if (cpu[m]) rows.push({ backend: 'cpu', host: 'node', method: m, batch: o.batch, msPerStep: cpu[m].msPerStep, minCpuMs: cpu[m].minCpuMs, imagesPerSecond: o.batch / (cpu[m].msPerStep / 1000), note: 'stock tfjs, 1 step' });
      }
    }
    await initNodeBackend('wasm');
    if (tf.getBackend() !== 'wasm') throw new Error('wasm backend lost');
    return rows;
  },
};

/** Every source of `--backends` rows; add browser sources here. */
export const BACKEND_ROW_SOURCES: BackendRowSource[] = [nodeBackendRows];
