/**
 * startClusterNode: one of several server nodes sharing a Redis (`glimpse-server --redis …`,
 * docs/deploy.md). Every node serves contributors — hello, pulls, submissions (ingest-node.ts)
 * — on a Socket.IO server whose broadcasts (`model:version`, `plan:update`, every namespace) go
 * through `@socket.io/redis-streams-adapter`, so a client hears them whichever node it is on.
 * Nodes whose role includes 'aggregator' compete for the lease (lease.ts); its holder folds and
 * publishes versions (aggregator.ts). The node's data dir keeps only its own history (sessions,
 * rejections) and the admin token: the run itself lives in Redis.
 *
 * HTTP: GET /api/health, GET /api/status (this node's view), admin POST /api/admin/plan and
 * POST /api/admin/revoke (shared by all nodes through Redis).
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { z } from 'zod';
import { bearerMatches, resolveAdminToken } from '../admin-token';
import { resolveConfig, type ServerConfig } from '../config';
import { ServerEvents } from '../core/events';
import { PlanChangeRequest, PlanStore, planChangeOfRequest } from '../core/plan-store';
import { readBody, Router, sendJson } from '../http/router';
import { attachFederation, tokenFingerprint, type FederationServer } from '../socket/federation';
import { addressCap } from '../socket/address-cap';
import { federationIoOptions } from '../socket/io-options';
import { openDatabase } from '../store/db';
import { ClusterAggregator } from './aggregator';
import { IngestNode } from './ingest-node';
import { AggregatorLease } from './lease';
import { SharedState } from './shared-state';

export type NodeRole = 'ingest' | 'aggregator' | 'both';

export interface ClusterOptions extends ServerConfig {
  /** redis://host:port[/db] */
  redis: string;
  /** 'ingest': serve contributors only; 'aggregator': also compete for the lease; 'both' (default) likewise. */
  role?: NodeRole;
  /** The aggregator lease's time to live: how long a crashed aggregator holds up folding. Default 5000 ms. */
  leaseMs?: number;
  /** This node's name in the lease and logs. Default: a random id. */
  nodeId?: string;
  /** Key prefix in Redis (several runs can share one Redis). Default 'glimpse'. */
  redisPrefix?: string;
  /** How long a node waits for an aggregator to create the run. Default 60 s. */
  joinTimeoutMs?: number;
}

export interface RunningNode {
  url: string;
  port: number;
  nodeId: string;
  role: NodeRole;
  node: IngestNode;
  io: FederationServer;
  http: HttpServer;
  adminToken: string;
  adminTokenGenerated: boolean;
  /** The fencing token while this node aggregates, else null. */
  leading(): number | null;
  close(): Promise<void>;
}

