/**
 * FederationClient: the typed client side of the Glimpse protocol, for Node contributors, the
 * browser extension's offscreen document and workers. Uses only socket.io-client, zod and the
 * shared codec — no Node-only imports.
 *
 *   const client = new FederationClient({ url, clientKind: 'node', backend: 'cpu', token });
 *   const plan = await client.connect();
 *   const { version, weights } = await client.pullWeights('latest');
 *   const ack = await client.submitDelta({ baseVersion: version, examples, metrics, delta });
 *   client.on('version', (e) => …);   // a new global version exists
 *   client.close();
 *
 * Reconnects are automatic; after one the client says hello again, refreshes the plan and
 * emits 'reconnect'. submitDelta retries on timeouts and lost connections with the same update
 * id: the server counts an id once, so a retry after a lost ack is safe.
 */
import { io, type Socket } from 'socket.io-client';
import { decodeWeights, encodeWeights } from '../weights/codec';
import { addInto, type WeightMap } from '../weights/weight-map';
import type { PullOptions } from './compression';
import {
  PROTOCOL_VERSION,
  Plan,
  toBytes,
  type ClientKind,
  type ClientToServerEvents,
  type Hello,
  type HelloAck,
  type LocalMetrics,
  type PullAck,
  type RejectCode,
  type ServerToClientEvents,
  type SubmitAck,
  type VersionEvent,
} from './messages';

export interface FederationClientOptions {
  /** Server base URL, e.g. http://localhost:8787 */
  url: string;
  clientKind: ClientKind;
  /** tfjs backend that trains ('webgl', 'wasm', 'cpu', …). */
  backend: string;
  /** Contributor token when the server requires one. */
  token?: string;
  /** Stable pseudonymous id; default: random per client object. */
  clientId?: string;
  capabilities?: Hello['capabilities'];
  /** Ack timeout of hello/pull, and how long the first connect() may take (ms). Default 30 s. */
  requestTimeoutMs?: number;
  /** Ack timeout of a submission (ms); uploads of big deltas on slow links need time. Default 120 s. */
  submitTimeoutMs?: number;
  /** Attempts per submission (timeouts and disconnects only; rejections are final). Default 3. */
  submitAttempts?: number;
  /** Reconnect automatically (socket.io-client's backoff). Default true. */
  reconnection?: boolean;
  /**
   * Failed attempts after which the first connect() gives up (default: keep trying until
   * requestTimeoutMs). A caller that tells "server down" from "refused" by itself asks for 1–2.
   */
  connectAttempts?: number;
}

/** A request the server refused; `code` is one of the protocol's REJECT_CODES. */
export class FederationError extends Error {
  override name = 'FederationError';
  constructor(readonly code: RejectCode | 'timeout' | 'disconnected' | 'unauthorized' | 'connect_failed', message: string) {
    super(message);
  }
}

export interface SubmitDeltaInput {
  baseVersion: number;
  examples: number;
  metrics?: LocalMetrics;
  /**
   * Online weight names → local − global values; or those already GLWT-encoded (a browser
   * worker encodes its delta itself), sent as they are.
   */
  delta: WeightMap | Uint8Array;
  /** Defaults to a fresh random UUID. Reuse it to resubmit the same update. */
  updateId?: string;
}

export interface FederationClientEvents {
  version: (e: VersionEvent) => void;
  plan: (plan: Plan) => void;
  /** After an automatic reconnect and a new hello. */
  reconnect: (plan: Plan) => void;
  disconnect: (reason: string) => void;
  error: (e: Error) => void;
}

type Listeners = { [K in keyof FederationClientEvents]: Set<FederationClientEvents[K]> };

