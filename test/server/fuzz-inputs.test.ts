/**
 * Seeded random junk on every client event — wrong types, deep nesting, long strings, random and
 * mutated binary, protocol-shaped objects with wrong fields, unknown events, missing acks — from
 * a socket that said hello and one that did not. The server must answer every request with a
 * protocol rejection (never 'internal', which would mean a handler threw on a client's input),
 * stay up, and leave the model and the buffer untouched.
 */
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, REJECT_CODES } from '../../shared/protocol/messages';
import { encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import { connectClient, onlineOnly, randomDelta, rng, startTiny } from './helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;

function junkFactory(seed: number, glwt: Uint8Array) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const mutated = () => {
    const b = glwt.slice(0, int(3) === 0 ? int(glwt.length) : glwt.length);
    for (let k = int(8); k > 0; k--) if (b.length) b[int(b.length)] ^= 1 << int(8);
    return b;
  };
  const scalars = [
    () => null, () => undefined, () => r() < 0.5, () => int(1e9) - 5e8, () => r() * 1e300, () => -0, () => Number.MAX_SAFE_INTEGER + 2,
    () => 'x'.repeat(int(3) === 0 ? 100_000 : int(40)), () => '', () => 'latest', () => '\u0000\ud800', () => 'session:hello',
  ];
  const value = (depth: number): unknown => {
    const k = depth > 3 ? 0 : int(6);
    if (k === 0 || k === 1) return pick(scalars)();
    if (k === 2) return Array.from({ length: int(5) }, () => value(depth + 1));
    if (k === 3) return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['a', 'version', 'delta', '__proto__', 'constructor', 'ok']), value(depth + 1)]));
    if (k === 4) return pick([() => bytes(int(64)), () => mutated(), () => bytes(0)])();
    return shaped(pick(['session:hello', 'weights:pull', 'delta:submit']), depth);
  };
  /** A request for `event` whose fields are each right (80%) or junk. */
  const shaped = (event: string, depth = 0): unknown => {
    const maybe = (right: () => unknown) => (r() < 0.8 ? right() : value(depth + 1));
    if (event === 'session:hello') return { protocol: maybe(() => PROTOCOL_VERSION), clientKind: maybe(() => 'node'), backend: maybe(() => 'cpu'), clientId: maybe(() => 'fuzz'), capabilities: maybe(() => ({ cores: 2 })) };
    if (event === 'weights:pull') return { version: maybe(() => (int(3) === 0 ? 'latest' : int(5) - 1)) };
    return {
      updateId: maybe(() => `fuzz-${int(1e6)}`), baseVersion: maybe(() => int(4) - 1), examples: maybe(() => int(100) - 10),
      metrics: maybe(() => ({ loss: r() })), delta: maybe(() => (int(2) ? mutated() : bytes(int(4096)))),
    };
  };
  return { value, shaped, int, pick };
}

/** Rough wire size of emitted arguments: JSON text plus binary attachments. */
function approxBytes(args: unknown[]): number {
  let binary = 0;
  const text = JSON.stringify(args, (_k, v) => {
    if (v instanceof Uint8Array) {
      binary += v.length;
      return 0;
    }
    return v;
  }) ?? '';
  return text.length * 3 + binary + 256;
}

describe('fuzzed client input', () => {
  let srv: Srv;
  let before: Uint8Array;
  let glwt: Uint8Array;

  beforeAll(async () => {
    // The stranger socket must stay unacquainted for the whole run, however slow the machine: no
    // hello deadline here (payload-bounds.test.ts tests the deadline).
    srv = await startTiny({ aggregation: { bufferSize: 1000 }, helloTimeoutMs: 600_000 });
    const c = await connectClient(srv.url);
    glwt = encodeWeights(randomDelta(onlineOnly((await c.pullWeights(0)).weights) as WeightMap, 1));
    c.close();
    before = (await srv.coordinator.pull('latest') as { bytes: Uint8Array }).bytes;
  });
  afterAll(async () => {
    await srv.cleanup();
  });

  it('600 junk requests: every answer is a protocol rejection, never internal; the model is untouched', async () => {
    const open = (): Promise<Socket> => new Promise((resolve, reject) => {
      const s = ioClient(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true });
      s.on('connect', () => resolve(s));
      s.on('connect_error', reject);
    });
    const maxBytes = srv.coordinator.plan().maxMessageBytes;
    const greeted = await open();
    expect(await greeted.timeout(5000).emitWithAck('session:hello', { protocol: PROTOCOL_VERSION, clientKind: 'node', backend: 'cpu', clientId: 'fuzz-greeted' })).toMatchObject({ ok: true });
    const stranger = await open();
    const j = junkFactory(20261129, glwt);
    const answers: Array<{ event: string; ack: unknown }> = [];
    for (let i = 0; i < 600; i++) {
      expect([greeted.connected, stranger.connected], `a socket was dropped before request ${i}: ${JSON.stringify(answers.slice(-1)).slice(0, 300)}`).toEqual([true, true]);
      const socket = i % 3 === 0 ? stranger : greeted;
      const event = j.pick(['session:hello', 'weights:pull', 'delta:submit', 'delta:submit', 'no:such:event']);
      const args = j.int(2) ? [j.shaped(event)] : Array.from({ length: j.int(3) }, () => j.value(0));
      // Oversized messages close the connection by design (maxHttpBufferSize, tested in
      // bad-inputs.test.ts); junk stays under the limit so every request here gets an answer.
      if (approxBytes(args) > maxBytes * 0.8) continue;
      if (j.int(10) === 0 || event === 'no:such:event') {
        socket.emit(event, ...args); // no ack: must be ignored, not crash anything
        continue;
      }
      try {
        answers.push({ event, ack: await socket.timeout(5000).emitWithAck(event, ...args) });
      } catch (e) {
        answers.push({ event, ack: `no answer: ${(e as Error).message}` });
      }
    }
    const codes = new Set<string>(REJECT_CODES);
    const unexpected = answers.filter(({ event, ack }) => {
      const a = ack as { ok?: unknown; code?: unknown; reason?: unknown } | undefined;
      if (a?.ok === true) return event === 'delta:submit'; // a junk delta must never be accepted
      return !(a?.ok === false && typeof a.code === 'string' && codes.has(a.code) && a.code !== 'internal' && typeof a.reason === 'string');
    });
    expect(unexpected.slice(0, 5)).toEqual([]);
    expect(answers.length).toBeGreaterThan(400);
    // Both sockets still work, and so does the server.
    expect(await greeted.timeout(5000).emitWithAck('weights:pull', { version: 'latest' })).toMatchObject({ ok: true, version: 0 });
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    expect(srv.coordinator.version).toBe(0);
    expect(srv.coordinator.bufferFill).toBe(0);
    const now = (await srv.coordinator.pull('latest') as { bytes: Uint8Array }).bytes;
    expect(Buffer.compare(Buffer.from(now), Buffer.from(before))).toBe(0);
    greeted.close();
    stranger.close();
  });
});
