/**
 * The extension's wasm kernels on several cores, in real headless Chromium with the built
 * extension: its pages are cross-origin isolated (manifest.json's COOP/COEP), so the training
 * worker runs Glimpse's SIMD kernel pool on Web Workers over shared wasm memory; a training step
 * there gives the same loss as on one thread (same seeded weights, input and augmentation). No
 * timing is asserted (bench:step --backends measures it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { buildExtension } from '../../scripts/build-extension';
import { CHROMIUM, launchExtensionBrowser, PAGE_RPC, workerCall, type ExtensionBrowser } from '../../bench/step/chromium';
import type { StepBenchInfo, StepBenchOptions, StepTiming } from '../../extension/worker/bench-step';

const METHOD_CONFIG = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' as const },
  projectionHidden: 32,
  projectionDim: 16,
};

describe.skipIf(!existsSync(CHROMIUM))('wasm kernels on a thread pool in the extension (Chromium)', () => {
  let tmp: string;
  let browser: ExtensionBrowser | null = null;
  let page: Page;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'glimpse-threads-'));
    const extDir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'extension') });
    browser = await launchExtensionBrowser(extDir);
    page = await browser.ctx.newPage();
    await page.goto(`chrome-extension://${browser.extensionId}/welcome.html`);
    await page.evaluate(PAGE_RPC);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const losses = async (threads: number, parallel?: StepBenchOptions['parallel']): Promise<{ info: StepBenchInfo; losses: number[]; shardedCalls?: number }> => {
    const w = (await page.evaluate('glimpseBench.spawn()')) as number;
    try {
      const o: StepBenchOptions = { method: 'byol', batch: 8, methodConfig: METHOD_CONFIG, threads, parallel, initSeed: 11 };
      const info = await workerCall<StepBenchInfo>(page, w, 'stepBenchStart', ['wasm', o]);
      const out: number[] = [];
      let shardedCalls: number | undefined;
      for (let i = 0; i < 3; i++) {
        const s = await workerCall<StepTiming>(page, w, 'stepBenchStep', []);
        out.push(s.loss);
        shardedCalls = s.shardedCalls;
      }
      return { info, losses: out, shardedCalls };
    } finally {
      await page.evaluate(`glimpseBench.terminate(${w})`);
    }
  };

  it('is cross-origin isolated, and a 2-thread step gives the 1-thread loss, data-parallel (the default) and on the kernel pool', async () => {
    expect(await page.evaluate('globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function"')).toBe(true);
    const one = await losses(1);
    const data = await losses(2);
    const kernels = await losses(2, 'kernels');
    console.info('[wasm threads]', JSON.stringify({ one, data, kernels }));
    expect(one.info.crossOriginIsolated).toBe(true);
    expect(one.info.simd).toMatch(/^glimpse-simd/);
    expect(one.info.wasmThreads).toEqual({ threads: 1, asked: 1 });
    // Encoder shard workers (shard-worker.js) each with their own wasm backend.
    expect(data.info.wasmThreads).toEqual({ threads: 2, asked: 2, parallel: 'data' });
    expect(kernels.info.wasmThreads).toEqual({ threads: 2, asked: 2 });
    // Every step's encoder passes (BYOL: two views, online and target) ran on the shard workers.
    expect(data.shardedCalls).toBeGreaterThanOrEqual(3 * 2);
    expect(one.shardedCalls).toBeUndefined();
    expect(kernels.shardedCalls).toBeUndefined();
    for (const l of [...one.losses, ...data.losses, ...kernels.losses]) expect(Number.isFinite(l)).toBe(true);
    // Training moves the loss: three steps are not one number repeated.
    expect(new Set(one.losses).size).toBeGreaterThan(1);
    for (let i = 0; i < one.losses.length; i++) {
      expect(kernels.losses[i]).toBeCloseTo(one.losses[i], 4);
      expect(data.losses[i]).toBeCloseTo(one.losses[i], 4);
    }
  }, 240_000);
});
