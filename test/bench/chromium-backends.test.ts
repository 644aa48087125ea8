/**
 * `bench:step -- --backends`' Chromium source (bench/step/chromium-backends.ts) in real headless
 * Chromium with the built extension, one tiny step per backend: every row has a positive finite
 * time and a finite loss, or says why its backend did not run; the extension's wasm trains on
 * Glimpse's SIMD kernels, and on their 2-thread pool (the pages are cross-origin isolated); the
 * extension/Node comparisons are finite ratios; and no browser process
 * outlives the run. No timing is asserted (speed belongs to the bench's report).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumRows, CHROMIUM_BACKENDS, type WasmComparison } from '../../bench/step/chromium-backends';
import { CHROMIUM } from '../../bench/step/chromium';
import type { ThreadsComparison } from '../../bench/step/chromium-threads';

/** Tiny encoder (as the extension e2e's) so that even SwiftShader and stock cpu take seconds. */
const METHOD_CONFIG = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' as const },
  projectionHidden: 32,
  projectionDim: 16,
};

/**
 * Processes started with Chromium profile `profileDir` (this run's own: other test files start
 * browsers with the same prefix at the same time).
 */
function browserProcs(profileDir: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(profileDir);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('bench:step --backends, Chromium rows', () => {
  it('gives every backend a time and a finite loss or a reason, wasm on the SIMD kernels, and closes the browser', async (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    const methods = ['byol'];
    const r = await chromiumRows({
      batch: 4, steps: 1, methods, threads: 2, skipCpu: false, cpu: async () => null, methodConfig: METHOD_CONFIG, stepLimitMs: 90_000,
    });
    const table = r.rows.map((x) => `${x.backend} ${x.method}: ${x.msPerStep ?? '—'} ms, loss ${x.loss}, ${x.unavailable ?? x.note}`).join('\n');

    for (const m of methods) {
      const backends = r.rows.filter((x) => x.method === m).map((x) => x.backend).sort();
      expect(backends, table).toEqual([...CHROMIUM_BACKENDS, 'wasm-threads (data)', 'wasm-threads (kernels)'].sort());
    }
    for (const row of r.rows) {
      expect(row.host).toBe('chromium');
      if (row.msPerStep === null) {
        expect(row.unavailable, table).toMatch(/\w{3,}/);
        expect(row.imagesPerSecond).toBeNull();
      } else {
        expect(Number.isFinite(row.msPerStep) && row.msPerStep > 0, table).toBe(true);
        expect(Number.isFinite(row.loss), table).toBe(true);
        expect(row.unavailable).toBeUndefined();
      }
    }
    // wasm runs in every Chromium: the extension's worker must train there, on Glimpse's kernels.
    for (const m of methods) {
      const wasm = r.rows.find((x) => x.method === m && x.backend === 'wasm')!;
      expect(wasm.msPerStep, table).not.toBeNull();
      expect(wasm.note, table).toMatch(/glimpse-simd(-relaxed)?\.wasm/);
    }
    const comparison = r.details?.comparison as WasmComparison[];
    expect(comparison.map((c) => c.method)).toEqual(methods);
    for (const c of comparison) {
      expect(Number.isFinite(c.ratio) && c.ratio > 0, JSON.stringify(c)).toBe(true);
      // The worker's own thread is found in /proc and did the step's work.
      if (process.platform === 'linux') expect(c.chromiumMinWorkerCpuMs, JSON.stringify(c)).toBeGreaterThan(0);
    }
    // The extension's pages are cross-origin isolated: its step runs on 2 threads both ways (shard
    // workers, kernel pool), in turn with 1 thread and with Node's 2 threads the same way.
    expect(r.details?.crossOriginIsolated).toBe(true);
    for (const m of methods) {
      const pooled = r.rows.find((x) => x.method === m && x.backend === 'wasm-threads (kernels)')!;
      expect(pooled.msPerStep, table).not.toBeNull();
      expect(pooled.note, table).toMatch(/glimpse-simd-threads(-relaxed)?\.wasm\), 2 threads/);
      const sharded = r.rows.find((x) => x.method === m && x.backend === 'wasm-threads (data)')!;
      expect(sharded.msPerStep, table).not.toBeNull();
      expect(sharded.note, table).toMatch(/data-parallel: 2 encoder shard workers/);
    }
    const threads = r.details?.threads as ThreadsComparison[];
    expect(threads.map((c) => `${c.method} ${c.parallel}`)).toEqual(methods.flatMap((m) => [`${m} data`, `${m} kernels`]));
    for (const c of threads) for (const v of [c.speedup, c.ratio]) expect(Number.isFinite(v) && v > 0, JSON.stringify(c)).toBe(true);
    expect(r.lines?.join('\n')).toMatch(/extension wasm on 2 threads/);
    expect(String(r.details?.browser)).toMatch(/Chrome\/\d+/);
    expect(r.lines?.join('\n')).toMatch(/extension wasm step \/ Node wasm step/);

    const profileDir = String(r.details?.profileDir);
    expect(profileDir).toMatch(/glimpse-bench-chromium-/);
    expect(browserProcs(profileDir), 'browser processes left running').toEqual([]);
  }, 600_000);
});
