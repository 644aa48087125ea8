/**
 * Builds the extension from extension/ and the root manifest.json:
 *   dist/extension/          Chrome (MV3 service worker + offscreen document)
 *   dist/extension-firefox/  Firefox (MV3 background page hosting the trainer; no offscreen API)
 *
 *   npm run build:extension [-- --target chrome|firefox|all] [--out DIR] [--extra-host PATTERN] [--no-minify]
 *
 * `--extra-host` adds a required host permission (the e2e test grants http://127.0.0.1/* this
 * way, since a headless browser cannot answer the optional-permission prompt).
 */
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { iconPng } from '../extension/tools/png';
import { POOL_WORKER_FILE } from '../shared/backends/wasm/simd/browser-pool';
import { SHARD_WORKER_FILE } from '../shared/parallel/shard-protocol';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXT = join(ROOT, 'extension');

export type Target = 'chrome' | 'firefox';

export interface BuildOptions {
  target: Target;
  outDir: string;
  extraHosts?: string[];
  minify?: boolean;
}

export const GECKO_ID = 'glimpse@glimpse-extension.org';

/**
 * Code that can never run in an extension page, replaced at build time (it only costs bytes, and
 * web-ext lint rightly flags the eval-like parts):
 * - engine.io-client finds the global object with a `Function("return this")` fallback for hosts
 *   without `self`; every extension context has `self`.
 * - tfjs-backend-wasm ships a threaded build (its Emscripten glue, a pthread worker script run
 *   from a `blob:` URL with importScripts, Node `(0,eval)` paths, and a 436 KB .wasm). The trainer
 *   turns multithreading off (tfjs' helper worker cannot load from an extension page), so that
 *   build is stubbed out; the single-threaded glue and .wasm stay.
 * - zod re-exports every locale (`z.locales`, ~260 KB minified) though English, loaded apart, is
 *   the only one it uses; nothing here calls `z.locales`.
 */
export const trimPlugin: esbuild.Plugin = {
  name: 'glimpse-dead-code',
  setup(b) {
    b.onLoad({ filter: /engine\.io-client[\\/]build[\\/]esm[\\/]globals\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const out = src.replace('Function("return this")()', 'globalThis');
      if (out === src) throw new Error(`${args.path}: the global-object fallback was not found; update trimPlugin`);
      return { contents: out, loader: 'js' };
    });
    b.onResolve({ filter: /tfjs-backend-wasm-threaded-simd(\.worker)?\.js$/ }, (args) => ({ path: args.path, namespace: 'glimpse-stub' }));
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'glimpse-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'glimpse-stub' }, (args) => ({
      loader: 'js',
      contents: args.path === 'zod-locales'
        ? 'export {};'
        : args.path.endsWith('.worker.js')
          ? 'export const wasmWorkerContents = "";'
          : 'export default function threadedWasmNotBundled() { throw new Error("the threaded WebAssembly build is not bundled"); }',
    }));
  },
};

export function chromeManifest(extraHosts: string[] = []): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  if (extraHosts.length) m.host_permissions = extraHosts;
  return m;
}

/** The same manifest adjusted for Firefox: background page instead of service worker, no offscreen, a gecko id. */
export function firefoxManifest(extraHosts: string[] = []): Record<string, unknown> {
  const m = chromeManifest(extraHosts);
  m.background = { scripts: ['background-firefox.js'], type: 'module' };
  m.permissions = (m.permissions as string[]).filter((p) => p !== 'offscreen');
  delete m.minimum_chrome_version;
  // Chrome's keys for cross-origin isolation (threaded wasm); Firefox trains single-threaded.
  delete m.cross_origin_embedder_policy;
  delete m.cross_origin_opener_policy;
  m.browser_specific_settings = {
    gecko: {
      id: GECKO_ID,
      // data_collection_permissions needs Firefox 140 (142 on Android).
      strict_min_version: '142.0',
      // Weight updates computed from images on websites are sent to the configured server.
      data_collection_permissions: { required: ['websiteContent'] },
    },
  };
  return m;
}

export async function buildExtension(o: BuildOptions): Promise<string> {
  const out = resolve(o.outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'browser',
    target: o.target === 'chrome' ? 'chrome116' : 'firefox128',
    minify: o.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [trimPlugin],
    outdir: out,
  };
  const modules = {
    popup: join(EXT, 'popup/popup.ts'),
    options: join(EXT, 'options/options.ts'),
    welcome: join(EXT, 'welcome/welcome.ts'),
    worker: join(EXT, 'worker/train-worker.ts'),
    ...(o.target === 'chrome'
      ? {
          'service-worker': join(EXT, 'background/service-worker.ts'),
          offscreen: join(EXT, 'offscreen/offscreen.ts'),
          // The training worker's encoder shard workers (data-parallel steps; its pages are cross-origin isolated).
          [SHARD_WORKER_FILE.replace(/\.js$/, '')]: join(ROOT, 'shared/parallel/browser-shard-worker.ts'),
        }
      : { 'background-firefox': join(EXT, 'firefox/background.ts') }),
  };
  await Promise.all([
    esbuild.build({ ...common, entryPoints: modules, format: 'esm' }),
    // Registered content scripts are classic scripts.
    esbuild.build({ ...common, entryPoints: { content: join(EXT, 'content/content.ts') }, format: 'iife' }),
  ]);
  for (const f of ['popup/popup.html', 'options/options.html', 'welcome/welcome.html', 'popup/ui.css', ...(o.target === 'chrome' ? ['offscreen/offscreen.html'] : [])]) {
    cpSync(join(EXT, f), join(out, f.split('/').pop()!));
  }
  mkdirSync(join(out, 'wasm'));
  // The threaded build is not bundled (trimPlugin).
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
    cpSync(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f), join(out, 'wasm', f));
  }
  // Glimpse's own SIMD conv/LayerNorm kernels (scripts/build-wasm.ts); without them (no clang at
  // build time) the wasm backend keeps XNNPACK's kernels. Chrome also gets the threads variants
  // and the pool's worker script (pages are cross-origin isolated there, see manifest.json).
  const simd = join(ROOT, 'dist/wasm');
  const threaded = o.target === 'chrome' ? ['glimpse-simd-threads.wasm', 'glimpse-simd-threads-relaxed.wasm'] : [];
  for (const f of ['glimpse-simd.wasm', 'glimpse-simd-relaxed.wasm', ...threaded]) if (existsSync(join(simd, f))) cpSync(join(simd, f), join(out, 'wasm', f));
  if (o.target === 'chrome') cpSync(join(ROOT, 'shared/backends/wasm/simd/pool-worker.mjs'), join(out, 'wasm', POOL_WORKER_FILE));
  mkdirSync(join(out, 'icons'));
  for (const s of [16, 32, 48, 128]) writeFileSync(join(out, 'icons', `${s}.png`), iconPng(s));
  const manifest = o.target === 'chrome' ? chromeManifest(o.extraHosts) : firefoxManifest(o.extraHosts);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'all' },
      out: { type: 'string' },
      'extra-host': { type: 'string', multiple: true },
      'no-minify': { type: 'boolean', default: false },
    },
  });
  const targets: Target[] = values.target === 'all' ? ['chrome', 'firefox'] : [values.target as Target];
  for (const target of targets) {
    const t0 = performance.now();
    const outDir = values.out && targets.length === 1 ? values.out : join(ROOT, 'dist', target === 'chrome' ? 'extension' : 'extension-firefox');
    await buildExtension({ target, outDir, extraHosts: values['extra-host'], minify: !values['no-minify'] });
    console.log(`built ${target} extension → ${outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
