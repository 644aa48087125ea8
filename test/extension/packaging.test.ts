/**
 * The built extension as a store reviewer sees it: no eval-like dead code (web-ext lint's
 * warning), no threaded wasm build that can never load, a service worker and offscreen document
 * that do not carry TensorFlow.js (only the training worker does), and padded icons.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../scripts/build-extension';

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
    // Glimpse's single-thread SIMD kernels too, wherever scripts/build-wasm.ts built them (npm ci does, given clang).
    const simd = ['glimpse-simd-relaxed.wasm', 'glimpse-simd.wasm'].filter((f) => existsSync(join(process.cwd(), 'dist/wasm', f)));
    expect(readdirSync(join(dir, 'wasm')).sort()).toEqual([...simd, 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm']);
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
