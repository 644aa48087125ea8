/**
 * The extension's memory footprint in real Chromium (Debian's, headless): resident memory of the
 * extension's renderer processes (the offscreen document and its training worker live there)
 * before opt-in, while training, and after the trainer parks its worker because it cannot train
 * (the day's budget used up). Side by side in one run, on the model the server plans.
 *
 *   npx tsx bench/extension-footprint.ts                      # default BYOL encoder, wasm, 2 rounds
 *   npx tsx bench/extension-footprint.ts --model tiny --rounds 1   # smoke run (the e2e's tiny encoder)
 *   options: --backend wasm|webgpu|webgl|cpu  --settle-ms 3000
 *
 * Prints a table and writes bench/reports/extension-footprint.json. RSS includes what the
 * renderer has not yet returned to the OS; read differences, not absolutes.
 */
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { buildExtension } from '../scripts/build-extension';
import { encodePng } from '../extension/tools/png';
import { loadFixture } from '../shared/data/fixture';
import { startServer } from '../server/server';
import { extensionRendererRssKb, launchWithExtension, waitFor, watchDedicatedWorkers } from '../test/extension/e2e-support';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: 'default' },
    backend: { type: 'string', default: 'wasm' },
    rounds: { type: 'string', default: '2' },
    'settle-ms': { type: 'string', default: '3000' },
  },
});
const TINY = { encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' }, projectionHidden: 32, projectionDim: 16 };
const rounds = Number(o.rounds);
const settleMs = Number(o['settle-ms']);
const BATCH = 16;
const N_IMAGES = 32;

const tmp = mkdtempSync(join(tmpdir(), 'glimpse-footprint-'));
const profile = join(tmp, 'profile');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Mean of a few samples: RSS moves while the renderer works. */
const rss = async () => {
  const s: number[] = [];
  for (let i = 0; i < 3; i++) (s.push(extensionRendererRssKb(profile)), await sleep(300));
  return Math.round(s.reduce((a, b) => a + b, 0) / s.length);
};

const fm = loadFixture('train');
const pngs = Array.from({ length: N_IMAGES }, (_, i) => {
  const px = new Uint8Array(96 * 96 * 3);
  for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) {
    const v = fm.images[i * 784 + Math.floor((y * 28) / 96) * 28 + Math.floor((x * 28) / 96)];
    px.set([v, (v * 0.8 + 30) & 255, 255 - v], (y * 96 + x) * 3);
  }
  return encodePng(96, 96, px);
});
const site = createServer((req, res) => {
  const m = /^\/img\/(\d+)\.png$/.exec(req.url ?? '');
  if (m) return res.writeHead(200, { 'content-type': 'image/png' }).end(pngs[Number(m[1])]);
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><body style="margin:0">${pngs.map((_, i) => `<img src="/img/${i}.png" width="100" height="100">`).join('')}</body>`);
});
await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));

const report: Record<string, unknown> = { model: o.model, backend: o.backend, rounds, cpus: cpus().length, loadAverage: loadavg(), shared: 'machine shared with other work; compare only within this run' };
const extDir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'ext'), extraHosts: ['http://127.0.0.1/*'] });
const ctx = await launchWithExtension(profile, extDir);
const server = await startServer({
  port: 0, dataDir: join(tmp, 'server'), method: 'byol', methodConfig: o.model === 'tiny' ? TINY : {}, localSteps: 2, batchSize: BATCH,
  aggregation: { bufferSize: 1 }, log: false,
});
try {
  let sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
  const stats = () => sw.evaluate(async () => (await chrome.storage.local.get('stats')).stats as Record<string, number> | undefined);
  await sleep(settleMs);
  const beforeOptIn = await rss();
  await sw.evaluate(async (s) => chrome.storage.local.set({ settings: s }), {
    optedIn: true, serverUrl: server.url, idleOnly: false, dailyBudgetMinutes: 600, backend: o.backend, cpuPercent: 100,
  });
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
  await waitFor(`${rounds} accepted rounds`, async () => ((await stats())?.updatesAccepted ?? 0) >= rounds, 20 * 60_000, stats);
  const workers = await watchDedicatedWorkers(await ctx.newCDPSession(page), '/offscreen.html');
  await waitFor('the training worker', async () => workers.count() === 1, 10_000);
  const training = await rss();
  const stepMs = (await stats())?.stepMs;
  sw = ctx.serviceWorkers().find((w) => w.url().endsWith('/service-worker.js')) ?? sw;
  await sw.evaluate(async () => {
    const d = new Date();
    const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    await chrome.storage.local.set({ usage: { day, computeMs: 1e9 } });
    const { settings } = await chrome.storage.local.get('settings');
    await chrome.storage.local.set({ settings: { ...(settings as object), dailyBudgetMinutes: 1 } }); // wakes the trainer
  });
  const parkedAt = performance.now();
  await waitFor('the worker parked', async () => workers.count() === 0, 120_000);
  const parkMs = Math.round(performance.now() - parkedAt);
  await sleep(settleMs);
  const parked = await rss();
  Object.assign(report, { stepMs, parkMs, rssKb: { beforeOptIn, training, parked } });
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  console.log(`extension renderers, ${o.model} model on ${o.backend} (${rounds} rounds, ${Math.round(stepMs ?? 0)} ms/step)`);
  console.log('state                 RSS');
  console.log(`before opt-in         ${mb(beforeOptIn)}`);
  console.log(`training              ${mb(training)}`);
  console.log(`worker parked         ${mb(parked)}   (parked ${parkMs} ms after the budget ran out)`);
  mkdirSync('bench/reports', { recursive: true });
  writeFileSync('bench/reports/extension-footprint.json', JSON.stringify(report, null, 2) + '\n');
  console.log('→ bench/reports/extension-footprint.json');
} finally {
  await ctx.close();
  await server.close();
  site.close();
  rmSync(tmp, { recursive: true, force: true });
}
