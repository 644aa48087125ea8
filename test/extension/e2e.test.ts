/**
 * End to end in real Chromium: the built extension, loaded unpacked (headless, SwiftShader
 * WebGPU), contributes to a real Glimpse server. Checks: images on a localhost page are noticed
 * and buffered, the worker trains on webgpu, a delta is accepted (the version advances), the
 * popup shows it, training carries on after the service worker is stopped with exactly one
 * offscreen document, every byte the extension sent is protocol text or a delta of the
 * expected size — no image bytes — and the 'Automatic' backend setting ranks SwiftShader's
 * emulated GPU after wasm (the worker is replaced and training goes on on wasm); webgl and cpu,
 * chosen in the options, train there too.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { buildExtension } from '../../scripts/build-extension';
import { encodePng } from '../../extension/tools/png';
import { loadFixture } from '../../shared/data/fixture';
import { startServer, type RunningServer } from '../../server/server';
import '@tensorflow/tfjs-backend-cpu';
import { createMethod } from '../../shared/ssl/registry';
import { groupSpecs } from '../../shared/models/weights-io';
import { decodeWeights } from '../../shared/weights/codec';

const CHROMIUM = process.env.GLIMPSE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const TOKEN = 'e2e-contributor-token';
/** Tiny encoder so SwiftShader steps take about a second, not minutes. */
const METHOD_CONFIG = {
  encoder: { inputSize: 16, channels: 3, stemWidth: 8, widths: [8, 16], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' },
  projectionHidden: 32,
  projectionDim: 16,
};
const N_IMAGES = 16;
const BATCH = 8;

interface Tap {
  /** Raw bytes received on each TCP connection (HTTP upgrade request, then WebSocket frames). */
  conns: Buffer[][];
  origins: string[];
}

interface Wire {
  headers: string;
  text: string[];
  binary: Buffer[];
  control: number;
  /** Bytes that were neither headers nor a complete frame (must be 0). */
  leftover: number;
}

/**
 * Splits one connection's client→server bytes into the HTTP upgrade request and WebSocket
 * messages (RFC 6455 §5.2; client frames are masked, so unmask them to see what was sent).
 */
function parseWebSocketStream(buf: Buffer): Wire {
  const end = buf.indexOf('\r\n\r\n');
  const w: Wire = { headers: buf.subarray(0, end + 4).toString('latin1'), text: [], binary: [], control: 0, leftover: 0 };
  let i = end + 4;
  let parts: Buffer[] = [];
  let opcode = 0;
  while (i < buf.length) {
    if (i + 2 > buf.length) break;
    const b0 = buf[i];
    const b1 = buf[i + 1];
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) (len = buf.readUInt16BE(p)), (p += 2);
    else if (len === 127) (len = Number(buf.readBigUInt64BE(p))), (p += 8);
    const mask = b1 & 0x80 ? buf.subarray(p, (p += 4)) : null;
    if (p + len > buf.length) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (mask) for (let k = 0; k < payload.length; k++) payload[k] ^= mask[k & 3];
    i = p + len;
    const op = b0 & 0x0f;
    if (op >= 8) {
      w.control++;
      continue;
    }
    if (op !== 0) opcode = op;
    parts.push(payload);
    if (b0 & 0x80) {
      const msg = Buffer.concat(parts);
      parts = [];
      if (opcode === 1) w.text.push(msg.toString('utf8'));
      else w.binary.push(msg);
    }
  }
  w.leftover = buf.length - i;
  return w;
}

const t = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2) + ' s';

