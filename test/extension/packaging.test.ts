/**
 * The built extension as a store reviewer sees it: no eval-like dead code (web-ext lint's
 * warning), no threaded wasm build that can never load (Glimpse's kernel pool can: the pages are
 * cross-origin isolated), a service worker and offscreen document
 * that do not carry TensorFlow.js (only the training worker does), and padded icons.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../scripts/build-extension';
import { POOL_WORKER_FILE } from '../../shared/backends/wasm/simd/browser-pool';

describe('packaged extension (Chrome build)', () => {
  let dir: string;
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'glimpse-pack-'));
    dir = await buildExtension({ target: 'chrome', outDir: join(tmp, 'ext') });
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const js = () => readdirSync(dir).filter((f) => f.endsWith('.js'));
  const text = (f: string) => readFileSync(join(dir, f), 'utf8');

  it('ships no eval-like or blob-worker code', () => {
    for (const f of js()) {
      const src = text(f);
      expect(src, f).not.toContain('Function("return this")');
      expect(src, f).not.toMatch(/\(0,\s*eval\)/);
      expect(src, f).not.toMatch(/importScripts\(/);
    }
  });

  it('ships only the wasm builds it can load', () => {
    // Glimpse's SIMD kernels too, wherever scripts/build-wasm.ts built them (npm ci does, given clang):
    // single-thread, and the threads variants with the pool's worker script (the pages are
    // cross-origin isolated); never tfjs's own threaded build (its helper worker is a blob: URL).
    const simd = ['glimpse-simd-relaxed.wasm', 'glimpse-simd-threads-relaxed.wasm', 'glimpse-simd-threads.wasm', 'glimpse-simd.wasm'].filter((f) => existsSync(join(process.cwd(), 'dist/wasm', f)));
    const pool = simd.some((f) => f.includes('threads')) ? [POOL_WORKER_FILE] : [];
    expect(readdirSync(join(dir, 'wasm')).sort()).toEqual([...pool, ...simd, 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'].sort());
    // The pool worker is plain JavaScript: no importScripts, no eval.
    if (pool.length) expect(text(`wasm/${POOL_WORKER_FILE}`)).not.toMatch(/importScripts\(|\beval\(/);
  });

  it('asks for cross-origin isolation (shared wasm memory for the kernel pool)', () => {
    const m = JSON.parse(text('manifest.json'));
    expect(m.cross_origin_embedder_policy).toEqual({ value: 'require-corp' });
    expect(m.cross_origin_opener_policy).toEqual({ value: 'same-origin' });
  });

  it('keeps TensorFlow.js and zod locales out of the service worker and the offscreen document', () => {
    expect(text('worker.js')).toContain("Kernel '"); // the worker does carry tfjs
    for (const f of ['service-worker.js', 'offscreen.js', 'popup.js', 'options.js', 'welcome.js']) {
      expect(text(f), f).not.toContain("Kernel '");
      expect(text(f), f).not.toContain('zu haben'); // a German zod locale string: no locale but English
    }
    expect(statSync(join(dir, 'service-worker.js')).size).toBeLessThan(100_000);
    expect(statSync(join(dir, 'offscreen.js')).size).toBeLessThan(400_000);
  });

  it('has every page and icon the manifest names', () => {
    const m = JSON.parse(text('manifest.json'));
    for (const p of [m.action.default_popup, m.options_ui.page, 'welcome.html', 'offscreen.html', ...Object.values<string>(m.icons)]) expect(existsSync(join(dir, p)), p).toBe(true);
  });
});
