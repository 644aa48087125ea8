/**
 * The admin dashboard, /metrics and the public encoder page end to end, in real headless
 * Chromium: a server with its kNN evaluator and two Node contributor processes (tiny encoder,
 * fixture data) trains while the test watches the dashboard fill with live data, operates it
 * (pause/resume, checkpoint, revoke a token), is refused with a wrong token, scrapes /metrics,
 * and downloads the encoder from the public page and loads it with stock tfjs.
 * Screenshots land in test-artifacts/ (gitignored).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnnEvaluator, type KnnEvaluator } from '../../server/eval/knn-evaluator';
import { startServer, type RunningServer } from '../../server/server';
import { tokenFingerprint } from '../../server/socket/federation';
import { connectClient, onlineOnly, randomDelta } from './helpers';
import { parsePrometheus } from './metrics-parse';

const ADMIN = 'admin-token-for-the-dashboard-e2e';
const TOKENS = ['contributor-token-one', 'contributor-token-two'];
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const METHOD_CONFIG = { encoder: { widths: [8, 8, 8], stemWidth: 8 }, projectionHidden: 32, projectionDim: 16 };

/** Points a dashboard chart shows (its container's data-points). */
const points = (page: Page, id: string) => page.locator(`#c-${id}`).evaluate((el) => Number((el as HTMLElement).dataset.points ?? 0));

