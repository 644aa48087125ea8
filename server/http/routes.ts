/**
 * The server's own HTTP routes:
 *   GET  /                                          the public encoder page (server/public/page.ts)
 *   GET  /healthz                                   liveness
 *   GET  /api/status                                version, method, contributors, buffer, last aggregation, eval
 *   GET  /api/encoder/{version|latest}/model.json   TensorFlow.js LayersModel of the product encoder
 *   GET  /api/encoder/{any}/weights.v{N}.bin        its weights (versioned name: a cached model.json never mixes versions)
 *   GET  /api/encoder/{version|latest}/encoder.safetensors
 *   GET  /api/encoder/{version|latest}/encoder.onnx     ONNX, made on first request by Python + torch (404 with the reason without them)
 *   GET  /api/encoder/{version|latest}/MODEL_CARD.md    the model card (server/model/model-card.ts)
 *   GET  /api/admin/history | /api/admin/rejections | /api/admin/buffer | /api/admin/contributors   (admin)
 *   POST /api/admin/plan                                                                             (admin)
 *   POST /api/admin/checkpoint | /api/admin/flush: the dashboard's action routes, else registerBareAdminActions
 */
import type { Coordinator } from '../core/coordinator';
import { buildEncoderFiles, type EncoderFiles } from '../model/encoder-files';
import { exportFiles, modelCardOf, sha256 } from '../model/export-bundle';
import { exportOnnx, findTorchPython, NO_TORCH, torchPythonIfKnown } from '../model/python';
import { evalSplitOf } from '../model/run-facts';
import { servePublicPage } from '../public/page';
import type { Db } from '../store/db';
import { evalHistory, latestEval, recentRejections, rejectionCounts, totals, versionHistory } from '../store/history';
import { contributorStats } from '../store/update-queries';
import { describeZodError } from '../../shared/protocol/messages';
import { PlanChangeRequest, planChangeOfRequest } from '../core/plan-store';
import type { WeightMap } from '../../shared/weights/weight-map';
import { readBody, sendCached, sendJson, type Router } from './router';

export interface RouteDeps {
  router: Router;
  coordinator: Coordinator;
  db: Db;
  connectedContributors: () => number;
  statusFields: Map<string, () => unknown>;
  startedAt: number;
  /** Which images the evaluator scores on (/api/status `eval.split`), when it says. */
  evalSplit?: () => unknown;
  /** Aborted when the server closes: stops ONNX exports in flight (Python children). */
  signal?: AbortSignal;
}

const EXPORT_CACHE = 4;

/** A bounded per-version promise cache (newest versions kept); failed entries are forgotten. */
function versionCache<T>(make: (version: number) => Promise<T>): (version: number) => Promise<T> {
  const cache = new Map<number, Promise<T>>();
  return (version) => {
    let p = cache.get(version);
    if (!p) {
      p = make(version);
      p.catch(() => cache.delete(version));
      cache.set(version, p);
      while (cache.size > EXPORT_CACHE) cache.delete(Math.min(...cache.keys()));
    }
    return p;
  };
}

/** The latest evaluation with the split it was measured on, when the evaluator says. */
function withSplit<T extends object>(e: T | null, split: Record<string, unknown> | undefined): (T & { split?: Record<string, unknown> }) | null {
  return e && split ? { ...e, split } : e;
}