describe('browser extension end to end (Chromium, SwiftShader WebGPU)', () => {
  let tmp: string;
  let ctx: BrowserContext;
  let server: RunningServer;
  let site: HttpServer;
  let sw: Worker;
  let extId: string;
  const tap: Tap = { conns: [], origins: [] };
  const timings: Record<string, string> = {};
  const pngs: Buffer[] = [];
  let launchedAt = 0;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'glimpse-e2e-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const extDir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'extension'), extraHosts: ['http://127.0.0.1/*'] });

    // A page with real PNGs (Fashion-MNIST garments, upscaled to 96×96 RGB).
    const fm = loadFixture('train');
    for (let i = 0; i < N_IMAGES; i++) {
      const px = new Uint8Array(96 * 96 * 3);
      for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) {
        const v = fm.images[i * 784 + Math.floor((y * 28) / 96) * 28 + Math.floor((x * 28) / 96)];
        px.set([v, (v * 0.8 + 30) & 255, 255 - v], (y * 96 + x) * 3);
      }
      pngs.push(encodePng(96, 96, px));
    }
    const html = `<!doctype html><title>images</title><body style="margin:0">${pngs.map((_, i) => `<img src="/img/${i}.png" width="120" height="120" alt="">`).join('')}<img src="/img/icon.png" width="16" height="16" alt=""></body>`;
    const icon = encodePng(16, 16, new Uint8Array(16 * 16 * 3).fill(200));
    site = createServer((req, res) => {
      const m = /^\/img\/(\d+|icon)\.png(\?.*)?$/.exec(req.url ?? '');
      if (m) {
        res.writeHead(200, { 'content-type': 'image/png' }).end(m[1] === 'icon' ? icon : pngs[Number(m[1])]);
      } else res.writeHead(200, { 'content-type': 'text/html' }).end(req.url === '/again' ? html.replaceAll('.png"', '.png?again"') : html);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));

    launchedAt = performance.now();
    ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      ignoreDefaultArgs: ['--disable-extensions'],
      args: [
        '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-quic', '--enable-unsafe-webgpu', `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`,
      ],
    });
    sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
    timings['launch → service worker ready'] = t(launchedAt);
    extId = new URL(sw.url()).host;

    server = await startServer({
      port: 0,
      dataDir: join(tmp, 'server'),
      method: 'byol',
      methodConfig: METHOD_CONFIG,
      clientOptimizer: { kind: 'adam', learningRate: 1e-3 },
      localSteps: 2,
      batchSize: BATCH,
      aggregation: { bufferSize: 1 },
      contributorTokens: [TOKEN],
      allowedOrigins: [`chrome-extension://${extId}`],
      log: false,
    });
    // Server-side tap: every byte any client sends, per TCP connection.
    server.http.on('connection', (s: Socket) => {
      const chunks: Buffer[] = [];
      tap.conns.push(chunks);
      s.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
    });
    server.http.on('upgrade', (req) => tap.origins.push(String(req.headers.origin)));
  }, 120_000);

  afterAll(async () => {
    console.info('[e2e timings]', JSON.stringify(timings, null, 1));
    await ctx?.close().catch(() => {});
    await server?.close().catch(() => {});
    site?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const stats = () => sw.evaluate(async () => (await chrome.storage.local.get('stats')).stats as Record<string, unknown> | undefined);
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> => {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < end) {
      try {
        const v = await fn();
        if (v) return v as T;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}; stats ${JSON.stringify(await stats().catch(() => null))}`);
  };

  it('buffers seen images, trains on webgpu, gets a delta accepted, survives a service-worker stop, moves to wasm on Automatic, trains on webgl and cpu too', async () => {
    // 1. Opt in and configure through the options page, as a person would.
    // The extension opens its options page itself on install (runtime.openOptionsPage). Use that
    // tab: navigating a second one there races with it (Chrome reuses the tab and interrupts or
    // reloads ours).
    const optionsUrl = `chrome-extension://${extId}/options.html`;
    let options = await waitFor('the options tab the extension opens on install', async () => ctx.pages().find((p) => p.url().startsWith(optionsUrl)), 15_000).catch(() => null);
    timings['options page'] = options ? 'opened by the extension on install' : 'opened by the test';
    if (!options) {
      options = await ctx.newPage();
      await options.goto(optionsUrl);
    }
    await options.waitForLoadState('domcontentloaded');
    await options.waitForSelector('#optedIn');
    await options.check('#optedIn');
    await options.fill('#serverUrl', server.url);
    await options.fill('#token', TOKEN);
    await options.uncheck('#idleOnly');
    // 'Automatic' would rank SwiftShader's emulated WebGPU after wasm (step 8); ask for WebGPU to exercise it.
    await options.selectOption('#backend', 'webgpu');
    await options.click('#save');
    await options.waitForSelector('#result:text("Saved.")');
    const configuredAt = performance.now();

    // 2. Browse a page with images.
    const page = await ctx.newPage();
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const firstVersion = new Promise<number>((resolve) => server.events.on('version:created', (s) => resolve(s.version)));

    await waitFor('images buffered', async () => ((await stats())?.buffered as number) >= N_IMAGES, 60_000);
    timings['options saved → all images buffered'] = t(configuredAt);
    const s0 = await stats();
    expect(s0!.buffered).toBe(N_IMAGES); // the 16-px icon was skipped

    // 3. A delta is accepted and advances the server's version.
    const v1 = await firstVersion;
    timings['launch → first delta accepted (version advanced)'] = t(launchedAt);
    expect(v1).toBeGreaterThanOrEqual(1);
    const s1 = await waitFor('stats after the first round', async () => {
      const s = await stats();
      return (s?.updatesAccepted as number) >= 1 ? s : null;
    }, 30_000);
    expect(s1.backend).toBe('webgpu');
    const losses = s1.losses as number[];
    expect(losses.length).toBeGreaterThanOrEqual(2);
    expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true); // BYOL's symmetrised loss is in (0, 8]
    expect(s1.connected).toBe(true);
    timings['webgpu ms per step (SwiftShader)'] = String(Math.round(s1.stepMs as number));

    // 4. The popup shows it.
    const popup = await ctx.newPage();
    await popup.setViewportSize({ width: 320, height: 520 });
    await popup.goto(`chrome-extension://${extId}/popup.html`);
    await popup.waitForSelector('#backend:text("webgpu")');
    await expect.poll(() => popup.textContent('#conn')).toBe('Connected');
    await expect.poll(async () => Number(await popup.textContent('#version'))).toBeGreaterThanOrEqual(1);
    expect(await popup.textContent('#updates')).toMatch(/^[1-9]\d* of [1-9]/);
    expect(Number(await popup.textContent('#buffered'))).toBe(N_IMAGES);
    await popup.waitForSelector('#spark svg polyline', { state: 'attached' });
    await popup.screenshot({ path: join(ARTIFACTS, 'extension-popup.png') });

    // 5. Stop the service worker; training must carry on with exactly one offscreen document.
    const cdp = await ctx.newCDPSession(popup);
    const offscreenTargets = async () =>
      ((await cdp.send('Target.getTargets')).targetInfos as { type: string; url: string }[]).filter((x) => x.url.endsWith('/offscreen.html')).length;
    expect(await offscreenTargets()).toBe(1);
    const acceptedBefore = s1.updatesAccepted as number;
    const versionBefore = server.coordinator.version;
    await cdp.send('ServiceWorker.enable');
    const stopped = new Promise<void>((resolve) =>
      cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: { scriptURL: string; runningStatus: string }[] }) => {
        if (e.versions.some((v) => v.scriptURL.includes(extId) && v.runningStatus === 'stopped')) resolve();
      }),
    );
    await cdp.send('ServiceWorker.stopAllWorkers');
    await stopped;
    const stoppedAt = performance.now();
    // Nothing else wakes the worker here: the trainer's own lease request restarts it.
    await waitFor('a version after the service worker stopped', async () => server.coordinator.version > versionBefore, 90_000);
    timings['service worker stopped → next version'] = t(stoppedAt);
    sw = ctx.serviceWorkers().find((w) => w.url().includes(extId)) ?? (await ctx.waitForEvent('serviceworker'));
    await waitFor('stats after the restart', async () => ((await stats())?.updatesAccepted as number) > acceptedBefore, 30_000);
    // The restarted worker's ensure() path (a page reporting images again) must find the
    // existing offscreen document rather than create a second one.
    await page.reload();
    await page.waitForTimeout(2500);
    expect(await offscreenTargets()).toBe(1);
    expect(await sw.evaluate(async () => (await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT' as chrome.runtime.ContextType] })).length)).toBe(1);

    // 6. Privacy: everything the extension sent is protocol text or a delta of the exact size.
    const method = createMethod('byol', METHOD_CONFIG as never);
    const onlineSpecs = groupSpecs([method.online]);
    method.dispose();
    const deltaValues = onlineSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    expect(tap.origins.length).toBeGreaterThanOrEqual(1);
    expect(tap.origins.every((o) => o === `chrome-extension://${extId}`)).toBe(true);
    const wires = tap.conns.map((c) => parseWebSocketStream(Buffer.concat(c)));
    const total = tap.conns.reduce((n, c) => n + c.reduce((m, b) => m + b.length, 0), 0);
    const binary = wires.flatMap((w) => w.binary);
    const text = wires.flatMap((w) => w.text);
    for (const w of wires) {
      expect(w.leftover).toBe(0); // every byte is a header or a complete frame
      expect(w.headers).toMatch(/^GET \/socket\.io\/\?EIO=4&transport=websocket/);
      expect(w.headers.length).toBeLessThan(4096);
    }
    // Binary messages: only GLWT deltas with exactly the online weights' names and shapes.
    expect(binary.length).toBeGreaterThanOrEqual(2);
    for (const b of binary) {
      const { weights } = decodeWeights(new Uint8Array(b), { expected: onlineSpecs, copy: true });
      expect([...weights.values()].reduce((n, w) => n + w.data.length, 0)).toBe(deltaValues);
      expect(b.length).toBeLessThan(deltaValues * 4 + 16_384); // values + header, nothing else
      const changed = [...weights.values()].reduce((n, w) => n + w.data.filter((v) => v !== 0).length, 0);
      expect(changed / deltaValues).toBeGreaterThan(0.5); // the worker really trained
    }
    // Text messages: small protocol packets (hello, pull, submit metadata, pings).
    for (const m of text) {
      expect(m.length).toBeLessThan(4096);
      expect(m).not.toMatch(/data:image|base64|iVBORw0KGgo|\/img\/|127\.0\.0\.1:\d+\/img/);
    }
    const payloadBytes = [...binary, ...text.map((m) => Buffer.from(m))];
    const plain = Buffer.concat([...wires.map((w) => Buffer.from(w.headers, 'latin1')), ...payloadBytes]);
    const signatures = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('JFIF'), Buffer.from('WEBPVP8'), Buffer.from('IHDR')];
    for (const sig of signatures) expect(plain.indexOf(sig)).toBe(-1);
    // No served image (nor any 64-byte piece of one) appears in what was sent.
    for (const png of pngs) for (let o = 0; o + 64 <= png.length; o += 256) expect(plain.indexOf(png.subarray(o, o + 64))).toBe(-1);
    timings['bytes sent to the server'] = `${total} on ${wires.length} connection(s): ${binary.length} deltas of ${deltaValues * 4} value bytes, ${text.length} text messages (${text.reduce((n, m) => n + m.length, 0)} bytes)`;
    // 7. An excluded site gets no content script: new images there are not buffered.
    await options.bringToFront();
    await options.fill('#denyList', '127.0.0.1');
    await options.click('#save');
    await options.waitForSelector('#result:text("Saved.")');
    const again = await ctx.newPage();
    await again.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/again`);
    await again.waitForTimeout(4000);
    expect((await stats())?.buffered).toBe(N_IMAGES);
    const scripts = await sw.evaluate(() => chrome.scripting.getRegisteredContentScripts());
    expect(scripts.map((c) => [c.matches, c.excludeMatches])).toEqual([[['http://127.0.0.1/*'], ['*://127.0.0.1/*']]]);

    // 8. 'Automatic' ranks the emulated GPU after wasm: the trainer replaces its worker and goes on there.
    const acceptedOnGpu = (await stats())?.updatesAccepted as number;
    await options.selectOption('#backend', 'auto');
    await options.click('#save');
    const switchedAt = performance.now();
    const onWasm = await waitFor('a round on wasm after choosing Automatic', async () => {
      const s = await stats();
      return s?.backend === 'wasm' && (s.updatesAccepted as number) > acceptedOnGpu ? s : null;
    }, 120_000);
    timings['Automatic saved → a delta accepted from wasm'] = t(switchedAt);
    timings['wasm ms per step, first round (extension worker)'] = String(Math.round(onWasm.stepMs as number));
    const onWasm2 = await waitFor('a second round on wasm', async () => {
      const s = await stats();
      return (s?.updatesAccepted as number) > (onWasm.updatesAccepted as number) ? s : null;
    }, 60_000);
    expect(onWasm2.backend).toBe('wasm');
    timings['wasm ms per step, second round (extension worker)'] = String(Math.round(onWasm2.stepMs as number));
    expect(await offscreenTargets()).toBe(1);
    // 9. The other two backends train inside the extension's worker too (each a fresh worker).
    for (const b of ['webgl', 'cpu'] as const) {
      const before = (await stats())?.updatesAccepted as number;
      await options.selectOption('#backend', b);
      await options.click('#save');
      const at = performance.now();
      const s = await waitFor(`a delta accepted from ${b}`, async () => {
        const x = await stats();
        return x?.backend === b && (x.updatesAccepted as number) > before ? x : null;
      }, 120_000);
      timings[`${b} saved → a delta accepted from it`] = `${t(at)}, ${Math.round(s.stepMs as number)} ms/step`;
    }
    expect(await offscreenTargets()).toBe(1);

    const final = await stats();
    timings['final'] = JSON.stringify({ steps: final?.steps, accepted: final?.updatesAccepted, version: server.coordinator.version, stepMs: final?.stepMs, losses: final?.losses });
  }, 240_000);
});
