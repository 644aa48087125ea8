/**
 * The Socket.IO side of the protocol (shared/protocol/messages.ts): handshake auth, hello, pulls
 * and submissions. Every incoming payload is validated with zod; every handler survives any input
 * (wrong types, missing ack callback, throwing code) without taking the server down.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import {
  HandshakeAuth,
  Hello,
  PROTOCOL_VERSION,
  PullRequest,
  SubmitRequest,
  describeZodError,
  toBytes,
  type ClientToServerEvents,
  type Failure,
  type ServerToClientEvents,
  type SocketData,
} from '../../shared/protocol/messages';
import type { Coordinator } from '../core/coordinator';
import type { ServerEvents } from '../core/events';
import { closeSession, openSession } from '../store/history';
import { OverBudget } from './payload-budget';
import { preHelloGate, type PreHelloLimits } from './pre-hello';

/** What the endpoint needs from the server: the Coordinator, or a cluster node (cluster/ingest-node.ts). */
export type FederationCore = Pick<Coordinator, 'db' | 'plan' | 'pull' | 'submit' | 'version'>;

export type FederationServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type FederationSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface FederationOptions {
  contributorTokens: readonly string[];
  /** Fingerprints (tokenFingerprint) of revoked contributor tokens; refused at the handshake. Shared, so revocations persist by whoever fills it. */
  revoked?: Set<string>;
  log: (line: string) => void;
  /** Deadline of `session:hello` and the event rate before it (socket/pre-hello.ts). */
  preHello?: Partial<PreHelloLimits>;
}

/** What the admin side can do to the federation endpoint. */
export interface FederationControl {
  /**
   * Revokes a contributor token: later handshakes with it are refused ('unauthorized', final for
   * clients) and the sockets connected with it are disconnected. Returns its fingerprint and how
   * many sockets were dropped.
   */
  revokeToken(token: string): { fingerprint: string; disconnected: number };
  /** Disconnects this node's sockets whose token has this fingerprint (a revocation made on another node). */
  disconnectFingerprint(fingerprint: string): number;
}

/** SHA-256 hex of a token: what history and admin views store instead of the secret. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenMatches(given: string | undefined, tokens: readonly string[]): boolean {
  if (given === undefined) return false;
  const g = Buffer.from(given);
  let ok = false;
  // Compare against every token (no early exit) so timing does not reveal which one matched.
  for (const t of tokens) {
    const b = Buffer.from(t);
    if (b.length === g.length && timingSafeEqual(b, g)) ok = true;
  }
  return ok;
}

/**
 * Wraps a handler: validates the ack callback exists, catches everything, answers 'internal'. A
 * payload the bounded parser refused unparsed (payload-budget.ts) is answered `refused(reason)`.
 */
