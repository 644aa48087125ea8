/**
 * The per-contributor submission rate limit: the token bucket itself (injected clock), the
 * config check, a real server answering 'rate_limited' per token with the wait (model untouched,
 * rejection recorded), and the contributor loop offering the same delta again after the wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../../server/core/rate-limit';
import { resolveConfig } from '../../../server/config';
import { ConfigError } from '../../../server/errors';
import { initNodeBackend } from '../../../shared/backends/node-backend';
import { runContributor, type RoundReport } from '../../../shared/contributor/loop';
import { FederationClient } from '../../../shared/protocol/client';
import { connectClient, onlineOnly, randomDelta, rng, startTiny } from '../helpers';

describe('createRateLimiter', () => {
  it('admits a burst, then one per interval, with the exact wait; keys are independent', () => {
    let t = 0;
    const rl = createRateLimiter({ perMinute: 6, burst: 2 }, () => t); // one token per 10 s
    expect(rl.take('a')).toEqual({ ok: true });
    expect(rl.take('a')).toEqual({ ok: true });
    expect(rl.take('a')).toEqual({ ok: false, retryAfterMs: 10_000 });
    expect(rl.take('b')).toEqual({ ok: true });
    t = 4000;
    expect(rl.take('a')).toEqual({ ok: false, retryAfterMs: 6000 });
    t = 10_000;
    expect(rl.take('a')).toEqual({ ok: true });
    expect(rl.take('a').ok).toBe(false);
    // A long pause refills to the burst, never beyond.
    t = 10_000_000;
    expect([rl.take('a').ok, rl.take('a').ok, rl.take('a').ok]).toEqual([true, true, false]);
  });

  it('forgets keys whose bucket has refilled, so memory follows the active contributors', () => {
    let t = 0;
    const rl = createRateLimiter({ perMinute: 60 }, () => t); // burst 10
    for (let i = 0; i < 1000; i++) rl.take(`k${i}`);
    expect(rl.size()).toBe(1000);
    t = 60_000;
    for (let i = 0; i < 30; i++) rl.take('fresh'); // the 1024th take sweeps
    expect(rl.size()).toBe(1);
  });

  it('is validated in the server config', () => {
    expect(() => resolveConfig({ rateLimit: { perMinute: 0 } })).toThrow(ConfigError);
    expect(() => resolveConfig({ rateLimit: { perMinute: Number.NaN } })).toThrow(/per minute/);
    expect(() => resolveConfig({ rateLimit: { perMinute: 10, burst: 0.5 } })).toThrow(/burst/);
    expect(resolveConfig({ rateLimit: false }).rateLimit).toBeNull();
    expect(resolveConfig({ rateLimit: { perMinute: 10 } }).rateLimit).toEqual({ perMinute: 10 });
  });
});

describe('a rate-limited server', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });

  it("refuses a token's submissions past its burst with 'rate_limited' and the wait; other tokens and duplicates are unaffected", async () => {
    const srv = await startTiny({ contributorTokens: ['token-aaaaaaaa', 'token-bbbbbbbb'], rateLimit: { perMinute: 1, burst: 2 }, aggregation: { bufferSize: 100 } });
    try {
      const a = await connectClient(srv.url, { token: 'token-aaaaaaaa' });
      const a2 = await connectClient(srv.url, { token: 'token-aaaaaaaa', clientId: 'another-id-same-token' });
      const b = await connectClient(srv.url, { token: 'token-bbbbbbbb' });
      const { weights } = await a.pullWeights(0);
      const online = onlineOnly(weights);
      const submit = (c: FederationClient, seed: number, updateId?: string) => c.submitDelta({ updateId, baseVersion: 0, examples: 8, delta: randomDelta(online, seed) });

      expect(await submit(a, 1, 'u-1')).toMatchObject({ ok: true, status: 'accepted' });
      expect(await submit(a2, 2)).toMatchObject({ ok: true, status: 'accepted' }); // same token, new clientId: same bucket
      const refused = await submit(a, 3);
      expect(refused).toMatchObject({ ok: false, code: 'rate_limited', reason: expect.stringMatching(/1 submissions per minute \(burst 2\); retry in \d+ s/) });
      expect(!refused.ok && refused.retryAfterMs).toBeGreaterThan(50_000);
      expect(await submit(a, 1, 'u-1')).toMatchObject({ ok: true, status: 'duplicate' }); // a retry is answered
      expect(await submit(b, 4)).toMatchObject({ ok: true, status: 'accepted' });

      expect(srv.coordinator.bufferedIds()).toHaveLength(3);
      const rows = srv.coordinator.db.prepare("SELECT COUNT(*) FROM rejections WHERE code = 'rate_limited'").pluck().get();
      expect(rows).toBe(1);
      for (const c of [a, a2, b]) c.close();
    } finally {
      await srv.cleanup();
    }
  });

  it('the contributor loop waits as told and offers the same delta again instead of discarding the round', async () => {
    // One submission every 1.5 s after the first; a tiny round takes far less, so rounds 2 and 3 are refused first.
    const srv = await startTiny({ rateLimit: { perMinute: 40, burst: 1 }, aggregation: { bufferSize: 1 }, localSteps: 1, batchSize: 4 });
    try {
      const client = new FederationClient({ url: srv.url, clientKind: 'node', backend: 'wasm' });
      const r = rng(7);
      const rounds: RoundReport[] = [];
      const logs: string[] = [];
      const summary = await runContributor({
        client, maxRounds: 3, sample: (n, size) => Float32Array.from({ length: n * size * size * 3 }, () => r()),
        onRound: (x) => rounds.push(x), log: (l) => logs.push(l),
      });
      client.close();
      expect(summary).toEqual({ rounds: 3, accepted: 3, rejected: 0 });
      expect(logs.filter((l) => /rate_limited; resubmitting in \d/.test(l)).length).toBeGreaterThanOrEqual(1);
      await expect.poll(() => srv.coordinator.version, { timeout: 10_000 }).toBe(3); // the last fold may still be running
      const refused = srv.coordinator.db.prepare("SELECT COUNT(*) FROM rejections WHERE code = 'rate_limited'").pluck().get() as number;
      expect(refused).toBeGreaterThanOrEqual(1);
    } finally {
      await srv.cleanup();
    }
  });
});
