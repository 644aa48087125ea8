/**
 * The admin dashboard, server side: `/admin` (page, bundled app, styles), the Socket.IO `/admin`
 * namespace (admin token checked in its middleware; one snapshot from SQLite on connect, then a
 * tick per second with what changed), periodic resource samples stored in SQLite, and the admin
 * action routes POST /api/admin/{pause,resume,checkpoint,flush,revoke} + GET /api/admin/dashboard (a snapshot).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Namespace } from 'socket.io';
import type { StepSummary } from '../aggregation/fedbuff';
import type { ServerContext } from '../plugins';
import { readBody, sendJson } from '../http/router';
import type { TrafficCounter } from '../metrics/traffic';
import { createResourceSampler } from '../metrics/resources';
import type { FederationControl, FederationServer } from '../socket/federation';
import { evalHistory, rejectionCounts, recentRejections, totals, versionHistory } from '../store/history';
import { createActions, shortFingerprint } from './actions';
import { serveDashboardAssets } from './assets';
import type { AdminAction, AdminClientEvents, AdminServerEvents, ContributorNow, DashState, Rejection, Sample, Snapshot, Tick, VersionPoint } from './protocol';
import { normBucket } from './protocol';
import { stalenessHistogram } from '../store/update-queries';
import { accountability } from '../store/accountability';
import { initDashboardTables, normHistogram, pruneSamples, recentAdminActions, recordSample, sampleHistory } from './store';

export interface DashboardOptions {
  /** Resource/traffic sample period (stored in SQLite). Default 5000 ms. */
  sampleMs?: number;
  /** Live push period to open dashboards. Default 1000 ms. */
  tickMs?: number;
}

export interface DashboardDeps {
  ctx: ServerContext;
  io: FederationServer;
  federation: FederationControl;
  traffic: TrafficCounter;
  adminToken: string;
  tokensRequired: boolean;
  startedAt: number;
  /** Fingerprints of revoked tokens (shared with the federation's handshake check). */
  revoked: Set<string>;
}

export interface Dashboard {
  close(): void;
}

type AdminNamespace = Namespace<AdminClientEvents, AdminServerEvents>;

