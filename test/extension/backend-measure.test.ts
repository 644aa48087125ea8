/**
 * The Automatic backend choice by measurement, in real Chromium with the real unpacked extension
 * (headless, SwiftShader WebGPU and WebGL): at first start the trainer times one training step on
 * each backend in a worker of its own (the emulated GPUs are recognised and ranked after wasm untimed), the background remembers the timings with the browser's
 * user agent, the trainer says hello to a real Glimpse server on the measured fastest, and the
 * options page and the popup show the timings. A browser update (another user agent stored) and
 * leads to a fresh measurement; the options page's "Measure again" forgets the timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Worker } from 'playwright-core';
import { buildExtension } from '../../scripts/build-extension';
import { startServer, type RunningServer } from '../../server/server';
import { SOFTWARE_GPU_NOTE, fastest, measuredOrder, parseBench, type BackendBench } from '../../extension/common/backend-bench';
import { DEFAULT_SETTINGS } from '../../extension/common/settings';
import { captureConsole, launchWithExtension, waitFor } from './e2e-support';

const METHOD_CONFIG = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' },
  projectionHidden: 32,
  projectionDim: 16,
};

describe('Automatic backend choice by measurement (Chromium, real extension)', () => {
  let tmp: string;
  let ctx: BrowserContext;
  let sw: Worker;
  let server: RunningServer;
  const hellos: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'glimpse-bench-'));
    const extDir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'extension'), extraHosts: ['http://127.0.0.1/*'] });
    ctx = await launchWithExtension(join(tmp, 'profile'), extDir);
    sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
    const extId = new URL(sw.url()).host;
    server = await startServer({
      port: 0, dataDir: join(tmp, 'server'), method: 'byol', methodConfig: METHOD_CONFIG, localSteps: 1, batchSize: 4,
      aggregation: { bufferSize: 1 }, log: false, allowedOrigins: [`chrome-extension://${extId}`],
    });
    server.events.on('client:connected', (e) => hellos.push(e.backend));
  }, 60_000);

  afterAll(async () => {
    await ctx?.close().catch(() => {});
    await server?.close().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const stored = () => sw.evaluate(async () => (await chrome.storage.local.get('backendBench')).backendBench).then(parseBench);
  let log: string[] = [];
  const benchAfter = (what: string, after: number, ua: string) =>
    waitFor(what, async () => {
      const b = await stored();
      return b && b.measuredAt > after && b.browser === ua ? b : null;
    }, 120_000, async () => ({ stored: await stored(), log }));

  it('measures every backend at first start, trains on the fastest, shows it, and measures again after a browser update', async () => {
    const t0 = Date.now();
    const page = await ctx.newPage();
    const ua = await page.evaluate(() => navigator.userAgent);
    // Opt in as the options page would: Automatic (the default), no idle gate (headless never idles).
    await sw.evaluate(async (s) => chrome.storage.local.set({ settings: s }), { ...DEFAULT_SETTINGS, optedIn: true, idleOnly: false, pauseOnBattery: false, serverUrl: server.url });

    // The trainer's log lines (offscreen document), shown when a wait times out.
    const cdp = await ctx.newCDPSession(page);
    log = await waitFor('the offscreen document', async () => captureConsole(cdp, '/offscreen.html'), 30_000);
    const first = await benchAfter('the first measurement', 0, ua);
    const took = { first: Date.now() - t0 } as Record<string, number>;
    expect(first.results.map((r) => r.backend)).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    // wasm always starts; every entry is a time or says why there is none.
    expect(first.results[0].msPerStep).toBeGreaterThan(0);
    for (const r of first.results) expect(r.msPerStep !== null || /^(unavailable|slower than|software GPU)/.test(r.note ?? ''), JSON.stringify(r)).toBe(true);
    // SwiftShader gives both GPU APIs here: recognised as emulated, so not timed (a stopped probe left
    // seconds of GPU-process work behind), and ranked after wasm, before cpu.
    for (const r of first.results.filter((x) => x.backend === 'webgpu' || x.backend === 'webgl')) {
      expect(r, r.backend).toEqual({ backend: r.backend, msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true });
    }
    expect(measuredOrder(first)).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    const best = fastest(first)!;
    const timed = first.results.filter((r) => r.msPerStep !== null).map((r) => r.msPerStep!);
    expect(first.results.find((r) => r.backend === best)!.msPerStep).toBe(Math.min(...timed));
    expect(measuredOrder(first)[0]).toBe(best);

    // The trainer connects on the measured fastest.
    console.info('[backend measure] first', took.first, 'ms', JSON.stringify(first.results));
    const stats = () => sw.evaluate(async () => (await chrome.storage.local.get('stats')).stats);
    await waitFor('a hello from the trainer', async () => hellos.length > 0, 60_000, async () => ({ stats: await stats(), log }));
    expect(hellos[0]).toBe(best);

    // The options page lists the timings; the popup's details name the measured fastest.
    const extId = new URL(sw.url()).host;
    await page.goto(`chrome-extension://${extId}/options.html`);
    await page.waitForSelector(`#bench-summary:text("Automatic trains on ${best}")`);
    expect(await page.locator('#bench li').allTextContents()).toEqual(first.results.map((r) => expect.stringMatching(new RegExp(`^${r.backend}: (\\d+ ms per step|unavailable|slower than|software GPU)`))));
    const popup = await ctx.newPage();
    await popup.goto(`chrome-extension://${extId}/popup.html`);
    await popup.waitForSelector(`#backend:text("Automatic: ${best} measured fastest")`, { state: 'attached' });
    await popup.close();

    // A browser update: the stored timings name another user agent, so the trainer measures again.
    await sw.evaluate(async (b: BackendBench) => chrome.storage.local.set({ backendBench: { ...b, browser: 'Mozilla/5.0 Chrome/1.0.0.0' } }), first);
    await sw.evaluate(async () => {
      const { settings } = (await chrome.storage.local.get('settings')) as { settings: Record<string, unknown> };
      await chrome.storage.local.set({ settings: { ...settings, cpuPercent: 90 } }); // any settings change wakes the trainer
    });
    const t1 = Date.now();
    const second = await benchAfter('a measurement after the browser update', first.measuredAt, ua);
    took.afterUpdate = Date.now() - t1;
    expect(second.results.map((r) => r.backend)).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);

    // "Measure again" forgets the timings at once (the trainer then measures as at first start).
    await page.click('#remeasure');
    await page.waitForSelector('#bench-summary:text("Not measured yet")');
    expect(await stored()).toBeNull();
    console.info('[backend measure]', JSON.stringify({ took, second: second.results }));
  }, 300_000);
});