export async function startClusterNode(options: ClusterOptions): Promise<RunningNode> {
  const { redis: url, role = 'both', leaseMs = 5000, nodeId = `node-${randomUUID().slice(0, 8)}`, redisPrefix, joinTimeoutMs = 60_000, ...rest } = options;
  const config = resolveConfig(rest);
  const log = config.log;
  const events = new ServerEvents(log);
  await mkdir(config.dataDir, { recursive: true });
  const shared = await SharedState.connect(url, redisPrefix, log);
  const db = openDatabase(join(config.dataDir, 'glimpse.db'));
  const cleanup: Array<() => Promise<void> | void> = [() => void db.close(), () => shared.close()];
  const undo = async () => {
    for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
  };
  try {
    // One plan store for the node: the aggregator records the live plan in its checkpoints.
    const plans = new PlanStore(db, config);
    const aggregator = role === 'ingest' ? null : new ClusterAggregator(shared, config, events, () => plans.plan, (t) => lease?.fenced(t));
    const lease = aggregator && new AggregatorLease(shared, { node: nodeId, ttlMs: leaseMs, log, acquired: (t) => aggregator.lead(t), lost: () => void aggregator.stop() });
    if (aggregator && lease) {
      lease.start();
      cleanup.push(() => aggregator.stop(), () => lease.stop());
    }
    const node = await IngestNode.open(config, db, shared, events, plans, joinTimeoutMs);
    const sub = await shared.subscribe((e) => {
      node.onEvent(e);
      if (e.kind === 'revoked') federation.disconnectFingerprint(e.fingerprint);
    });
    cleanup.push(() => void sub.disconnect());
    const admin = await resolveAdminToken(config.dataDir, config.adminToken);
    const isAdmin = (authorization: string | undefined) => bearerMatches(authorization, admin.token);
    const router = new Router(isAdmin, log);
    const http = createServer((req, res) => {
      router.handle(req, res).then(
        (handled) => !handled && sendJson(res, 404, { error: 'not found' }),
        () => !res.headersSent && sendJson(res, 500, { error: 'internal server error' }),
      );
    });
    http.on('clientError', (_err, socket) => socket.destroy());
    http.keepAliveTimeout = 65_000;
    http.headersTimeout = 66_000;
    const adapterConn = shared.duplicate();
    cleanup.push(() => void adapterConn.disconnect());
    const cap = config.maxConnectionsPerAddress === null ? null : addressCap(config.maxConnectionsPerAddress);
    const io: FederationServer = new Server(http, {
      ...federationIoOptions(config, node.maxMessageBytes(), cap),
      adapter: createAdapter(adapterConn, { streamName: `{${redisPrefix ?? 'glimpse'}}:socket.io`, blockTimeInMs: 1000 }),
    });
    cap?.track(io.engine);
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const revoked = new Set(await shared.revokedFingerprints());
    const federation = attachFederation(io, node, events, { contributorTokens: config.contributorTokens, revoked, log });
    registerNodeRoutes(router, node, { nodeId, role, leading: () => lease?.held ?? null, contributors: () => io.of('/').adapter.rooms.get('contributors')?.size ?? 0, shared });

    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    cleanup.push(() => void http.closeAllConnections?.());
    const port = (http.address() as AddressInfo).port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    let closed: Promise<void> | null = null;
    return {
      url: `http://${host}:${port}`, port, nodeId, role, node, io, http, adminToken: admin.token, adminTokenGenerated: admin.generated,
      leading: () => lease?.held ?? null,
      close() {
        closed ??= (async () => {
          await node.close();
          await undo();
        })();
        return closed;
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}

async function readJsonBody(req: Parameters<typeof readBody>[0]): Promise<unknown> {
  try {
    return JSON.parse((await readBody(req)) || '{}');
  } catch {
    return null;
  }
}

const RevokeRequest = z.object({ token: z.string().min(1).max(512) }).strict();

function registerNodeRoutes(
  router: Router,
  node: IngestNode,
  o: { nodeId: string; role: NodeRole; leading: () => number | null; contributors: () => number; shared: SharedState },
): void {
  router.get('/api/health', (_q, res) => sendJson(res, 200, { ok: true }));
  router.get('/api/status', async (_q, res) => {
    sendJson(res, 200, {
      runId: node.run.runId, method: node.run.method, version: node.version, node: o.nodeId, role: o.role,
      aggregating: o.leading() !== null, fencingToken: o.leading(), lease: await o.shared.leaseHolder(), connectedContributors: o.contributors(),
      plan: node.plan(),
    });
  });
  router.post('/api/admin/plan', async (req, res) => {
    const p = PlanChangeRequest.safeParse(await readJsonBody(req));
    if (!p.success) return sendJson(res, 400, { error: p.error.issues.map((i) => i.message).join('; ') });
    sendJson(res, 200, { plan: await node.updatePlan(planChangeOfRequest(p.data)) });
  }, { admin: true });
  router.post('/api/admin/revoke', async (req, res) => {
    const p = RevokeRequest.safeParse(await readJsonBody(req));
    if (!p.success) return sendJson(res, 400, { error: 'expected {"token": "<contributor token>"}' });
    const fingerprint = tokenFingerprint(p.data.token);
    await o.shared.revoke(fingerprint);
    sendJson(res, 200, { fingerprint });
  }, { admin: true });
}