function sameToken(given: unknown, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function attachDashboard(d: DashboardDeps, o: DashboardOptions = {}): Dashboard {
  const { ctx, io } = d;
  const { db, coordinator: coord, events, router } = ctx;
  const sampleMs = o.sampleMs ?? 5000;
  const tickMs = o.tickMs ?? 1000;
  const abort = new AbortController();
  const signal = abort.signal;
  initDashboardTables(db);

  // ---- live state -------------------------------------------------------------------------
  const base = totals(db);
  const counts = { ...base };
  const perContributor = new Map<string, { accepted: number; rejected: number; lastSubmitAt: number | null }>();
  const trainingOn = new Map<string, number>();
  let pending: Omit<Tick, 'state' | 'contributors'> = emptyTick();
  let contributorsChanged = false;
  const stat = (id: string) => perContributor.get(id) ?? perContributor.set(id, { accepted: 0, rejected: 0, lastSubmitAt: null }).get(id)!;

  const contributorsNow = (): ContributorNow[] => {
    const out: ContributorNow[] = [];
    const flags = new Map(accountability(db).filter((r) => r.flag !== null).map((r) => [r.contributorId, r.flag]));
    for (const s of io.of('/').sockets.values()) {
      const id = s.data.contributorId;
      if (!id || !s.rooms.has('contributors')) continue;
      const st = perContributor.get(id);
      const token = (s.handshake.auth as { token?: unknown } | undefined)?.token;
      out.push({
        socketId: s.id, contributorId: id, clientKind: s.data.clientKind ?? 'other', backend: s.data.backend ?? '?',
        connectedAt: s.data.helloAt ?? s.handshake.issued, trainingOn: trainingOn.get(s.id) ?? null,
        accepted: st?.accepted ?? 0, rejected: st?.rejected ?? 0, lastSubmitAt: st?.lastSubmitAt ?? null,
        token: d.tokensRequired && typeof token === 'string' ? shortFingerprint(token) : null,
        flag: flags.get(id) ?? null, quarantined: coord.guard.isQuarantined(id),
      });
    }
    return out.sort((a, b) => a.connectedAt - b.connectedAt);
  };

  const state = (): DashState => ({
    version: coord.version, bufferFill: coord.bufferFill, bufferSize: coord.config.aggregation.bufferSize, pausedAt: coord.pausedAt,
    aggregating: coord.aggregating, totals: { ...counts, pending: coord.bufferFill }, tokensRequired: d.tokensRequired,
    revokedTokens: d.revoked.size, startedAt: d.startedAt, now: Date.now(),
  });

  // The version a contributor trains on is the one it pulled: watch the pull acks (read-only).
  io.of('/').on('connection', (socket) => {
    socket.use((packet, next) => {
      const ack = packet[packet.length - 1];
      if (packet[0] === 'weights:pull' && typeof ack === 'function') {
        packet[packet.length - 1] = (a: { ok?: boolean; version?: number }) => {
          if (a?.ok && typeof a.version === 'number') {
            trainingOn.set(socket.id, a.version);
            contributorsChanged = true;
          }
          return ack(a);
        };
      }
      next();
    });
    socket.on('disconnect', () => trainingOn.delete(socket.id));
  });

  events.on('client:connected', () => (contributorsChanged = true), signal);
  events.on('client:disconnected', () => (contributorsChanged = true), signal);
  events.on('update:accepted', (e) => {
    counts.accepted++;
    const s = stat(e.contributorId);
    s.accepted++;
    s.lastSubmitAt = Date.now();
    addCount(pending.norms, normBucket(e.norm));
    contributorsChanged = true;
  }, signal);
  events.on('update:rejected', (e) => {
    counts.rejected++;
    if (e.contributorId) {
      const s = stat(e.contributorId);
      s.rejected++;
      s.lastSubmitAt = Date.now();
      contributorsChanged = true;
    }
    pending.rejections.push({ at: Date.now(), contributorId: e.contributorId, code: e.code, reason: e.reason });
  }, signal);
  events.on('version:created', (s) => {
    counts.versions++;
    counts.applied += s.updates.length;
    pending.versions.push(toPoint(s));
    for (const u of s.updates) addCount(pending.staleness, u.staleness);
    // Flags change with each robust step's scores.
    if (s.scores?.length) contributorsChanged = true;
  }, signal);
  events.on('eval:recorded', (e) => {
    const at = Date.now();
    for (const [metric, value] of Object.entries(e.metrics)) if (Number.isFinite(value)) pending.evals.push({ version: e.version, metric, value, at });
  }, signal);

  const actions = createActions({
    db, coordinator: coord, io, federation: d.federation, tokensRequired: d.tokensRequired, log: ctx.log,
    onAction: (a: AdminAction) => pending.actions.push(a),
  });

  // ---- samples ----------------------------------------------------------------------------
  const sampler = createResourceSampler();
  let samplesTaken = 0;
  const takeSample = () => {
    const r = sampler.sample();
    const t = d.traffic.totals();
    const s: Sample = {
      at: r.at, cpu: r.cpu, rssBytes: r.rssBytes, heapBytes: r.heapUsedBytes, lagMeanMs: r.lagMeanMs, lagP99Ms: r.lagP99Ms, lagMaxMs: r.lagMaxMs,
      bytesIn: t.bytesIn, bytesOut: t.bytesOut, contributors: io.of('/').adapter.rooms.get('contributors')?.size ?? 0,
    };
    try {
      if (db.open) {
        recordSample(db, s);
        // Hourly: thin samples older than a day to one a minute (bounded table, bounded snapshot cost).
        if (++samplesTaken % Math.max(1, Math.round(3600_000 / sampleMs)) === 0) pruneSamples(db, s.at);
      }
    } catch (e) {
      ctx.log(`dashboard sample not stored: ${(e as Error).message}`);
    }
    pending.samples.push(s);
  };
  const sampleTimer = setInterval(takeSample, sampleMs);
  sampleTimer.unref();

  // ---- the /admin namespace -----------------------------------------------------------------
  const nsp = io.of('/admin') as unknown as AdminNamespace;
  nsp.use((socket, next) => {
    if (sameToken((socket.handshake.auth as { token?: unknown } | undefined)?.token, d.adminToken)) return next();
    const err = new Error('unauthorized: wrong admin token') as Error & { data?: unknown };
    err.data = { code: 'unauthorized' };
    next(err);
  });

  const snapshot = (): Snapshot => ({
    run: { runId: coord.run.runId, method: coord.run.method, methodConfig: coord.run.methodConfig },
    plan: coord.plan(),
    state: state(),
    versions: versionHistory(db, { limit: 5000 }),
    evals: evalHistory(db),
    rejectionCounts: rejectionCounts(db),
    rejections: recentRejections(db, 50).map((r): Rejection => ({ at: r.at, contributorId: r.contributorId, code: r.code, reason: r.reason })),
    staleness: stalenessHistogram(db),
    norms: normHistogram(db),
    samples: sampleHistory(db, 2000),
    actions: recentAdminActions(db, 100),
    contributors: contributorsNow(),
    sampleMs,
  });

  const flushTick = () => {
    const t = pending;
    pending = emptyTick();
    const changed = contributorsChanged;
    contributorsChanged = false;
    if (nsp.sockets.size === 0) return;
    nsp.emit('dash:tick', { ...t, state: state(), ...(changed ? { contributors: contributorsNow() } : {}) });
  };
  const tickTimer = setInterval(flushTick, tickMs);
  tickTimer.unref();

  nsp.on('connection', (socket) => {
    // Earlier changes go to the dashboards already open; this one starts from the snapshot.
    flushTick();
    socket.emit('dash:snapshot', snapshot());
    const actor = `dashboard ${socket.handshake.address}`;
    socket.on('admin:action', async (req, ack) => {
      const r = await actions.perform(req, actor);
      if (typeof ack === 'function') ack(r);
      flushTick();
    });
  });

  // ---- HTTP ---------------------------------------------------------------------------------
  serveDashboardAssets(router);
  router.get('/api/admin/dashboard', (_q, res) => sendJson(res, 200, snapshot()), { admin: true });
  for (const action of ['pause', 'resume', 'checkpoint', 'flush', 'revoke'] as const) {
    router.post(`/api/admin/${action}`, async (req, res) => {
      let body: Record<string, unknown> = {};
      if (action === 'revoke') {
        try {
          body = JSON.parse((await readBody(req)) || '{}');
        } catch {
          return sendJson(res, 400, { error: 'body must be JSON: {"token": "…"}' });
        }
      }
      const r = await actions.perform({ ...body, action }, `api ${req.socket.remoteAddress ?? '?'}`);
      flushTick();
      sendJson(res, r.ok ? 200 : 409, r);
    }, { admin: true });
  }
  ctx.statusFields.set('aggregationPaused', () => coord.pausedAt !== null);

  return {
    close() {
      abort.abort();
      clearInterval(sampleTimer);
      clearInterval(tickTimer);
      sampler.stop();
    },
  };
}

function emptyTick(): Omit<Tick, 'state' | 'contributors'> {
  return { versions: [], evals: [], rejections: [], staleness: [], norms: [], samples: [], actions: [] };
}

function addCount(h: Array<[number, number]>, key: number): void {
  if (!Number.isFinite(key)) return;
  const e = h.find((x) => x[0] === key);
  if (e) e[1]++;
  else h.push([key, 1]);
}

function toPoint(s: StepSummary): VersionPoint {
  return {
    version: s.version, createdAt: s.at, numUpdates: s.updates.length, contributors: s.contributors, examples: s.examples,
    meanLoss: s.meanLoss, meanNorm: s.meanNorm, aggregateNorm: s.aggregateNorm, meanStaleness: s.meanStaleness,
    maxStaleness: s.maxStaleness, emaMomentum: s.emaMomentum, durationMs: s.durationMs,
  };
}
