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
import type { StepBenchInfo, StepBenchOptions } from '../../extension/worker/bench-step';

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

  const losses = async (threads: number): Promise<{ info: StepBenchInfo; losses: number[] }> => {
    const w = (await page.evaluate('glimpseBench.spawn()')) as number;
    try {
      const o: StepBenchOptions = { method: 'byol', batch: 8, methodConfig: METHOD_CONFIG, threads, initSeed: 11 };
      const info = await workerCall<StepBenchInfo>(page, w, 'stepBenchStart', ['wasm', o]);
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push((await workerCall<{ loss: number }>(page, w, 'stepBenchStep', [])).loss);
      return { info, losses: out };
    } finally {
      await page.evaluate(`glimpseBench.terminate(${w})`);
    }
  };

  it('is cross-origin isolated, and a 2-thread step gives the 1-thread loss', async () => {
    expect(await page.evaluate('globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function"')).toBe(true);
    const one = await losses(1);
    const two = await losses(2);
    console.info('[wasm threads]', JSON.stringify({ one, two }));
    expect(one.info.crossOriginIsolated).toBe(true);
    expect(one.info.simd).toMatch(/^glimpse-simd/);
    expect(one.info.wasmThreads).toEqual({ threads: 1, asked: 1 });
    expect(two.info.wasmThreads).toEqual({ threads: 2, asked: 2 });
    for (const l of [...one.losses, ...two.losses]) expect(Number.isFinite(l)).toBe(true);
    // Training moves the loss: three steps are not one number repeated.
    expect(new Set(one.losses).size).toBeGreaterThan(1);
    for (let i = 0; i < one.losses.length; i++) expect(two.losses[i]).toBeCloseTo(one.losses[i], 4);
  }, 240_000);
});
