/**
 * The state several server nodes share, in one Redis (ioredis): every read-modify-write is one
 * Lua script, so it is atomic across nodes without locks.
 *
 *   {glimpse}:deltas      stream of accepted, not yet folded updates (id, meta JSON, GLWT delta)
 *   {glimpse}:seen:<id>   dedupe marker of an accepted update id (set with its stream entry)
 *   {glimpse}:rate:<key>  token bucket of one contributor (core/rate-limit.ts's rule, Redis' clock)
 *   {glimpse}:head        hash: version, cursor (last stream id folded into it), token (its writer's fence)
 *   {glimpse}:ckpt:<v>    the checkpoint of version v (store/checkpoint.ts bytes), for the last few versions
 *                         (none for a version published together with a newer one: see commit())
 *   {glimpse}:lease       the aggregator lease: "<node>#<fencing token>", expires unless renewed
 *   {glimpse}:fence       the fencing counter: +1 at every lease acquisition
 *   {glimpse}:plan        the admin's plan change (JSON of core/plan-store.ts PlanChange)
 *   {glimpse}:revoked     set of revoked contributor-token fingerprints
 *   {glimpse}:events      pub/sub channel: {"kind":"version"|"plan"|"revoked", …}
 *
 * Durability: an update is acknowledged once APPEND's reply arrives; with `appendonly yes` and
 * `appendfsync always` Redis fsyncs its AOF before it replies (docs/deploy.md). The hash tag
 * `{glimpse}` keeps all keys in one slot, so the scripts also run on a Redis Cluster shard.
 *
 * Fencing (Kleppmann, "How to do distributed locking", 2016): COMMIT writes only when the fence
 * counter still equals the writer's token, so a leader that was paused or partitioned past its
 * lease — and has since been replaced — cannot publish a version, whatever it believes.
 */
import { Redis } from 'ioredis';

export const GATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate', 0, 0} end
local waiting = redis.call('XLEN', KEYS[3])
if ARGV[1] == '1' then
  local perMs = tonumber(ARGV[2]); local burst = tonumber(ARGV[3])
  local b = redis.call('HMGET', KEYS[2], 't', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * perMs)
  if tokens < 1 then return {'rate_limited', math.ceil((1 - tokens) / perMs), waiting} end
  redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst / perMs) + 1000)
end
return {'ok', 0, waiting}`;

export const APPEND = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
return redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'meta', ARGV[3], 'delta', ARGV[4])`;

export const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
  return token
end
return false`;

export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * -1: fenced off (a newer leader exists); -2: the head is not the version this one was folded on
 * (ARGV[6]), or it would not move forward; 1: written and announced. KEYS[5..] are the checkpoints
 * that fall out of the kept window (one per version the head moves).
 */
export const COMMIT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if tonumber(ARGV[6]) ~= cur or tonumber(ARGV[2]) <= cur then return -2 end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'cursor', ARGV[3], 'token', ARGV[1])
if ARGV[3] ~= '0-0' then
  redis.call('XTRIM', KEYS[3], 'MINID', ARGV[3])
  redis.call('XDEL', KEYS[3], ARGV[3])
end
for i = 6, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('PUBLISH', KEYS[5], ARGV[5])
return 1`;

export interface Head {
  version: number;
  /** Stream id of the last update folded into this version ('0-0': none yet). */
  cursor: string;
}

/** One accepted update as the stream holds it. */
export interface StreamEntry {
  streamId: string;
  updateId: string;
  meta: string;
  delta: Buffer;
}

export type ClusterEvent = { kind: 'version'; version: number } | { kind: 'plan'; change: unknown } | { kind: 'revoked'; fingerprint: string };

export type Gate = { kind: 'ok'; waiting: number } | { kind: 'duplicate' } | { kind: 'rate_limited'; retryAfterMs: number };

/** Checkpoints of older versions kept in Redis for pulls of a recent base. */
const KEEP_VERSIONS = 3;
/** How long an accepted update id is remembered for dedupe. */
const SEEN_TTL_S = 7 * 24 * 3600;

/**
 * ioredis reconnects by itself; without a listener it prints every connection error. Log them
 * instead, at most one line per connection every 10 s while Redis is unreachable.
 */
function quietErrors(conn: Redis, log: (line: string) => void): Redis {
  let last = 0;
  conn.on('error', (e: Error) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    log(`redis: ${e.message}`);
  });
  return conn;
}

export class SharedState {
  readonly k;
  private constructor(readonly redis: Redis, prefix: string, private readonly log: (line: string) => void) {
    quietErrors(redis, log);
    const p = `{${prefix}}:`;
    this.k = {
      deltas: `${p}deltas`, head: `${p}head`, lease: `${p}lease`, fence: `${p}fence`, plan: `${p}plan`, revoked: `${p}revoked`, events: `${p}events`,
      seen: (id: string) => `${p}seen:${id}`, rate: (key: string) => `${p}rate:${key}`, ckpt: (v: number) => `${p}ckpt:${v}`,
    };
  }

