/**
 * `npm run bench:step -- --backends`: one row per tfjs backend that can train here, BYOL and
 * SimCLR steps side by side. Rows come from sources: Node's own (cpu, wasm, wasm-threads) are
 * below; Chromium's (the extension's worker on cpu, wasm, webgl, webgpu) are in
 * chromium-backends.ts. bench/step.ts prints whatever rows the sources return and never fails
 * when a source has none; a backend that cannot run gets a row that says why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../shared/backends/node-backend';
import type { BackendRow, BackendRowSource } from './backend-rows';
import { chromiumBackendRows } from './chromium-backends';
import { measureSteps } from './train-steps';

export type { BackendRow, BackendRowOptions, BackendRows, BackendRowSource } from './backend-rows';

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
    return { rows };
  },
};

/** Every source of `--backends` rows, measured in this order. */
export const BACKEND_ROW_SOURCES: BackendRowSource[] = [nodeBackendRows, chromiumBackendRows];
