/**
 * Issue 13's operator surface on a real server: /api/status says which robust rule and DP setting
 * run (and the public page says "no DP" or ε plainly); the ε reported follows the RDP ledger and
 * survives a restart; a quarantined contributor is acknowledged but folded with weight 0 until
 * released; a contributor that keeps pulling against the others is flagged.
 */
import { describe, expect, it } from 'vitest';
import type { WeightMap } from '../../shared/weights/weight-map';
import { charge, EMPTY_LEDGER, epsilonOf } from '../../server/aggregation/rdp-accountant';
import { connectClient, onlineOnly, randomDelta, startTiny, tempDir } from './helpers';

const TOKENS = ['guard-aaaa', 'guard-bbbb', 'guard-cccc'];
const get = async (url: string, token?: string) => (await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {})).json() as Promise<Record<string, any>>;
const post = (url: string, token: string, body: unknown) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const neg = (m: WeightMap): WeightMap => new Map([...m].map(([n, t]) => [n, { shape: t.shape, data: t.data.map((x) => -x) }]));

describe('robust and DP status, public page', () => {
  it('an open server runs centered clipping and says "no DP"; with tokens the default is the plain mean', async () => {
    const open = await startTiny();
    try {
      const s = await get(`${open.url}/api/status`);
      expect(s.robust).toMatchObject({ rule: 'centered-clip', bucketSize: 2, normGuard: { mode: 'clip', contributors: 0, floor: 0.01 } });
      expect(s.dp).toEqual({ enabled: false });
      expect(await (await fetch(`${open.url}/`)).text()).toMatch(/id="privacy">no DP/);
    } finally {
      await open.cleanup();
    }
    const closed = await startTiny({ contributorTokens: TOKENS });
    try {
      expect((await get(`${closed.url}/api/status`)).robust.rule).toBe('none');
    } finally {
      await closed.cleanup();
    }
  });

  it('with DP, ε at δ follows the RDP ledger step by step, across a restart', async () => {
    const data = tempDir();
    const dp = { clip: 0.5, noiseMultiplier: 2, delta: 1e-5 };
    const start = () => startTiny({ dataDir: data.dir, aggregation: { bufferSize: 1, maxStaleness: 100, dp } });
    try {
      let srv = await start();
      let c = await connectClient(srv.url);
      const online = onlineOnly((await c.pullWeights(0)).weights);
      for (let v = 0; v < 2; v++) {
        await c.submitDelta({ baseVersion: v, examples: 4, delta: randomDelta(online, v) });
        await srv.coordinator.flush();
      }
      const expected = (n: number) => Math.round(epsilonOf(charge(EMPTY_LEDGER, 2, n), 1e-5).epsilon * 1000) / 1000;
      expect((await get(`${srv.url}/api/status`)).dp).toMatchObject({ enabled: true, epsilon: expected(2), delta: 1e-5, clip: 0.5, noiseMultiplier: 2, steps: 2 });
      c.close();
      await srv.close();
      srv = await start();
      c = await connectClient(srv.url);
      await c.submitDelta({ baseVersion: 2, examples: 4, delta: randomDelta(online, 9) });
      await srv.coordinator.flush();
      expect((await get(`${srv.url}/api/status`)).dp).toMatchObject({ steps: 3, epsilon: expected(3) });
      expect((await get(`${srv.url}/api/status`)).robust.rule).toBe('dp+centered-clip');
      expect(await (await fetch(`${srv.url}/`)).text()).toContain(`client-level DP: ε = ${expected(3)} at δ = 0.00001`);
      c.close();
      await srv.close();
    } finally {
      data.cleanup();
    }
  });
});