  /** Connects (fails fast when Redis is not reachable: a node without its shared state must not start). */
  static async connect(url: string, prefix = 'glimpse', log: (line: string) => void = () => {}): Promise<SharedState> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5000 });
    let first: Error | null = null;
    redis.on('error', (e: Error) => (first ??= e));
    try {
      await redis.connect();
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${url}: ${(first ?? (e as Error)).message}`);
    }
    return new SharedState(redis, prefix, log);
  }

  /** A second connection for blocking reads or subscriptions (those hold their connection). */
  duplicate(): Redis {
    return quietErrors(this.redis.duplicate(), this.log);
  }

  /** Dedupe and rate limit before the costly checks; also returns how many updates wait to be folded. */
  async gate(updateId: string, rateKey: string, limit: { perMinute: number; burst: number } | null): Promise<Gate> {
    const r = (await this.redis.eval(GATE, 3, this.k.seen(updateId), this.k.rate(rateKey), this.k.deltas,
      limit ? '1' : '0', limit ? String(limit.perMinute / 60_000) : '0', limit ? String(limit.burst) : '0')) as [string, number, number];
    if (r[0] === 'duplicate') return { kind: 'duplicate' };
    if (r[0] === 'rate_limited') return { kind: 'rate_limited', retryAfterMs: Number(r[1]) };
    return { kind: 'ok', waiting: Number(r[2]) };
  }

  /** Durably appends an accepted update; null when its id was accepted before (by any node). */
  async append(updateId: string, meta: string, delta: Uint8Array): Promise<string | null> {
    const bytes = Buffer.from(delta.buffer, delta.byteOffset, delta.byteLength);
    const r = await this.redis.eval(APPEND, 2, this.k.seen(updateId), this.k.deltas, String(SEEN_TTL_S), updateId, meta, bytes);
    return r === null ? null : String(r);
  }

  /** Entries after `afterId`, oldest first, waiting up to `blockMs` for one (on a connection of its own). */
  async read(conn: Redis, afterId: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const r = await conn.xreadBuffer('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.k.deltas, afterId);
    if (!r) return [];
    const out: StreamEntry[] = [];
    for (const [, entries] of r) {
      for (const [id, fields] of entries) {
        const f = new Map<string, Buffer>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i].toString(), fields[i + 1]);
        out.push({ streamId: id.toString(), updateId: f.get('id')!.toString(), meta: f.get('meta')!.toString(), delta: f.get('delta')! });
      }
    }
    return out;
  }

  async head(): Promise<Head | null> {
    const h = await this.redis.hgetall(this.k.head);
    return h.version === undefined ? null : { version: Number(h.version), cursor: h.cursor };
  }

  /** The checkpoint bytes of version v, or null when no longer kept. */
  checkpoint(v: number): Promise<Buffer | null> {
    return this.redis.getBuffer(this.k.ckpt(v));
  }

  /** Takes the aggregator lease if it is free; returns the fencing token, or null. */
  async acquire(node: string, ttlMs: number): Promise<number | null> {
    const r = await this.redis.eval(ACQUIRE, 2, this.k.lease, this.k.fence, node, String(ttlMs));
    return r === null ? null : Number(r);
  }

  async renew(node: string, token: number, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, this.k.lease, `${node}#${token}`, String(ttlMs))) === 1;
  }

  async release(node: string, token: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.k.lease, `${node}#${token}`);
  }

  /** Who holds the lease now ("<node>#<token>"), if anyone. */
  leaseHolder(): Promise<string | null> {
    return this.redis.get(this.k.lease);
  }

  /**
   * Publishes version `version` (its checkpoint bytes, the stream id of the last update folded into
   * it) if `token` is still the newest fence and the head is `base`, the version it was folded on
   * (the one before, unless the versions in between were folded while a commit was in flight and
   * are published with it: their checkpoints are never written); trims the folded updates from the
   * stream and the checkpoints that fall out of the kept window. Returns the script's verdict (see COMMIT).
   */
  async commit(token: number, version: number, cursor: string, bytes: Uint8Array, base = version - 1): Promise<1 | -1 | -2> {
    const event: ClusterEvent = { kind: 'version', version };
    const dropped: string[] = [];
    for (let v = Math.max(0, base + 1 - KEEP_VERSIONS); v <= version - KEEP_VERSIONS; v++) dropped.push(this.k.ckpt(v));
    const r = await this.redis.eval(COMMIT, 5 + dropped.length, this.k.head, this.k.fence, this.k.deltas, this.k.ckpt(version), this.k.events, ...dropped,
      String(token), String(version), cursor, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), JSON.stringify(event), String(base));
    return Number(r) as 1 | -1 | -2;
  }

  async planChange(): Promise<unknown> {
    const raw = await this.redis.get(this.k.plan);
    try {
      return raw ? JSON.parse(raw) : {};
    } catch {
      return {};
    }
  }

  async setPlanChange(change: unknown): Promise<void> {
    await this.redis.multi().set(this.k.plan, JSON.stringify(change)).publish(this.k.events, JSON.stringify({ kind: 'plan', change } satisfies ClusterEvent)).exec();
  }

  revokedFingerprints(): Promise<string[]> {
    return this.redis.smembers(this.k.revoked);
  }

  async revoke(fingerprint: string): Promise<void> {
    await this.redis.multi().sadd(this.k.revoked, fingerprint).publish(this.k.events, JSON.stringify({ kind: 'revoked', fingerprint } satisfies ClusterEvent)).exec();
  }

  /** Subscribes a connection of its own to the cluster's events; returns the connection (quit it to stop). */
  async subscribe(on: (e: ClusterEvent) => void): Promise<Redis> {
    const sub = this.duplicate();
    sub.on('message', (_channel: string, message: string) => {
      try {
        on(JSON.parse(message) as ClusterEvent);
      } catch {
        /* a malformed message (another tool on the channel) is ignored */
      }
    });
    await sub.subscribe(this.k.events);
    return sub;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