function guarded<A extends unknown[]>(
  socket: FederationSocket,
  name: string,
  log: (line: string) => void,
  fn: (ack: (a: unknown) => void, ...args: A) => void | Promise<void>,
  refused: (reason: string) => unknown = (reason) => ({ ok: false, code: 'bad_request', reason } satisfies Failure),
) {
  return (...raw: unknown[]) => {
    const ack = raw[raw.length - 1];
    if (typeof ack !== 'function') {
      // A request without an ack callback cannot be answered; the client is not following the protocol.
      log(`${socket.id}: ${name} without acknowledgement callback; ignored`);
      return;
    }
    let answered = false;
    const once = (a: unknown) => {
      if (answered) return;
      answered = true;
      try {
        (ack as (a: unknown) => void)(a);
      } catch (e) {
        log(`${socket.id}: ack of ${name} failed: ${(e as Error).message}`);
      }
    };
    const fail = (e: unknown) => {
      log(`${socket.id}: ${name} failed: ${(e as Error)?.stack ?? e}`);
      once({ ok: false, code: 'internal', reason: 'internal server error' } satisfies Failure);
    };
    if (raw[0] instanceof OverBudget) return once(refused(raw[0].reason));
    try {
      const r = fn(once, ...(raw.slice(0, -1) as A));
      if (r instanceof Promise) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  };
}

export function attachFederation(io: FederationServer, coord: FederationCore, events: ServerEvents, o: FederationOptions): FederationControl {
  const revoked = o.revoked ?? new Set<string>();
  io.use((socket, next) => {
    if (o.contributorTokens.length === 0) return next();
    const auth = HandshakeAuth.safeParse(socket.handshake.auth ?? {});
    const given = auth.success ? auth.data.token : undefined;
    const isRevoked = given !== undefined && revoked.has(tokenFingerprint(given));
    if (given !== undefined && !isRevoked && tokenMatches(given, o.contributorTokens)) return next();
    const err = new Error(isRevoked ? 'unauthorized: this contributor token was revoked' : given ? 'unauthorized: invalid contributor token' : 'unauthorized: a contributor token is required') as Error & { data?: unknown };
    err.data = { code: 'unauthorized' };
    next(err);
  });

  // Whom a rate limit counts: the contributor token (a client can change its clientId at will,
  // not its token), else the connection's address on an open server.
  const rateKey = (socket: { handshake: { auth: unknown; address: string } }) => {
    const auth = HandshakeAuth.safeParse(socket.handshake.auth ?? {});
    return o.contributorTokens.length > 0 && auth.success && auth.data.token ? `token:${tokenFingerprint(auth.data.token)}` : `addr:${socket.handshake.address}`;
  };

  io.on('connection', (socket) => {
    let sessionId: number | null = null;
    // The handshake cannot change for the life of a connection: derive its key once, not per submit.
    const limitKey = rateKey(socket);
    const gate = preHelloGate(socket, o.preHello, o.log);

    socket.on('session:hello', guarded(socket, 'session:hello', o.log, (ack, raw: unknown) => {
      const p = Hello.safeParse(raw);
      if (!p.success) return ack({ ok: false, code: 'bad_request', reason: describeZodError(p.error) });
      const h = p.data;
      if (h.protocol !== PROTOCOL_VERSION) {
        return ack({ ok: false, code: 'unsupported_protocol', reason: `server speaks protocol ${PROTOCOL_VERSION}, client sent ${h.protocol}` });
      }
      const first = socket.data.contributorId === undefined;
      const contributorId = h.clientId ?? `anon:${socket.id}`;
      // One identity per connection: per-contributor statistics and limits must not be fed by one
      // socket under many ids. Repeating the hello with the same id is harmless (it re-sends the plan).
      if (!first && contributorId !== socket.data.contributorId) {
        return ack({ ok: false, code: 'bad_request', reason: `this connection said hello as ${socket.data.contributorId}; reconnect to use another clientId` });
      }
      gate.greeted();
      socket.data.contributorId = contributorId;
      socket.data.clientKind = h.clientKind;
      socket.data.backend = h.backend;
      socket.data.helloAt = Date.now();
      if (first) {
        try {
          sessionId = openSession(coord.db, socket.data.contributorId, h.clientKind, h.backend);
        } catch {
          sessionId = null;
        }
        socket.join('contributors');
        events.emit('client:connected', { socketId: socket.id, contributorId: socket.data.contributorId, clientKind: h.clientKind, backend: h.backend });
      }
      ack({ ok: true, plan: coord.plan(), serverTime: Date.now(), contributorId: socket.data.contributorId });
    }));

    socket.on('weights:pull', guarded(socket, 'weights:pull', o.log, async (ack, raw: unknown) => {
      if (!socket.data.contributorId) return ack({ ok: false, code: 'no_hello', reason: 'send session:hello first' });
      const p = PullRequest.safeParse(raw);
      if (!p.success) return ack({ ok: false, code: 'bad_request', reason: describeZodError(p.error) });
      const r = await coord.pull(p.data.version);
      if ('code' in r) return ack({ ok: false, ...r });
      ack({ ok: true, version: r.version, weights: r.bytes });
    }));

    socket.on('delta:submit', guarded(socket, 'delta:submit', o.log, async (ack, raw: unknown) => {
      const contributorId = socket.data.contributorId;
      if (!contributorId) return ack({ ok: false, code: 'no_hello', reason: 'send session:hello first', version: coord.version });
      const p = SubmitRequest.safeParse(raw);
      if (!p.success) {
        const reason = describeZodError(p.error);
        events.emit('update:rejected', { updateId: null, contributorId, code: 'bad_request', reason });
        return ack({ ok: false, code: 'bad_request', reason, version: coord.version });
      }
      const r = p.data;
      ack(await coord.submit({ updateId: r.updateId, baseVersion: r.baseVersion, examples: r.examples, loss: r.metrics?.loss ?? null, bytes: toBytes(r.delta) }, contributorId, limitKey));
    }, (reason) => ({ ok: false, code: 'bad_request', reason, version: coord.version })));

    socket.on('disconnect', (reason) => {
      gate.close();
      if (sessionId !== null) {
        try {
          closeSession(coord.db, sessionId);
        } catch {
          /* the database may already be closed at shutdown */
        }
      }
      if (socket.data.contributorId) events.emit('client:disconnected', { socketId: socket.id, contributorId: socket.data.contributorId, reason });
    });
  });

  events.on('plan:changed', (plan) => io.to('contributors').emit('plan:update', plan));
  events.on('version:created', (s) => {
    io.to('contributors').emit('model:version', { version: s.version, at: s.at, updates: s.updates.length });
  });

  return {
    revokeToken(token) {
      const fingerprint = tokenFingerprint(token);
      revoked.add(fingerprint);
      let disconnected = 0;
      for (const socket of io.of('/').sockets.values()) {
        const auth = HandshakeAuth.safeParse(socket.handshake.auth ?? {});
        if (auth.success && auth.data.token === token) {
          socket.disconnect(true);
          disconnected++;
        }
      }
      return { fingerprint, disconnected };
    },
    disconnectFingerprint(fingerprint) {
      revoked.add(fingerprint);
      let disconnected = 0;
      for (const socket of io.of('/').sockets.values()) {
        const auth = HandshakeAuth.safeParse(socket.handshake.auth ?? {});
        if (auth.success && auth.data.token !== undefined && tokenFingerprint(auth.data.token) === fingerprint) {
          socket.disconnect(true);
          disconnected++;
        }
      }
      return disconnected;
    },
  };
}
