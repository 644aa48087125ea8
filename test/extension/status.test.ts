/**
 * What the trainer reports as a real server stops and refuses (the popup's states come from
 * these reports): connected while training; 'server-down' as soon as the server goes away (not
 * after the next round); 'server-down' again when a reconnect finds nothing; 'token-refused'
 * from a server that wants a token; and the HTTP probe that tells a server refusing this
 * browser's Origin from one that is down.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Lease, TrainerReport } from '../../extension/common/messages';
import { connectFederation } from '../../extension/offscreen/connect';
import { classifyConnectFailure, ConnectError } from '../../extension/offscreen/connect-error';
import { Contributor, type TrainerRemote } from '../../extension/offscreen/contributor';
import { ImageBuffer } from '../../extension/offscreen/image-buffer';
import { KEEP_SIZE } from '../../extension/offscreen/resize';
import { FederationError } from '../../shared/protocol/client';
import { startTiny } from '../server/helpers';

const trainer: TrainerRemote = {
  async initBackend() { return 'cpu'; },
  async init() { return { backend: 'cpu', inputSize: 16, channels: 3, deltaValues: 5 }; },
  async setWeights() { return { tensors: 1 }; },
  async train(_p, steps) { return { losses: Array(steps).fill(1), msPerStep: 1, examples: 8, backend: 'cpu', numTensors: 0 }; },
  // Not GLWT: the server answers 'bad_encoding' and the loop goes on to the next round.
  async getDelta() { return new ArrayBuffer(16); },
};

const until = async (what: string, cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('trainer status against a real server', () => {
  it('connected → server-down at once when it stops → server-down on reconnect → token-refused', async () => {
    const srv = await startTiny({ contributorTokens: ['tok-0001'] });
    const buffer = await ImageBuffer.open('status', undefined, new IDBFactory());
    for (let i = 0; i < 8; i++) await buffer.add(`u${i}`, KEEP_SIZE, new Uint8Array(KEEP_SIZE * KEEP_SIZE * 3));
    let lease: Lease = { ok: true, serverUrl: srv.url, token: 'tok-0001', budgetMs: 1e6, backend: 'auto' };
    const reports: TrainerReport[] = [];
    const c = new Contributor({
      policy: { lease: async () => lease, report: async (r) => void reports.push(r) },
      buffer, trainer, connect: connectFederation, load: async () => new Uint8Array(0), clientId: 'status-test',
      // Long waits: every report below comes from an event, not from the loop coming round again.
      idleWaitMs: 60_000, roundGapMs: 60_000, refusedWaitMs: 60_000,
    });
    const running = c.run();
    try {
      await until('a round', () => reports.some((r) => r.round?.submitted));
      const last = () => reports.at(-1)!;
      expect(last()).toMatchObject({ connected: true, waiting: null });
      const stoppedAt = Date.now();
      const url = srv.url;
      await srv.cleanup();
      await until('server-down reported', () => last().waiting?.code === 'server-down');
      expect(last().connected).toBe(false);
      expect(Date.now() - stoppedAt).toBeLessThan(5000);

      c.wake(); // the loop tries again: nothing answers there now
      const n = reports.length;
      await until('a failed reconnect', () => reports.length > n && /cannot reach the server/.test(last().lastError ?? ''));
      expect(last().waiting?.code).toBe('server-down');

      const srv2 = await startTiny({ contributorTokens: ['tok-0001'] });
      try {
        lease = { ...lease, serverUrl: srv2.url, token: '' };
        c.wake();
        await until('token-refused', () => last().waiting?.code === 'token-refused');
        expect(last().connected).toBe(false);
        lease = { ...lease, token: 'tok-0001' };
        c.wake();
        await until('training again', () => last().waiting === null && last().connected);
      } finally {
        c.stop();
        await running;
        await srv2.cleanup();
      }
      expect(url).not.toBe(srv2.url);
    } finally {
      c.stop();
      await running;
      buffer.close();
    }
  });

  it('tells a server that refuses this browser from one that is down, by asking its HTTP status', async () => {
    const srv = await startTiny();
    try {
      const refused = await classifyConnectFailure(new FederationError('connect_failed', 'websocket error'), srv.url);
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).code).toBe('origin-refused');
    } finally {
      await srv.cleanup();
    }
    const down = await classifyConnectFailure(new FederationError('connect_failed', 'websocket error'), srv.url);
    expect((down as ConnectError).code).toBe('server-down');
    const token = await classifyConnectFailure(new FederationError('unauthorized', 'unauthorized'), srv.url);
    expect((token as ConnectError).code).toBe('token-refused');
  });
});