describe('admin dashboard, metrics and encoder page in Chromium', () => {
  let server: RunningServer;
  let evaluator: KnnEvaluator;
  let context: BrowserContext;
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const output: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dataDir = mkdtempSync(join(tmpdir(), 'glimpse-dash-'));
    dirs.push(dataDir);
    evaluator = createKnnEvaluator({ data: 'fixture', trainCount: 500, testCount: 200, every: 2 });
    server = await startServer({
      port: 0, host: '127.0.0.1', dataDir, method: 'byol', methodConfig: METHOD_CONFIG, localSteps: 2, batchSize: 8,
      aggregation: { bufferSize: 2 }, contributorTokens: TOKENS, adminToken: ADMIN, evaluator, log: false, dashboard: { sampleMs: 1000 },
    });
    for (let i = 1; i <= 2; i++) {
      const child = spawn(process.execPath, [
        '--import', 'tsx', 'scripts/glimpse.ts', 'contribute', '--threads', '1', '--server', server.url, '--token', TOKENS[i - 1],
        '--shard', `${i}/2`, '--data', 'fixture', '--rounds', '1000', '--seed', String(i),
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean).slice(-5));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      children.push(child);
    }
    const profile = mkdtempSync(join(tmpdir(), 'glimpse-chromium-'));
    dirs.push(profile);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1600, height: 1000 }, acceptDownloads: true,
      args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await context?.close();
    evaluator?.close();
    await server?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a wrong admin token and shows no run data', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/admin#token=not-the-admin-token-at-all`);
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 15_000 }).toMatch(/Access denied/);
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#dash').isVisible()).toBe(false);
    // The token left the address bar; the page itself carries no data.
    expect(page.url()).toBe(`${server.url}/admin`);
    expect(await page.locator('#t-contributors tbody tr').count()).toBe(0);
    // The login form with a wrong token is refused the same way.
    await page.fill('#token', 'still-not-the-admin-token');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.locator('#login-error').isVisible(), { timeout: 10_000 }).toBe(true);
    await page.close();
  });

  it('fills the charts with live data, operates the run, and survives a reload', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/admin#token=${ADMIN}`);
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 15_000 });
    expect(page.url()).toBe(`${server.url}/admin`);

    // Both contributors appear with their backend and the version they train on.
    await expect.poll(() => page.locator('#t-contributors tbody tr').count(), { timeout: 60_000 }).toBe(2);
    await expect.poll(() => page.locator('#t-contributors tbody').textContent(), { timeout: 30_000 }).toMatch(/wasm[\s\S]*v\d+[\s\S]*wasm[\s\S]*v\d+/);
    const fp = tokenFingerprint(TOKENS[0]).slice(0, 12);
    expect(await page.locator('#t-contributors tbody').textContent()).toContain(fp);

    // Every chart gets data: training progress, evaluation, aggregation, resources.
    const wants: Record<string, number> = { loss: 6, knn: 2, steps: 6, staleness: 1, norms: 1, net: 3, cpu: 3, mem: 3 };
    for (const [id, n] of Object.entries(wants)) await expect.poll(() => points(page, id), { timeout: 60_000, message: `chart ${id}` }).toBeGreaterThanOrEqual(n);
    // A rejected submission shows up live with its reason.
    const bad = await connectClient(server.url, { token: TOKENS[1] });
    const pulled = await bad.pullWeights('latest');
    const delta = randomDelta(onlineOnly(pulled.weights), 5);
    delta.values().next().value!.data[0] = Number.NaN;
    expect(await bad.submitDelta({ baseVersion: pulled.version, examples: 8, delta })).toMatchObject({ ok: false, code: 'not_finite' });
    bad.close();
    await expect.poll(() => page.locator('#t-rejections tbody').textContent(), { timeout: 10_000 }).toContain('not_finite');
    expect(await page.locator('#rej-counts').textContent()).toMatch(/not_finite\s*1/);

    // Live: the loss chart keeps growing without a reload.
    const before = await points(page, 'loss');
    await expect.poll(() => points(page, 'loss'), { timeout: 20_000 }).toBeGreaterThan(before);
    await expect.poll(() => page.locator('#s-knn').textContent(), { timeout: 5_000 }).toMatch(/%$/);
    expect(Number((await page.locator('#s-version').textContent())!.slice(1))).toBeGreaterThanOrEqual(6);
    // The theme button cycles auto → dark → light → auto and the charts follow.
    await page.click('#btn-theme');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.click('#btn-theme');
    await page.click('#btn-theme');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBeUndefined();
    expect(await points(page, 'loss')).toBeGreaterThanOrEqual(6);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Pause and resume aggregation from the toolbar; both land in the admin actions table.
    await page.click('#btn-pause');
    await page.locator('#paused-banner').waitFor({ state: 'visible', timeout: 10_000 });
    expect(server.coordinator.pausedAt).not.toBeNull();
    const pausedAt = server.coordinator.version;
    await page.waitForTimeout(1500);
    expect(server.coordinator.version).toBe(pausedAt);
    await expect.poll(() => page.locator('#btn-pause').textContent()).toBe('Resume aggregation');
    await page.click('#btn-pause');
    await page.locator('#paused-banner').waitFor({ state: 'hidden', timeout: 10_000 });
    await expect.poll(() => server.coordinator.version, { timeout: 20_000 }).toBeGreaterThan(pausedAt);
    await page.click('#btn-checkpoint');
    await expect.poll(() => page.locator('#t-actions tbody').textContent(), { timeout: 10_000 }).toMatch(/checkpoint[\s\S]*resume[\s\S]*pause/);
    expect(await page.locator('#t-actions tbody').textContent()).toMatch(/checkpoint of version \d+ written/);

    // Light theme renders too (charts are rebuilt in the new palette), now with the actions logged.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-light.png'), fullPage: true });

    // Revoke the first contributor's token: two clicks (arm, confirm); it is dropped and stays out.
    const row = page.locator('#t-contributors tbody tr', { hasText: fp });
    await row.locator('button[data-revoke]').click();
    await row.locator('button[data-revoke]').click();
    await expect.poll(() => page.locator('#t-contributors tbody tr').count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => page.locator('#t-actions tbody').textContent(), { timeout: 10_000 }).toContain(`token ${fp} revoked`);
    expect(await page.locator('#t-contributors tbody').textContent()).not.toContain(fp);

    // A reload rebuilds everything from SQLite: the whole run, not just what arrived while open.
    const lossPoints = await points(page, 'loss');
    await page.reload();
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => points(page, 'loss'), { timeout: 10_000 }).toBeGreaterThanOrEqual(lossPoints);
    expect(await page.locator('#t-actions tbody tr').count()).toBeGreaterThanOrEqual(4);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves Prometheus metrics', async () => {
    const v0 = server.coordinator.version;
    const r = await fetch(`${server.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(await r.text());
    expect(m.value('glimpse_model_version')).toBeGreaterThanOrEqual(v0);
    expect(m.value('glimpse_model_version')).toBeLessThanOrEqual(server.coordinator.version);
    expect(m.value('glimpse_updates_accepted_total')).toBeGreaterThanOrEqual(6);
    expect(m.value('glimpse_contributors_connected', { client_kind: 'node', backend: 'wasm' })).toBe(1);
    expect(m.value('glimpse_aggregation_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(m.value('glimpse_network_received_bytes_total')).toBeGreaterThan(10_000);
    expect(m.value('glimpse_network_sent_bytes_total')).toBeGreaterThan(10_000);
    const knn = m.value('glimpse_eval_accuracy', { metric: 'knn_top1' })!;
    expect(knn).toBeGreaterThan(0);
    expect(knn).toBeLessThanOrEqual(1);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.types.get('glimpse_updates_rejected_total')).toBe('counter');
    expect(m.types.get('glimpse_aggregation_duration_seconds')).toBe('histogram');
  });

  it('offers the encoder on the public page: download it through its links and load it with stock tfjs', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const html = await page.content();
    // No admin data on the public page.
    expect(html).not.toContain(ADMIN);
    for (const t of TOKENS) expect(html).not.toContain(tokenFingerprint(t).slice(0, 12));
    expect(html).not.toMatch(/rejected|contributor id|c-[0-9a-f]{8}-/i);
    await page.screenshot({ path: join(ARTIFACTS, 'encoder-page.png'), fullPage: true });
    const version = Number((await page.locator('#version').textContent())!.slice(1));
    expect(version).toBeGreaterThan(0);
    expect(await page.locator('#evaluation').textContent()).toMatch(/\d+(\.\d)?% kNN/);
    expect(await page.locator('#snippet-tfjs code').textContent()).toContain(`tf.loadLayersModel('${server.url}/api/encoder/${version}/model.json')`);
    expect(await page.locator('#snippet-pytorch code').textContent()).toContain(`GlimpseEncoder.from_url("${server.url}/api/encoder/${version}/encoder.safetensors")`);
    expect(await page.locator('#model-card ~ h3').first().textContent()).toBe(`Glimpse image encoder — version ${version}`);

    const hashes = new Map<string, string>();
    for (const tr of await page.locator('#downloads ~ table tbody tr:has(code.hash)').all()) {
      hashes.set((await tr.locator('a').textContent())!, (await tr.locator('code.hash').textContent())!);
    }
    // encoder.onnx is listed with its hash once the server has made it (Python with torch, on first request).
    const listed = [...hashes.keys()];
    expect(listed.slice(0, 3)).toEqual(['model.json', `weights.v${version}.bin`, 'encoder.safetensors']);
    expect(listed.slice(3)).toEqual(hashes.has('encoder.onnx') ? ['encoder.onnx'] : []);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    if (hashes.has('encoder.onnx')) {
      expect(sha(new Uint8Array(await (await fetch(`${server.url}/api/encoder/${version}/encoder.onnx`)).arrayBuffer()))).toBe(hashes.get('encoder.onnx'));
    }

    // safetensors: a real browser download through the link.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href$="encoder.safetensors"]')]);
    const saved = readFileSync((await download.path())!);
    expect(sha(saved)).toBe(hashes.get('encoder.safetensors'));

    // model.json + weights: stock tf.loadLayersModel from the link's URL; the bytes match the page's hashes.
    const href = await page.locator('a[href$="model.json"]').first().getAttribute('href');
    const modelUrl = new URL(href!, server.url).href;
    expect(sha(new Uint8Array(await (await fetch(modelUrl)).arrayBuffer()))).toBe(hashes.get('model.json'));
    expect(sha(new Uint8Array(await (await fetch(new URL(`weights.v${version}.bin`, modelUrl))).arrayBuffer()))).toBe(hashes.get(`weights.v${version}.bin`));
    await tf.setBackend('cpu');
    const model = await tfl.loadLayersModel(modelUrl);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1);
    const y = model.predict(x) as tf.Tensor;
    // 2×2 grid pooling (the registry's default since issue 11): 2 · 2 · 8 = 32.
    expect(y.shape).toEqual([2, 32]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
    await page.close();
  });
});