export function registerRoutes(d: RouteDeps): void {
  const { router, coordinator: coord, db } = d;

  const exportOf = versionCache(async (version): Promise<EncoderFiles | null> => {
    const enc = await coord.encoderWeights(version);
    return enc && buildEncoderFiles(coord.run, enc);
  });
  // ONNX comes from a Python child (python/glimpse_encoder), generated on first request per
  // version; `onnxDone` lets the public page show it without waiting for Python.
  const onnxDone = new Map<number, Uint8Array | Error>();
  const onnxOf = versionCache(async (version): Promise<Uint8Array | null> => {
    const f = await exportOf(version);
    if (!f || !(await findTorchPython())) return null;
    try {
      const bytes = await exportOnnx(f.safetensors, { signal: d.signal });
      onnxDone.set(version, bytes);
      return bytes;
    } catch (e) {
      onnxDone.set(version, e as Error);
      throw e;
    } finally {
      while (onnxDone.size > EXPORT_CACHE) onnxDone.delete(Math.min(...onnxDone.keys()));
    }
  });
  const dpStatus = () => {
    try {
      return d.statusFields.get('dp')?.() ?? null;
    } catch {
      return null;
    }
  };
  // Not cached: its counts and evaluations grow after the version is made (cheap SQL).
  const cardOf = (f: EncoderFiles, onnx: Uint8Array | null) =>
    modelCardOf({ db, run: coord.run, files: f, onnx, parameters: f.weights.byteLength / 4, dp: dpStatus(), split: evalSplitOf(d.evalSplit?.()) });

  /** 'latest' or a non-negative integer; null when the segment is neither or the version is not kept. */
  const resolveVersion = (s: string): number | null => {
    if (s === 'latest') return coord.version;
    if (!/^\d{1,10}$/.test(s)) return null;
    const v = Number(s);
    return v <= coord.version ? v : null;
  };
  const notAvailable = (res: Parameters<Parameters<Router['get']>[1]>[1], version: string) =>
    sendJson(res, 404, { error: `encoder version '${version}' is not available (current ${coord.version})` });
  const cacheControl = (segment: string) => (segment === 'latest' ? 'no-cache' : 'public, max-age=31536000, immutable');
  const etag = (version: number, kind: string) => `"encoder-${coord.run.runId.slice(0, 8)}-v${version}-${kind}"`;
  const glimpseHeaders = (f: EncoderFiles) => ({ 'X-Glimpse-Version': String(f.version), 'X-Glimpse-Encoder-Source': f.source });

  servePublicPage(router, {
    coordinator: coord, db, connectedContributors: d.connectedContributors, evalSplit: d.evalSplit,
    // Never waits for Python: ONNX is listed once made (started here), else the row says why not.
    bundle: async (version) => {
      const f = await exportOf(version);
      if (!f) return null;
      const torch = torchPythonIfKnown();
      if (torch !== null) onnxOf(version).catch(() => {});
      const done = onnxDone.get(version);
      const onnx = done instanceof Uint8Array ? done : null;
      const onnxNote = torch === null ? NO_TORCH : done instanceof Error ? `ONNX export failed: ${done.message}` : onnx ? null : 'being made from the PyTorch module; reload in a few seconds';
      return { source: f.source, encoderConfig: f.encoderConfig, files: exportFiles(f, onnx), onnxNote, card: await cardOf(f, onnx) };
    },
  });

  router.get('/healthz', (_req, res) => sendJson(res, 200, { ok: true }), { cors: true });

  router.get('/api/status', (_req, res) => {
    const last = coord.lastAggregation;
    const body: Record<string, unknown> = {
      runId: coord.run.runId,
      version: coord.version,
      method: coord.run.method,
      methodConfig: coord.run.methodConfig,
      contributorsConnected: d.connectedContributors(),
      buffer: { fill: coord.bufferFill, size: coord.config.aggregation.bufferSize },
      aggregating: coord.aggregating,
      lastAggregation: last && {
        version: last.version, at: last.at, updates: last.updates.length, contributors: last.contributors,
        meanLoss: last.meanLoss, meanStaleness: last.meanStaleness, aggregateNorm: last.aggregateNorm,
      },
      totals: totals(db),
      encoder: { source: 'online', latest: '/api/encoder/latest/model.json' },
      eval: withSplit(latestEval(db), evalSplitOf(d.evalSplit?.())),
      transfer: transferOf(coord),
      uptimeMs: Date.now() - d.startedAt,
    };
    for (const [k, f] of d.statusFields) {
      try {
        body[k] = f();
      } catch (e) {
        body[k] = { error: (e as Error).message };
      }
    }
    sendJson(res, 200, body);
  }, { cors: true });

  router.get('/api/encoder/:version/model.json', async (req, res, p) => {
    const v = resolveVersion(p.version);
    const f = v === null ? null : await exportOf(v);
    if (!f) return notAvailable(res, p.version);
    sendCached(req, res, {
      etag: etag(f.version, 'json'), contentType: 'application/json; charset=utf-8', body: f.modelJson,
      // 'latest' must be revalidated; a numbered version never changes.
      cacheControl: cacheControl(p.version), headers: glimpseHeaders(f),
    });
  }, { cors: true });

  router.get('/api/encoder/:version/encoder.safetensors', async (req, res, p) => {
    const v = resolveVersion(p.version);
    const f = v === null ? null : await exportOf(v);
    if (!f) return notAvailable(res, p.version);
    sendCached(req, res, {
      etag: etag(f.version, 'st'), contentType: 'application/octet-stream', body: f.safetensors, cacheControl: cacheControl(p.version),
      headers: { ...glimpseHeaders(f), 'Content-Disposition': `attachment; filename="glimpse-encoder-v${f.version}.safetensors"` },
    });
  }, { cors: true });

  router.get('/api/encoder/:version/encoder.onnx', async (req, res, p) => {
    const v = resolveVersion(p.version);
    const f = v === null ? null : await exportOf(v);
    if (!f) return notAvailable(res, p.version);
    const onnx = await onnxOf(f.version);
    if (!onnx) return sendJson(res, 404, { error: `${NO_TORCH}; or export it offline: npx glimpse export --data-dir DIR --onnx --out DIR` });
    sendCached(req, res, {
      etag: etag(f.version, 'onnx'), contentType: 'application/octet-stream', body: onnx, cacheControl: cacheControl(p.version),
      headers: { ...glimpseHeaders(f), 'Content-Disposition': `attachment; filename="glimpse-encoder-v${f.version}.onnx"` },
    });
  }, { cors: true });

  router.get('/api/encoder/:version/MODEL_CARD.md', async (req, res, p) => {
    const v = resolveVersion(p.version);
    const f = v === null ? null : await exportOf(v);
    if (!f) return notAvailable(res, p.version);
    const card = await cardOf(f, await onnxOf(f.version).catch(() => null));
    // The card's counts and evaluations grow after the version is made: always revalidate.
    sendCached(req, res, { etag: `"card-${sha256(card).slice(0, 16)}"`, contentType: 'text/markdown; charset=utf-8', body: card, cacheControl: 'no-cache', headers: glimpseHeaders(f) });
  }, { cors: true });

  router.get('/api/encoder/:dir/:file', async (req, res, p) => {
    const m = /^weights\.v(\d{1,10})\.bin$/.exec(p.file);
    const v = m ? resolveVersion(m[1]) : null;
    const f = v === null ? null : await exportOf(v);
    if (!f) return sendJson(res, 404, { error: `no such encoder file '${p.file}'` });
    sendCached(req, res, {
      etag: etag(f.version, 'bin'), contentType: 'application/octet-stream', body: f.weights,
      cacheControl: 'public, max-age=31536000, immutable', headers: glimpseHeaders(f),
    });
  }, { cors: true });

  const num = (u: URL, k: string, dflt: number) => {
    const v = Number(u.searchParams.get(k) ?? dflt);
    return Number.isFinite(v) ? v : dflt;
  };
  router.get('/api/admin/history', (_q, res, _p, u) => sendJson(res, 200, { versions: versionHistory(db, { sinceVersion: num(u, 'since', -1), limit: num(u, 'limit', 1000) }), evals: evalHistory(db) }), { admin: true });
  router.get('/api/admin/rejections', (_q, res, _p, u) => sendJson(res, 200, { counts: rejectionCounts(db), recent: recentRejections(db, num(u, 'limit', 100)) }), { admin: true });
  router.get('/api/admin/buffer', (_q, res) => sendJson(res, 200, { version: coord.version, ids: coord.bufferedIds() }), { admin: true });
  router.get('/api/admin/contributors', (_q, res) => sendJson(res, 200, { contributors: contributorStats(db) }), { admin: true });
  router.post('/api/admin/plan', async (req, res) => {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)) || '{}');
    } catch {
      return sendJson(res, 400, { error: 'body must be JSON' });
    }
    const p = PlanChangeRequest.safeParse(body);
    if (!p.success) return sendJson(res, 400, { error: describeZodError(p.error) });
    sendJson(res, 200, { plan: coord.updatePlan(planChangeOfRequest(p.data)) });
  }, { admin: true });
}

