/**
 * The server's own HTTP routes:
 *   GET  /                                          the public encoder page (server/public/page.ts)
 *   GET  /healthz                                   liveness
 *   GET  /api/status                                version, method, contributors, buffer, last aggregation, eval
 *   GET  /api/encoder/{version|latest}/model.json   TensorFlow.js LayersModel of the product encoder
 *   GET  /api/encoder/{any}/weights.v{N}.bin        its weights (versioned name: a cached model.json never mixes versions)
 *   GET  /api/encoder/{version|latest}/encoder.safetensors
 *   GET  /api/admin/history | /api/admin/rejections | /api/admin/buffer | /api/admin/contributors   (admin)
 *   POST /api/admin/plan                                                                             (admin)
 *   POST /api/admin/checkpoint | /api/admin/flush: the dashboard's action routes, else registerBareAdminActions
 */
import type { Coordinator } from '../core/coordinator';
import { exportLayersModel, type LayersArtifacts } from '../model/encoder-export';
import { encodeSafetensors } from '../model/safetensors';
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
}

interface EncoderExport {
  version: number;
  source: string;
  artifacts: LayersArtifacts;
}

const EXPORT_CACHE = 4;

export function registerRoutes(d: RouteDeps): void {
  const { router, coordinator: coord, db } = d;
  const exports = new Map<number, Promise<EncoderExport | null>>();

  const exportOf = (version: number): Promise<EncoderExport | null> => {
    let p = exports.get(version);
    if (!p) {
      p = (async () => {
        const enc = await coord.encoderWeights(version);
        if (!enc) return null;
        const artifacts = await exportLayersModel(coord.run.method, coord.run.methodConfig, enc.weights);
        return { version: enc.version, source: enc.source, artifacts };
      })();
      p.catch(() => exports.delete(version));
      exports.set(version, p);
      while (exports.size > EXPORT_CACHE) exports.delete(Math.min(...exports.keys()));
    }
    return p;
  };

  /** 'latest' or a non-negative integer; null when the segment is neither or the version is not kept. */
  const resolveVersion = (s: string): number | null => {
    if (s === 'latest') return coord.version;
    if (!/^\d{1,10}$/.test(s)) return null;
    const v = Number(s);
    return v <= coord.version ? v : null;
  };

  /** The bytes of model.json and encoder.safetensors as served (the public page hashes them). */
  const modelJsonText = (ex: EncoderExport): string => JSON.stringify({
    format: 'layers-model',
    generatedBy: 'glimpse-server',
    convertedBy: null,
    modelTopology: ex.artifacts.modelTopology,
    weightsManifest: [{ paths: [`weights.v${ex.version}.bin`], weights: ex.artifacts.weightSpecs }],
    userDefinedMetadata: { glimpseVersion: ex.version, encoderSource: ex.source, runId: coord.run.runId, method: coord.run.method },
  });
  const safetensorsOf = (enc: { version: number; source: string; weights: Parameters<typeof encodeSafetensors>[0] }): Uint8Array => encodeSafetensors(enc.weights, {
    format: 'glimpse-encoder', version: String(enc.version), source: enc.source, method: coord.run.method,
    runId: coord.run.runId, encoderConfig: JSON.stringify(coord.run.methodConfig.encoder ?? null),
  });

  servePublicPage(router, {
    coordinator: coord, db, connectedContributors: d.connectedContributors,
    files: async (version) => {
      const ex = await exportOf(version);
      const enc = await coord.encoderWeights(version);
      if (!ex || !enc) return null;
      return { source: ex.source, modelJson: modelJsonText(ex), weightsFile: `weights.v${ex.version}.bin`, weights: ex.artifacts.weightData, safetensors: safetensorsOf(enc) };
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
      encoder: { source: coord.hasTarget ? 'target' : 'online', latest: '/api/encoder/latest/model.json' },
      eval: latestEval(db),
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
    const ex = v === null ? null : await exportOf(v);
    if (!ex) return sendJson(res, 404, { error: `encoder version '${p.version}' is not available (current ${coord.version})` });
    sendCached(req, res, {
      etag: `"encoder-${coord.run.runId.slice(0, 8)}-v${ex.version}-json"`,
      contentType: 'application/json; charset=utf-8',
      body: modelJsonText(ex),
      // 'latest' must be revalidated; a numbered version never changes.
      cacheControl: p.version === 'latest' ? 'no-cache' : 'public, max-age=31536000, immutable',
      headers: { 'X-Glimpse-Version': String(ex.version), 'X-Glimpse-Encoder-Source': ex.source },
    });
  }, { cors: true });

  router.get('/api/encoder/:version/encoder.safetensors', async (req, res, p) => {
    const v = resolveVersion(p.version);
    const enc = v === null ? null : await coord.encoderWeights(v);
    if (!enc) return sendJson(res, 404, { error: `encoder version '${p.version}' is not available (current ${coord.version})` });
    const body = safetensorsOf(enc);
    sendCached(req, res, {
      etag: `"encoder-${coord.run.runId.slice(0, 8)}-v${enc.version}-st"`,
      contentType: 'application/octet-stream',
      body,
      cacheControl: p.version === 'latest' ? 'no-cache' : 'public, max-age=31536000, immutable',
      headers: {
        'X-Glimpse-Version': String(enc.version), 'X-Glimpse-Encoder-Source': enc.source,
        'Content-Disposition': `attachment; filename="glimpse-encoder-v${enc.version}.safetensors"`,
      },
    });
  }, { cors: true });

  router.get('/api/encoder/:dir/:file', async (req, res, p) => {
    const m = /^weights\.v(\d{1,10})\.bin$/.exec(p.file);
    const v = m ? resolveVersion(m[1]) : null;
    const ex = v === null ? null : await exportOf(v);
    if (!ex) return sendJson(res, 404, { error: `no such encoder file '${p.file}'` });
    sendCached(req, res, {
      etag: `"encoder-${coord.run.runId.slice(0, 8)}-v${ex.version}-bin"`,
      contentType: 'application/octet-stream',
      body: ex.artifacts.weightData,
      cacheControl: 'public, max-age=31536000, immutable',
      headers: { 'X-Glimpse-Version': String(ex.version), 'X-Glimpse-Encoder-Source': ex.source },
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
