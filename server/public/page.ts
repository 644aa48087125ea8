/**
 * GET / — the public encoder page: which encoder this server offers (version, method, when it
 * last changed), its evaluation beside the raw-pixel and random-init baselines with the learning
 * curve so far, where to download it (version-pinned tfjs model.json + weights, safetensors, ONNX
 * where the server has Python with torch, the model card) with SHA-256 of each file, snippets for
 * TensorFlow.js, PyTorch and ONNX Runtime, and the model card itself. Server-rendered HTML, no
 * script, nothing from the admin side (no contributor ids, rejections or tokens).
 */
import type { IncomingMessage } from 'node:http';
import type { Coordinator } from '../core/coordinator';
import type { Router } from '../http/router';
import { sendJson } from '../http/router';
import { representationDim, type EncoderConfig } from '../../shared/models/encoder';
import type { Db } from '../store/db';
import { lastVersionRow } from '../store/history';
import { knnTop1, percent, probeRows, describeSplit, type Evaluation } from '../model/eval-summary';
import type { ExportFile } from '../model/export-bundle';
import { readDp, type DpStatus } from '../model/model-card';
import { evalSplitOf, evaluationsUpTo } from '../model/run-facts';
import { esc } from './escape';
import { curveSeries, learningCurveLegend, learningCurveSvg } from './learning-curve';
import { markdownToHtml } from './markdown';
import { onnxSnippet, pytorchSnippet, tfjsSnippet, type SnippetInput } from './snippets';
import { PAGE_STYLE } from './style';

export { esc };

/** What the page shows of one encoder version (assembled by the routes: server/http/routes.ts). */
export interface PageBundle {
  source: string;
  encoderConfig: EncoderConfig;
  files: ExportFile[];
  /** Why encoder.onnx is not listed (no Python with torch, being generated, failed), or null. */
  onnxNote: string | null;
  /** MODEL_CARD.md. */
  card: string;
}

export interface PublicPageDeps {
  coordinator: Coordinator;
  db: Db;
  connectedContributors: () => number;
  /** What the evaluations were measured on (the evaluator's split), when it says. */
  evalSplit?: () => unknown;
  /** The version's files and model card, or null when the version is not kept. */
  bundle(version: number): Promise<PageBundle | null>;
}

