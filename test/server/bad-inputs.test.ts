/**
 * Every kind of bad input is refused with its reason, the server stays up, and the global model
 * and the buffer are unchanged.
 */
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederationError, type FederationClient } from '../../shared/protocol/client';
import type { SubmitAck } from '../../shared/protocol/messages';
import { encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import { connectClient, onlineOnly, randomDelta, startTiny } from './helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;

describe('bad inputs', () => {
  let srv: Srv;
  let client: FederationClient;
  let online: WeightMap;
  let before: Uint8Array;
  let n = 0;
  const id = () => `bad-input-${String(++n).padStart(4, '0')}`;

  beforeAll(async () => {
    srv = await startTiny({ aggregation: { bufferSize: 1000, maxStaleness: 2, normGuard: { maxNorm: 50, medianMultiple: 10, window: 16, minHistory: 3, mode: 'reject' } } });
    client = await connectClient(srv.url);
    online = onlineOnly((await client.pullWeights(0)).weights);
    before = (await srv.coordinator.pull('latest') as { bytes: Uint8Array }).bytes;
  });
  afterAll(async () => {
    client.close();
    await srv.cleanup();
  });

  const submitBytes = (delta: unknown, extra: Record<string, unknown> = {}) =>
    client.submitRaw({ updateId: id(), baseVersion: 0, examples: 16, metrics: {}, delta, ...extra });

  async function expectRejected(ack: Promise<SubmitAck>, code: string, reason?: RegExp) {
    const fill = srv.coordinator.bufferFill;
    const a = await ack;
    expect(a.ok).toBe(false);
    if (!a.ok) {
      expect(a.code).toBe(code);
      if (reason) expect(a.reason).toMatch(reason);
      expect(a.reason.length).toBeGreaterThan(5);
    }
    expect(srv.coordinator.bufferFill).toBe(fill);
    expect(srv.coordinator.version).toBe(0);
    const now = (await srv.coordinator.pull('latest') as { bytes: Uint8Array }).bytes;
    expect(Buffer.compare(Buffer.from(now), Buffer.from(before))).toBe(0);
  }

  const good = () => randomDelta(online, n + 1000);
  const mutate = (f: (m: WeightMap) => void) => {
    const m = good();
    f(m);
    return encodeWeights(m);
  };

  it('garbage bytes', () => expectRejected(submitBytes(new Uint8Array(4096).map((_, i) => (i * 7919) & 255)), 'bad_encoding', /magic/));
  it('truncated payload', () => {
    const b = encodeWeights(good());
    return expectRejected(submitBytes(b.subarray(0, b.length - 10)), 'bad_encoding', /truncated/);
  });
  it('trailing bytes', () => {
    const b = encodeWeights(good());
    const c = new Uint8Array(b.length + 3);
    c.set(b);
    return expectRejected(submitBytes(c), 'bad_encoding', /trailing/);
  });
  it('flipped payload bit (checksum)', () => {
    const b = encodeWeights(good());
    b[b.length - 5] ^= 1;
    return expectRejected(submitBytes(b), 'bad_encoding', /checksum/);
  });
  it('not binary', () => expectRejected(submitBytes('hello'), 'bad_request', /delta/));
  it('wrong names', () => expectRejected(submitBytes(mutate((m) => {
    const [k, v] = [...m][0];
    m.delete(k);
    m.set('enc_bogus/kernel', v);
  })), 'wrong_weights', /unexpected weight 'enc_bogus\/kernel'.*missing weight/));
  it('missing a weight', () => expectRejected(submitBytes(mutate((m) => m.delete([...m.keys()][3]))), 'wrong_weights', /missing weight/));
  it('touching target weights', () => expectRejected(submitBytes(mutate((m) => {
    const [k, v] = [...m][0];
    m.set(`target/${k}`, v);
  })), 'wrong_weights', /unexpected weight 'target\//));
  it('wrong shapes', () => expectRejected(submitBytes(mutate((m) => {
    const [k, v] = [...m][0];
    m.set(k, { shape: [v.data.length], data: v.data });
  })), 'wrong_weights', /shape/));
  it('NaN', () => expectRejected(submitBytes(mutate((m) => ([...m.values()][2].data[1] = NaN))), 'not_finite', /NaN/));
  it('Infinity', () => expectRejected(submitBytes(mutate((m) => ([...m.values()][0].data[0] = -Infinity))), 'not_finite', /Infinity/));
  it('huge norm (hard bound)', () => expectRejected(submitBytes(encodeWeights(randomDelta(online, 5, 10))), 'norm_too_large', /hard bound/));
  it('unknown (future) base version', () => expectRejected(submitBytes(encodeWeights(good()), { baseVersion: 7 }), 'unknown_version', /newer/));
  it('bad examples', async () => {
    await expectRejected(submitBytes(encodeWeights(good()), { examples: 0 }), 'bad_examples');
    await expectRejected(submitBytes(encodeWeights(good()), { examples: 1e9 }), 'bad_examples');
    await expectRejected(submitBytes(encodeWeights(good()), { examples: 1.5 }), 'bad_request', /examples/);
  });
  it('malformed requests', async () => {
    await expectRejected(client.submitRaw({ updateId: 'bad id!', baseVersion: 0, examples: 1, metrics: {}, delta: new Uint8Array(1) }), 'bad_request', /updateId/);
    await expectRejected(client.submitRaw({ updateId: id(), baseVersion: -1, examples: 1, metrics: {}, delta: new Uint8Array(1) }), 'bad_request', /baseVersion/);
    await expectRejected(client.submitRaw(null), 'bad_request');
    await expectRejected(client.submitRaw({ updateId: id(), baseVersion: 0, examples: 1, metrics: { loss: 'high' }, delta: new Uint8Array(1) }), 'bad_request', /loss/);
  });

  // The relative bound is taken over contributors (each counts once, issue 13): three contributors
  // the server can tell apart (their tokens) set the usual norm.
  it('recent-median bound: a delta 100× the usual norm is rejected', async () => {
    const tokens = ['token-aaaa', 'token-bbbb', 'token-cccc'];
    const s2 = await startTiny({ contributorTokens: tokens, aggregation: { bufferSize: 1000, normGuard: { maxNorm: 1e4, medianMultiple: 5, window: 16, minHistory: 3, mode: 'reject' } } });
    const cs = await Promise.all(tokens.map((token) => connectClient(s2.url, { token })));
    try {
      for (let i = 0; i < 3; i++) expect((await cs[i].submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(online, 40 + i, 1e-3) })).ok).toBe(true);
      const a = await cs[0].submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(online, 50, 1e-1) });
      expect(a).toMatchObject({ ok: false, code: 'norm_too_large' });
      expect(s2.coordinator.bufferFill).toBe(3);
    } finally {
      for (const c of cs) c.close();
      await s2.cleanup();
    }
  });

  it('too-stale base version', async () => {
    const s2 = await startTiny({ aggregation: { bufferSize: 1, maxStaleness: 1 } });
    const c = await connectClient(s2.url);
    try {
      for (let v = 0; v < 2; v++) {
        const next = c.waitForVersion(v, 10_000);
        expect((await c.submitDelta({ baseVersion: v, examples: 4, delta: randomDelta(online, 60 + v, 1e-3) })).ok).toBe(true);
        await next;
      }
      const bytes = (await s2.coordinator.pull('latest') as { bytes: Uint8Array }).bytes;
      const a = await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(online, 70, 1e-3) });
      expect(a).toMatchObject({ ok: false, code: 'too_stale' });
      expect(s2.coordinator.version).toBe(2);
      expect(Buffer.compare(Buffer.from((await s2.coordinator.pull('latest') as { bytes: Uint8Array }).bytes), Buffer.from(bytes))).toBe(0);
    } finally {
      c.close();
      await s2.cleanup();
    }
  });

  it('oversized message: the connection is dropped, the server and other clients carry on', async () => {
    const victim = await connectClient(srv.url, { submitAttempts: 1, submitTimeoutMs: 3000, reconnection: false });
    const big = new Uint8Array(srv.coordinator.maxMessageBytes() + 1024);
    const disconnected = new Promise<string>((r) => victim.on('disconnect', r));
    const fill = srv.coordinator.bufferFill;
    await expect(victim.submitRaw({ updateId: id(), baseVersion: 0, examples: 1, metrics: {}, delta: big })).rejects.toBeInstanceOf(FederationError);
    expect(await disconnected).toMatch(/transport/);
    victim.close();
    expect(srv.coordinator.bufferFill).toBe(fill);
    const a = await client.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(online, 99, 1e-3) });
    expect(a.ok).toBe(true);
  });

  it('protocol violations: no hello, wrong protocol version, no ack callback', async () => {
    const raw = ioClient(srv.url, { transports: ['websocket'] });
    try {
      await new Promise<void>((r) => raw.once('connect', () => r()));
      const a = await raw.timeout(5000).emitWithAck('delta:submit', { updateId: id(), baseVersion: 0, examples: 1, metrics: {}, delta: new Uint8Array(8) });
      expect(a).toMatchObject({ ok: false, code: 'no_hello' });
      const p = await raw.timeout(5000).emitWithAck('weights:pull', { version: 'latest' });
      expect(p).toMatchObject({ ok: false, code: 'no_hello' });
      const h = await raw.timeout(5000).emitWithAck('session:hello', { protocol: 999, clientKind: 'node', backend: 'cpu' });
      expect(h).toMatchObject({ ok: false, code: 'unsupported_protocol' });
      const h2 = await raw.timeout(5000).emitWithAck('session:hello', { protocol: 1, clientKind: 'toaster', backend: 'cpu' });
      expect(h2).toMatchObject({ ok: false, code: 'bad_request' });
      raw.emit('delta:submit', { anything: true }); // no ack: ignored
      (raw as unknown as { emit(e: string, ...a: unknown[]): void }).emit('no:such-event', 1, 2, 3);
      const ok = await raw.timeout(5000).emitWithAck('session:hello', { protocol: 1, clientKind: 'node', backend: 'cpu' });
      expect(ok).toMatchObject({ ok: true });
    } finally {
      raw.close();
    }
  });

  it('rejections are recorded with their reasons', () => {
    const rows = srv.coordinator.db.prepare('SELECT code, COUNT(*) AS n FROM rejections GROUP BY code').all() as Array<{ code: string; n: number }>;
    const codes = new Set(rows.map((r) => r.code));
    for (const c of ['bad_encoding', 'wrong_weights', 'not_finite', 'norm_too_large', 'unknown_version', 'bad_examples']) expect(codes).toContain(c);
  });
});

describe('contributor tokens', () => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTiny({ contributorTokens: ['token-aaaaaaaa', 'token-bbbbbbbb'] });
  });
  afterAll(() => srv.cleanup());

  it('refuses a missing or wrong token, accepts a valid one', async () => {
    await expect(connectClient(srv.url, { reconnection: false })).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/required/) });
    await expect(connectClient(srv.url, { token: 'token-cccccccc', reconnection: false })).rejects.toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/invalid/) });
    const c = await connectClient(srv.url, { token: 'token-bbbbbbbb' });
    expect(c.plan.version).toBe(0);
    c.close();
  });
});