function randomId(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

export class FederationClient {
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private currentPlan: Plan | null = null;
  private listeners: Listeners = { version: new Set(), plan: new Set(), reconnect: new Set(), disconnect: new Set(), error: new Set() };
  private latestVersion = -1;
  readonly clientId: string;
  private readonly o: Required<Omit<FederationClientOptions, 'token' | 'capabilities' | 'clientId' | 'connectAttempts'>> & FederationClientOptions;

  constructor(options: FederationClientOptions) {
    this.o = { requestTimeoutMs: 30_000, submitTimeoutMs: 120_000, submitAttempts: 3, reconnection: true, ...options };
    this.clientId = options.clientId ?? `c-${randomId()}`;
  }

  /** The plan from the last hello (throws before connect()). */
  get plan(): Plan {
    if (!this.currentPlan) throw new Error('not connected: call connect() first');
    return this.currentPlan;
  }

  /** Newest global version this client has heard of (plan or 'model:version' events). */
  get knownVersion(): number {
    return this.latestVersion;
  }

  get connected(): boolean {
    return !!this.socket?.connected;
  }

  on<K extends keyof FederationClientEvents>(event: K, listener: FederationClientEvents[K]): () => void {
    (this.listeners[event] as Set<FederationClientEvents[K]>).add(listener);
    return () => (this.listeners[event] as Set<FederationClientEvents[K]>).delete(listener);
  }

  private emit<K extends keyof FederationClientEvents>(event: K, ...args: Parameters<FederationClientEvents[K]>): void {
    for (const l of this.listeners[event]) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (e) {
        if (event !== 'error') this.emit('error', e as Error);
      }
    }
  }

  /** Connects over WebSocket, says hello and resolves with the plan. */
  async connect(): Promise<Plan> {
    if (this.socket) throw new Error('already connected');
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(this.o.url, {
      transports: ['websocket'],
      auth: this.o.token ? { token: this.o.token } : {},
      reconnection: this.o.reconnection,
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
      autoConnect: false,
    });
    this.socket = socket;
    socket.on('model:version', (e) => {
      if (typeof e?.version !== 'number') return;
      if (e.version > this.latestVersion) this.latestVersion = e.version;
      if (this.currentPlan) this.currentPlan = { ...this.currentPlan, version: Math.max(this.currentPlan.version, e.version) };
      this.emit('version', e);
    });
    socket.on('plan:update', (p) => {
      const parsed = Plan.safeParse(p);
      if (!parsed.success) return this.emit('error', new Error('server sent an invalid plan'));
      this.adoptPlan(parsed.data);
      this.emit('plan', parsed.data);
    });
    socket.on('disconnect', (reason) => this.emit('disconnect', reason));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: FederationError) => {
        cleanup();
        socket.disconnect();
        this.socket = null;
        reject(e);
      };
      let failures = 0;
      const onError = (err: Error & { data?: { code?: string } }) => {
        const unauthorized = err.data?.code === 'unauthorized' || /unauthorized/.test(err.message);
        // Auth failures are final; transport errors are retried by socket.io-client when reconnection is on.
        if (unauthorized || !this.o.reconnection || ++failures >= (this.o.connectAttempts ?? Infinity)) {
          fail(new FederationError(unauthorized ? 'unauthorized' : 'connect_failed', err.message));
        }
      };
      // The transport can close before the Socket.IO handshake completes: neither 'connect' nor
      // 'connect_error' fires then, only 'disconnect'.
      const onDisconnect = (reason: string) => {
        if (!this.o.reconnection) fail(new FederationError('connect_failed', `connection closed during the handshake (${reason})`));
      };
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => fail(new FederationError('connect_failed', `no connection within ${this.o.requestTimeoutMs} ms`)), this.o.requestTimeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('connect_error', onError);
        socket.off('disconnect', onDisconnect);
        socket.off('connect', onConnect);
      };
      socket.on('connect_error', onError);
      socket.on('disconnect', onDisconnect);
      socket.once('connect', onConnect);
      socket.connect();
    });
    let plan: Plan;
    try {
      plan = await this.hello();
    } catch (e) {
      this.close();
      throw e;
    }
    // After the first connect, every reconnect says hello again.
    socket.io.on('reconnect', () => {
      this.hello().then(
        (p) => this.emit('reconnect', p),
        (e) => this.emit('error', e as Error),
      );
    });
    return plan;
  }

  private adoptPlan(p: Plan): void {
    this.currentPlan = p;
    if (p.version > this.latestVersion) this.latestVersion = p.version;
  }

  private async hello(): Promise<Plan> {
    const hello: Hello = {
      protocol: PROTOCOL_VERSION, clientId: this.clientId, clientKind: this.o.clientKind, backend: this.o.backend,
      ...(this.o.capabilities ? { capabilities: this.o.capabilities } : {}),
    };
    const ack = (await this.request('session:hello', hello, this.o.requestTimeoutMs)) as HelloAck;
    if (!ack.ok) throw new FederationError(ack.code, ack.reason);
    const plan = Plan.parse(ack.plan);
    this.adoptPlan(plan);
    return plan;
  }

  private async request(event: 'session:hello' | 'weights:pull' | 'delta:submit', payload: unknown, timeoutMs: number): Promise<unknown> {
    const s = this.socket;
    if (!s) throw new FederationError('disconnected', 'not connected');
    try {
      // The event maps type the payloads; here one path serves all three requests.
      return await (s.timeout(timeoutMs) as unknown as { emitWithAck(e: string, p: unknown): Promise<unknown> }).emitWithAck(event, payload);
    } catch (e) {
      throw new FederationError(s.connected ? 'timeout' : 'disconnected', `${event}: ${(e as Error).message}`);
    }
  }

  /** The global weights (online + target when the method has one) of a version. */
  async pullWeights(version: number | 'latest' = 'latest', form: PullOptions = {}): Promise<{ version: number; weights: WeightMap }> {
    const base = form.base && form.base.version < (version === 'latest' ? Infinity : version) ? form.base : undefined;
    const pulled = await this.pullEncoded(version, { dtype: form.dtype, since: base?.version });
    // copy: the receive buffer may be misaligned or shared; the caller owns the result.
    const weights = decodeWeights(pulled.bytes, { copy: true }).weights;
    if (pulled.since === undefined) return { version: pulled.version, weights };
    if (!base || pulled.since !== base.version) throw new FederationError('bad_request', `the server sent a difference from version ${pulled.since}, not ${base?.version}`);
    // A difference from the version the caller holds: added to it, in the freshly decoded arrays.
    const bad = addInto(weights, base.weights);
    if (bad) throw new FederationError('wrong_weights', `the difference has weight '${bad}' the base version lacks`);
    return { version: pulled.version, weights };
  }

  /**
   * The same weights still GLWT-encoded, as received: for a caller that hands them on (the
   * extension transfers them to its training worker, which decodes and checks them there).
   */
  async pullEncoded(version: number | 'latest' = 'latest', form: { dtype?: 'float32' | 'float16'; since?: number } = {}): Promise<{ version: number; bytes: Uint8Array; since?: number }> {
    const req = { version, ...(form.dtype && form.dtype !== 'float32' ? { dtype: form.dtype } : {}), ...(form.since === undefined ? {} : { since: form.since }) };
    const ack = (await this.request('weights:pull', req, this.o.requestTimeoutMs)) as PullAck;
    if (!ack.ok) throw new FederationError(ack.code, ack.reason);
    if (ack.version > this.latestVersion) this.latestVersion = ack.version;
    return { version: ack.version, bytes: toBytes(ack.weights), ...(typeof ack.since === 'number' ? { since: ack.since } : {}) };
  }

  /**
   * Submits a delta and resolves with the server's ack. Rejections resolve too (`ok: false` with
   * `code` and `reason`) — they are answers, not failures; only transport problems after all
   * attempts throw a FederationError.
   */
  async submitDelta(input: SubmitDeltaInput): Promise<SubmitAck> {
    const updateId = input.updateId ?? randomId();
    const payload = {
      updateId, baseVersion: input.baseVersion, examples: input.examples, metrics: input.metrics ?? {},
      delta: input.delta instanceof Uint8Array ? input.delta : encodeWeights(input.delta, { meta: { baseVersion: input.baseVersion } }),
    };
    return this.submitRaw(payload);
  }

  /** Sends an already-built submit payload (tests, other encoders). Same retry rules as submitDelta. */
  async submitRaw(payload: unknown): Promise<SubmitAck> {
    let last: unknown;
    for (let attempt = 0; attempt < this.o.submitAttempts; attempt++) {
      try {
        if (!this.connected) await this.waitConnected(this.o.requestTimeoutMs);
        return (await this.request('delta:submit', payload, this.o.submitTimeoutMs)) as SubmitAck;
      } catch (e) {
        last = e;
        if (!(e instanceof FederationError) || (e.code !== 'timeout' && e.code !== 'disconnected')) throw e;
      }
    }
    throw last;
  }

  private waitConnected(timeoutMs: number): Promise<void> {
    const s = this.socket;
    if (!s) return Promise.reject(new FederationError('disconnected', 'client closed'));
    if (s.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        s.off('connect', ok);
        reject(new FederationError('disconnected', `no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const ok = () => {
        clearTimeout(t);
        resolve();
      };
      s.once('connect', ok);
    });
  }

  /** Waits for a 'model:version' event newer than `after` (or resolves at once if already known). */
  waitForVersion(after: number, timeoutMs = 60_000): Promise<number> {
    if (this.latestVersion > after) return Promise.resolve(this.latestVersion);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new FederationError('timeout', `no version after ${after} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on('version', (e) => {
        if (e.version > after) {
          clearTimeout(t);
          off();
          resolve(e.version);
        }
      });
    });
  }

  /** Disconnects for good (no reconnect). */
  close(): void {
    this.socket?.disconnect();
    this.socket?.removeAllListeners();
    this.socket = null;
  }
}
