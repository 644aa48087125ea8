/**
 * The dashboard's static side: GET /admin (the page; no data in it), /admin/app.js (client/app.ts
 * with socket.io-client and uPlot, bundled by esbuild in memory on the first request and cached
 * for the process) and /admin/app.css (uPlot's stylesheet + ours). esbuild is a dev dependency:
 * a deployment without it gets a clear 503 on /admin/app.js.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Router } from '../http/router';
import { sendCached, sendJson } from '../http/router';
import { dashboardHtml } from './page';

interface Asset {
  body: string;
  etag: string;
}

const asset = (body: string): Asset => ({ body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` });

let appJs: Promise<Asset> | null = null;
let appCss: Asset | null = null;

/** Bundles client/app.ts (once per process). */
export function dashboardBundle(): Promise<Asset> {
  appJs ??= (async () => {
    const esbuild = await import('esbuild');
    const r = await esbuild.build({
      entryPoints: [fileURLToPath(new URL('./client/app.ts', import.meta.url))],
      bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2020', minify: true, legalComments: 'none', logLevel: 'silent',
    });
    return asset(r.outputFiles[0].text);
  })();
  appJs.catch(() => (appJs = null));
  return appJs;
}

function dashboardCss(): Asset {
  if (!appCss) {
    const require = createRequire(import.meta.url);
    const uplot = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    const ours = readFileSync(fileURLToPath(new URL('./client/style.css', import.meta.url)), 'utf8');
    appCss = asset(`${uplot}\n${ours}`);
  }
  return appCss;
}

/** Headers of the dashboard page: no framing, no referrer, scripts and sockets from this origin only. */
export const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export function serveDashboardAssets(router: Router): void {
  const page = asset(dashboardHtml());
  router.get('/admin', (req, res) => sendCached(req, res, { ...page, contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache', headers: PAGE_HEADERS }));
  router.get('/admin/app.css', (req, res) => {
    const a = dashboardCss();
    sendCached(req, res, { ...a, contentType: 'text/css; charset=utf-8', cacheControl: 'no-cache' });
  });
  router.get('/admin/app.js', async (req, res) => {
    let a: Asset;
    try {
      a = await dashboardBundle();
    } catch (e) {
      return sendJson(res, 503, { error: `the dashboard app could not be bundled (is esbuild installed?): ${(e as Error).message.split('\n')[0]}` });
    }
    sendCached(req, res, { ...a, contentType: 'text/javascript; charset=utf-8', cacheControl: 'no-cache' });
  });
}