export function servePublicPage(router: Router, d: PublicPageDeps): void {
  router.get('/', async (req, res) => {
    const c = d.coordinator;
    const version = c.version;
    let bundle: PageBundle | null = null;
    let error: string | null = null;
    try {
      bundle = await d.bundle(version);
    } catch (e) {
      error = (e as Error).message;
    }
    if (!bundle && !error) error = `version ${version} is not available`;
    const evaluations = evaluationsUpTo(d.db, version, evalSplitOf(d.evalSplit?.()));
    const html = renderPublicPage({
      origin: originOf(req),
      version, method: c.run.method, runId: c.run.runId,
      updatedAt: lastVersionRow(d.db)?.createdAt ?? null,
      evaluations,
      contributors: d.connectedContributors(),
      privacy: privacyLine(readDp(c.guard.dpStatus())),
      bundle, error,
    });
    res.writeHead(bundle ? 200 : 503, {
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
  /** Evaluations of versions ≤ version, oldest first. */
  evaluations: Evaluation[];
  contributors: number;
  /** What the run's differential privacy guarantees, in words ("no DP" when off). */
  privacy?: string;
  bundle: PageBundle | null;
  error: string | null;
}

const METHOD_NAMES: Record<string, string> = { byol: 'BYOL', simclr: 'SimCLR', moco: 'MoCo v1', mocov2: 'MoCo v2', rotation: 'RotNet', jigsaw: 'Jigsaw', inpainting: 'Context encoder', colorization: 'Colorization' };

function kib(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** The latest evaluation: the encoder's kNN in bold, then every probe beside its baselines. */
function evaluationHtml(ev: Evaluation | undefined): string {
  if (!ev) return '<p id="evaluation" class="muted">Evaluation: not evaluated yet</p>';
  const knn = knnTop1(ev.metrics);
  const split = describeSplit(ev.split);
  const rows = probeRows(ev.metrics).map((r) =>
    `<tr><td>${esc(r.label)}</td><td class="num"><strong>${percent(r.encoder)}</strong></td><td class="num">${percent(r.randomInit)}</td><td class="num">${percent(r.rawPixels)}</td></tr>`);
  return `<p id="evaluation" style="margin:16px 0 8px">Evaluation: ${knn !== null ? `<strong>${(knn * 100).toFixed(1)}%</strong> kNN top-1 accuracy` : 'no kNN score'}
    <span class="muted">(measured on version ${ev.version}: k-nearest-neighbour classification of held-out Fashion-MNIST images by their embeddings${split ? `; ${esc(split)}` : ''})</span></p>
    <table id="baselines"><thead><tr><th>Probe</th><th class="num">This encoder</th><th class="num">Random init</th><th class="num">Raw pixels</th></tr></thead><tbody>${rows.join('')}</tbody></table>
    <p class="small muted" style="margin:6px 0 0">Baselines on the same split: the encoder is worth using where it beats raw pixels and its own random initialisation.</p>`;
}

function downloadsHtml(p: PublicPageInput, g: PageBundle | null): string {
  if (!g) return `<tr><td colspan="3" class="muted">Downloads are unavailable right now: ${esc(p.error ?? 'unknown error')}</td></tr>`;
  const base = `/api/encoder/${p.version}`;
  const rows = g.files.map((f) => `<tr><td><a href="${esc(`${base}/${f.name}`)}" download>${esc(f.name)}</a><div class="muted small">${esc(f.note)}</div></td><td class="num">${kib(f.bytes)}</td><td><code class="hash">${f.sha256}</code></td></tr>`);
  if (g.onnxNote) rows.push(`<tr><td>encoder.onnx<div class="muted small">${esc(g.onnxNote)}</div></td><td class="num">–</td><td class="muted small">–</td></tr>`);
  rows.push(`<tr><td><a href="${base}/MODEL_CARD.md" download>MODEL_CARD.md</a><div class="muted small">the model card below, with these hashes</div></td><td class="num">${kib(Buffer.byteLength(g.card))}</td><td class="muted small">changes as the run goes on</td></tr>`);
  return rows.join('');
}

export function renderPublicPage(p: PublicPageInput): string {
  const method = METHOD_NAMES[p.method] ?? p.method;
  const updated = p.updatedAt === null ? 'not yet trained (initial weights)' : `<time datetime="${new Date(p.updatedAt).toISOString()}">${new Date(p.updatedAt).toUTCString()}</time>`;
  const g = p.bundle;
  const e = g?.encoderConfig;
  const snippet: SnippetInput = {
    base: `${p.origin}/api/encoder/${g ? p.version : 'latest'}`, version: p.version,
    inputSize: e?.inputSize ?? 32, channels: e?.channels ?? 3, embeddingDim: e ? representationDim(e) : 'D',
  };
  const series = curveSeries(p.evaluations);
  const chart = series.length
    ? `${learningCurveSvg(series)}${learningCurveLegend(series)}`
    : '<p class="muted">No evaluations yet: the curve appears once the server has evaluated a version.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Glimpse encoder v${p.version}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
  <h1>Glimpse image encoder</h1>
  <p class="lead">A self-supervised image encoder pretrained by volunteers' browsers and machines: federated ${esc(method)}, weights averaged on this server. Free to download and use.</p>

  <section class="card" aria-labelledby="current">
    <h2 id="current">Current encoder</h2>
    <div class="facts">
      <div class="fact"><div class="k">Version</div><div class="v" id="version">v${p.version}</div></div>
      <div class="fact"><div class="k">Method</div><div class="v">${esc(method)}${g?.source ? ` <span class="muted small">(${g.source === 'target' ? 'EMA target' : 'online'} encoder)</span>` : ''}</div></div>
      <div class="fact"><div class="k">Last updated</div><div class="v small">${updated}</div></div>
      <div class="fact"><div class="k">Privacy</div><div class="v small" id="privacy">${esc(p.privacy ?? 'no DP')}</div></div>
      <div class="fact"><div class="k">Input → output</div><div class="v">${e ? `${e.inputSize}×${e.inputSize}×${e.channels} → ${representationDim(e)}` : '–'}</div></div>
    </div>
    ${evaluationHtml(p.evaluations.at(-1))}
  </section>

  <section class="card" aria-labelledby="curve">
    <h2 id="curve">Learning curve</h2>
    ${chart}
  </section>

  <section class="card" aria-labelledby="downloads">
    <h2 id="downloads">Downloads <span class="muted small">version ${p.version}; these URLs never change</span></h2>
    <table>
      <thead><tr><th>File</th><th class="num">Size</th><th>SHA-256</th></tr></thead>
      <tbody>${downloadsHtml(p, g)}</tbody>
    </table>
    <p class="small muted" style="margin:12px 0 0">Always the newest: <a href="/api/encoder/latest/model.json">/api/encoder/latest/model.json</a> · <a href="/api/encoder/latest/encoder.safetensors">/api/encoder/latest/encoder.safetensors</a> · <a href="/api/encoder/latest/encoder.onnx">/api/encoder/latest/encoder.onnx</a></p>
  </section>

  <section class="card" aria-labelledby="use">
    <h2 id="use">Use it</h2>
    <h3>TensorFlow.js</h3>
    <pre id="snippet-tfjs"><code>${esc(tfjsSnippet(snippet))}</code></pre>
    <h3>PyTorch</h3>
    <pre id="snippet-pytorch"><code>${esc(pytorchSnippet(snippet))}</code></pre>
    <h3>ONNX Runtime</h3>
    <pre id="snippet-onnx"><code>${esc(onnxSnippet(snippet))}</code></pre>
    <p class="small muted" style="margin:12px 0 0">Input: ${snippet.channels === 1 ? 'grayscale' : 'RGB'} in [0, 1] (the model centres it itself); TensorFlow.js takes NHWC, PyTorch and ONNX take NCHW. The embedding is the encoder's pooled feature vector: compare images with cosine similarity, cluster them, or train a small classifier on top.</p>
  </section>

  <section class="card model-card" aria-labelledby="model-card">
    <h2 id="model-card">Model card</h2>
    ${g ? markdownToHtml(g.card, 2) : '<p class="muted">unavailable</p>'}
  </section>

  <footer>${p.contributors} contributor${p.contributors === 1 ? '' : 's'} training now · run <code>${esc(p.runId.slice(0, 8))}</code> · <a href="/api/status">status (JSON)</a></footer>
</main>
</body>
</html>
`;
}

/** The privacy fact: ε at δ of client-level DP so far, or "no DP" said plainly. */
export function privacyLine(dp: DpStatus | null): string {
  if (!dp) return 'no DP: no differential-privacy guarantee';
  return dp.epsilon === null ? 'client-level DP, ε not reported' : `client-level DP: ε = ${dp.epsilon}${dp.delta === null ? '' : ` at δ = ${dp.delta}`}`;
}