/**
 * POST /api/admin/checkpoint and /api/admin/flush for a server without the dashboard. With it,
 * the dashboard's action routes serve these paths and record each call in `admin_actions`.
 */
export function registerBareAdminActions(router: Router, coord: Coordinator): void {
  router.post('/api/admin/checkpoint', async (_q, res) => {
    const v = await coord.checkpoint();
    sendJson(res, 200, { ok: true, message: `checkpoint of version ${v} written`, version: v });
  }, { admin: true });
  router.post('/api/admin/flush', async (_q, res) => {
    const v = await coord.flush();
    sendJson(res, 200, { ok: true, message: `flushed (version ${v})`, version: v });
  }, { admin: true });
}

/**
 * What one contribution moves over the network, for contributors deciding whether to join (the
 * extension's first-run page): the float32 values of one delta (the online weights) and of one
 * pull (online + target), without the GLWT header's few hundred bytes; the local steps of one
 * update; and the submission rate limit, which bounds how many updates a contributor can send.
 */
function transferOf(coord: Coordinator) {
  const values = (m: WeightMap) => [...m.values()].reduce((n, t) => n + t.data.length, 0);
  const online = values(coord.globalState.online);
  return {
    updateBytes: online * 4,
    downloadBytes: (online + values(coord.globalState.target)) * 4,
    localSteps: coord.plan().localSteps,
    maxUpdatesPerMinute: coord.config.rateLimit?.perMinute ?? null,
  };
}
