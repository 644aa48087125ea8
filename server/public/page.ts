/**
 * GET / — the public encoder page: which encoder this server offers (version, method, when it
 * last changed, its evaluation), where to download it (the version-pinned tfjs model.json and
 * weights, safetensors) with SHA-256 of each file, and a snippet that loads it with stock
 * TensorFlow.js. Server-rendered HTML, no script, nothing from the admin side (no contributor ids,
 * rejections or tokens): only what /api/status already tells anyone.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Coordinator } from '../core/coordinator';
import type { Router } from '../http/router';
import { sendJson } from '../http/router';
import type { Db } from '../store/db';
import { latestEval, lastVersionRow } from '../store/history';

/** The served bytes of one encoder version (what the download routes send). */
export interface EncoderFiles {
  source: string;
  modelJson: string;
  weightsFile: string;
  weights: Uint8Array;
  safetensors: Uint8Array;
}

export interface PublicPageDeps {
  coordinator: Coordinator;
  db: Db;
  connectedContributors: () => number;
  files(version: number): Promise<EncoderFiles | null>;
}

interface FileInfo {
  name: string;
  url: string;
  bytes: number;
  sha256: string;
  note: string;
}

interface Digest {
  version: number;
  source: string;
  files: FileInfo[];
  inputSize: number;
  channels: number;
  embeddingDim: number;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function servePublicPage(router: Router, d: PublicPageDeps): void {
  const digests = new Map<number, Promise<Digest | null>>();
  const digestOf = (version: number): Promise<Digest | null> => {
    let p = digests.get(version);
    if (!p) {
      p = (async () => {
        const f = await d.files(version);
        if (!f) return null;
        const { resolveMethodConfig } = await import('../../shared/ssl/registry');
        const enc = resolveMethodConfig(d.coordinator.run.method, d.coordinator.run.methodConfig).encoder;
        const base = `/api/encoder/${version}`;
        return {
          version, source: f.source, inputSize: enc.inputSize, channels: enc.channels, embeddingDim: enc.widths[enc.widths.length - 1],
          files: [
            { name: 'model.json', url: `${base}/model.json`, bytes: Buffer.byteLength(f.modelJson), sha256: sha256(f.modelJson), note: 'TensorFlow.js LayersModel (tf.loadLayersModel)' },
            { name: f.weightsFile, url: `${base}/${f.weightsFile}`, bytes: f.weights.byteLength, sha256: sha256(f.weights), note: 'its weights, fetched by model.json' },
            { name: 'encoder.safetensors', url: `${base}/encoder.safetensors`, bytes: f.safetensors.byteLength, sha256: sha256(f.safetensors), note: 'the same weights as safetensors (PyTorch, JAX, …)' },
          ],
        };
      })();
      p.catch(() => digests.delete(version));
      digests.set(version, p);
      while (digests.size > 2) digests.delete(Math.min(...digests.keys()));
    }
    return p;
  };

  router.get('/', async (req, res) => {
    const c = d.coordinator;
    const version = c.version;
    let digest: Digest | null = null;
    let error: string | null = null;
    try {
      digest = await digestOf(version);
    } catch (e) {
      error = (e as Error).message;
    }
    if (!digest && !error) error = `version ${version} is not available`;
    const html = renderPublicPage({
      origin: originOf(req),
      version, method: c.run.method, runId: c.run.runId,
      updatedAt: lastVersionRow(d.db)?.createdAt ?? null,
      evaluation: latestEval(d.db),
      contributors: d.connectedContributors(),
      digest, error,
    });
    res.writeHead(digest ? 200 : 503, {
      'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html), 'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'", 'X-Content-Type-Options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  });
  router.get('/index.html', (_q, res) => sendJson(res, 301, { location: '/' }, { Location: '/' }));
}

/** The origin the visitor used (Host header; escaped wherever it is printed). */
function originOf(req: IncomingMessage): string {
  const host = typeof req.headers.host === 'string' && /^[\w.\-:[\]]+$/.test(req.headers.host) ? req.headers.host : 'localhost';
  const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  return `${proto}://${host}`;
}

export interface PublicPageInput {
  origin: string;
  version: number;
  method: string;
  runId: string;
  updatedAt: number | null;
  evaluation: { version: number; at: number; metrics: Record<string, number> } | null;
  contributors: number;
  digest: Digest | null;
  error: string | null;
}

const METHOD_NAMES: Record<string, string> = { byol: 'BYOL', simclr: 'SimCLR', moco: 'MoCo v2', rotation: 'RotNet', jigsaw: 'Jigsaw', inpainting: 'Context encoder', colorization: 'Colorization' };

function kib(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function renderPublicPage(p: PublicPageInput): string {
  const method = METHOD_NAMES[p.method] ?? p.method;
  const updated = p.updatedAt === null ? 'not yet trained (initial weights)' : `<time datetime="${new Date(p.updatedAt).toISOString()}">${new Date(p.updatedAt).toUTCString()}</time>`;
  const ev = p.evaluation;
  const knn = ev && Number.isFinite(ev.metrics.knn) ? ev.metrics.knn : null;
  const evalHtml = ev
    ? `${knn !== null ? `<strong>${(knn * 100).toFixed(1)}%</strong> kNN top-1 accuracy` : Object.entries(ev.metrics).map(([k, v]) => `${esc(k)} ${v.toFixed(3)}`).join(', ')}
       <span class="muted">(measured on version ${ev.version}${knn !== null ? ', k-nearest-neighbour classification of held-out images by their embeddings' : ''})</span>`
    : '<span class="muted">not evaluated yet</span>';
  const g = p.digest;
  const modelUrl = g ? `${p.origin}/api/encoder/${g.version}/model.json` : `${p.origin}/api/encoder/latest/model.json`;
  const size = g?.inputSize ?? 32;
  const dim = g?.embeddingDim ?? 'D';
  const snippet = `import * as tf from '@tensorflow/tfjs';

// Version ${p.version}; use …/api/encoder/latest/model.json for whatever is newest.
const encoder = await tf.loadLayersModel('${modelUrl}');

const img = document.querySelector('img');  // or a <canvas>, ImageData, <video>…
const embedding = tf.tidy(() => {
  const x = tf.browser.fromPixels(img).toFloat().div(255);          // [h, w, 3] in [0, 1]
  const input = tf.image.resizeBilinear(x, [${size}, ${size}]).expandDims(0);  // [1, ${size}, ${size}, 3]
  return encoder.predict(input);                                    // [1, ${dim}]
});
console.log(await embedding.data());`;
  const rows = g
    ? g.files.map((f) => `<tr><td><a href="${esc(f.url)}" download>${esc(f.name)}</a><div class="muted small">${esc(f.note)}</div></td><td class="num">${kib(f.bytes)}</td><td><code class="hash">${f.sha256}</code></td></tr>`).join('')
    : `<tr><td colspan="3" class="muted">Downloads are unavailable right now: ${esc(p.error ?? 'unknown error')}</td></tr>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Glimpse encoder v${p.version}</title>
<style>
  :root { --bg: #f6f7f9; --panel: #fff; --border: #e2e5ea; --text: #1c2230; --muted: #667085; --accent: #3d71d9; --code: #f1f3f6; }
  @media (prefers-color-scheme: dark) { :root { --bg: #111217; --panel: #181b1f; --border: #2a2e35; --text: #d8dbe2; --muted: #8e95a3; --accent: #6e9fff; --code: #1e2126; } }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { max-width: 920px; margin: 0 auto; padding: 40px 22px 60px; }
  h1 { font-size: 28px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 12px; }
  .lead { color: var(--muted); margin: 0 0 26px; }
  .card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 20px 22px; margin-bottom: 18px; }
  .facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px 22px; }
  .fact .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
  .fact .v { font-size: 17px; font-weight: 600; }
  .muted { color: var(--muted); font-weight: 400; } .small { font-size: 12.5px; }
  a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 8px 6px; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  tr:last-child td { border-bottom: none; } .num { text-align: right; white-space: nowrap; }
  code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
  code.hash { word-break: break-all; }
  pre { background: var(--code); border: 1px solid var(--border); border-radius: 6px; padding: 14px 16px; overflow-x: auto; margin: 0; line-height: 1.5; }
  footer { color: var(--muted); font-size: 13px; margin-top: 26px; }
</style>
</head>
<body>
<main>
  <h1>Glimpse image encoder</h1>
  <p class="lead">A self-supervised image encoder pretrained by volunteers' browsers and machines: federated ${esc(method)}, weights averaged on this server. Free to download and use.</p>

  <section class="card" aria-labelledby="current">
    <h2 id="current">Current encoder</h2>
    <div class="facts">
      <div class="fact"><div class="k">Version</div><div class="v" id="version">v${p.version}</div></div>
      <div class="fact"><div class="k">Method</div><div class="v">${esc(method)}${g?.source === 'target' ? ' <span class="muted small">(EMA target encoder)</span>' : ''}</div></div>
      <div class="fact"><div class="k">Last updated</div><div class="v small">${updated}</div></div>
      <div class="fact"><div class="k">Input → output</div><div class="v">${g ? `${g.inputSize}×${g.inputSize}×${g.channels} → ${g.embeddingDim}` : '–'}</div></div>
    </div>
    <p id="evaluation" style="margin:16px 0 0">Evaluation: ${evalHtml}</p>
  </section>

  <section class="card" aria-labelledby="downloads">
    <h2 id="downloads">Downloads <span class="muted small">version ${p.version}; these URLs never change</span></h2>
    <table>
      <thead><tr><th>File</th><th class="num">Size</th><th>SHA-256</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>
    <p class="small muted" style="margin:12px 0 0">Always the newest: <a href="/api/encoder/latest/model.json">/api/encoder/latest/model.json</a> · <a href="/api/encoder/latest/encoder.safetensors">/api/encoder/latest/encoder.safetensors</a></p>
  </section>

  <section class="card" aria-labelledby="use">
    <h2 id="use">Use it with TensorFlow.js</h2>
    <pre><code>${esc(snippet)}</code></pre>
    <p class="small muted" style="margin:12px 0 0">Input: RGB in [0, 1] (the model centres it itself). The embedding is the encoder's pooled feature vector: compare images with cosine similarity, cluster them, or train a small classifier on top.</p>
  </section>

  <footer>${p.contributors} contributor${p.contributors === 1 ? '' : 's'} training now · run <code>${esc(p.runId.slice(0, 8))}</code> · <a href="/api/status">status (JSON)</a></footer>
</main>
</body>
</html>
`;
}