describe('quarantine and accountability', () => {
  it('a quarantined contributor is acked and logged but folded with weight 0, until released', async () => {
    const srv = await startTiny({ contributorTokens: TOKENS, aggregation: { bufferSize: 2, maxStaleness: 100, robust: { kind: 'none' } } });
    const [a, b] = await Promise.all(TOKENS.slice(0, 2).map((token, i) => connectClient(srv.url, { token, clientId: `who-${i}` })));
    try {
      const online = onlineOnly((await a.pullWeights(0)).weights);
      const admin = srv.adminToken;
      expect((await post(`${srv.url}/api/admin/quarantine`, admin, { contributorId: 42 })).status).toBe(400);
      expect((await post(`${srv.url}/api/admin/quarantine`, 'x'.repeat(20), { contributorId: 'who-1' })).status).toBe(401);
      expect((await post(`${srv.url}/api/admin/quarantine`, admin, { contributorId: 'who-1', reason: 'test' })).status).toBe(200);
      const da = randomDelta(online, 1);
      expect(await a.submitDelta({ baseVersion: 0, examples: 4, delta: da })).toMatchObject({ ok: true });
      expect(await b.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(online, 2, 1) })).toMatchObject({ ok: true, status: 'accepted' });
      await srv.coordinator.settled();
      expect(srv.coordinator.version).toBe(1);
      const last = srv.coordinator.lastAggregation!;
      expect(last.updates.map((u) => [u.contributorId, u.weight, u.quarantined ?? false])).toEqual([['who-0', 1, false], ['who-1', 0, true]]);
      const v1 = onlineOnly((await a.pullWeights(1)).weights);
      for (const [n, t] of da) expect(v1.get(n)!.data[0]).toBeCloseTo(online.get(n)!.data[0] + t.data[0], 6);
      const acc = await get(`${srv.url}/api/admin/accountability`, admin);
      expect(acc.quarantined).toMatchObject([{ contributorId: 'who-1', reason: 'test' }]);
      expect((await post(`${srv.url}/api/admin/release`, admin, { contributorId: 'who-1' })).status).toBe(200);
      expect((await post(`${srv.url}/api/admin/release`, admin, { contributorId: 'who-1' })).status).toBe(404);
      await a.submitDelta({ baseVersion: 1, examples: 4, delta: randomDelta(online, 3) });
      await b.submitDelta({ baseVersion: 1, examples: 4, delta: randomDelta(online, 4) });
      await srv.coordinator.settled();
      expect(srv.coordinator.lastAggregation!.updates.every((u) => u.weight === 0.5 && !u.quarantined)).toBe(true);
    } finally {
      a.close();
      b.close();
      await srv.cleanup();
    }
  });

  it('a contributor that keeps pulling against the others is flagged (median rule, 3 steps)', async () => {
    const srv = await startTiny({ contributorTokens: TOKENS, aggregation: { bufferSize: 3, maxStaleness: 100, robust: { kind: 'median' } } });
    const cs = await Promise.all(TOKENS.map((token, i) => connectClient(srv.url, { token, clientId: `who-${i}` })));
    try {
      const online = onlineOnly((await cs[0].pullWeights(0)).weights);
      const common = randomDelta(online, 7);
      for (let v = 0; v < 3; v++) {
        await Promise.all([
          cs[0].submitDelta({ baseVersion: v, examples: 4, delta: common }),
          cs[1].submitDelta({ baseVersion: v, examples: 4, delta: common }),
          cs[2].submitDelta({ baseVersion: v, examples: 4, delta: neg(common) }),
        ]);
        await srv.coordinator.settled();
      }
      expect(srv.coordinator.version).toBe(3);
      const rows = (await get(`${srv.url}/api/admin/accountability`, srv.adminToken)).contributors as Array<Record<string, any>>;
      expect(rows[0]).toMatchObject({ contributorId: 'who-2', steps: 3, outvoted: 3, flag: expect.stringMatching(/outvoted in 3 of 3/) });
      expect(rows.filter((r) => r.flag !== null)).toHaveLength(1);
      expect(rows.find((r) => r.contributorId === 'who-0')!.cosine).toBeCloseTo(1, 5);
    } finally {
      for (const c of cs) c.close();
      await srv.cleanup();
    }
  });
});
