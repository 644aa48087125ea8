/**
 * Issue 13, failure 1: one contributor must not be able to move the norm guard's bound. Before
 * per-contributor statistics, 33 accepted deltas of ±1e-9 from one contributor dragged the
 * window's median to ~1e-7, and every honest delta after it was shrunk to nothing (clip mode) or
 * refused (reject mode), also after a restart. Real server, real sockets, real restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederationClient } from '../../shared/protocol/client';
import type { WeightMap } from '../../shared/weights/weight-map';
import { l2NormOf, scaled } from '../../server/aggregation/fold';
import { connectClient, onlineOnly, randomDelta, startTiny, tempDir } from './helpers';

const TOKENS = ['honest-aaaa', 'honest-bbbb', 'honest-cccc', 'attacker-dddd'];

/** All entries ±1e-9: the tiny-norm poisoning delta. */
function tinyDelta(like: WeightMap, seed: number): WeightMap {
  const d = randomDelta(like, seed, 1);
  for (const t of d.values()) for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i] >= 0 ? 1e-9 : -1e-9;
  return d;
}

function honestDelta(like: WeightMap, seed: number, norm = 0.44): WeightMap {
  const d = randomDelta(like, seed, 1);
  return scaled(d, norm / l2NormOf(d));
}

async function within(srv: Awaited<ReturnType<typeof startTiny>>, f: (cs: FederationClient[]) => Promise<void>) {
  const cs = await Promise.all(TOKENS.map((token) => connectClient(srv.url, { token })));
  try {
    await f(cs);
  } finally {
    for (const c of cs) c.close();
  }
}

describe.each(['clip', 'reject'] as const)('norm guard (%s mode): one contributor cannot neuter the others', (mode) => {
  const data = tempDir();
  const start = () => startTiny({
    dataDir: data.dir, contributorTokens: TOKENS,
    aggregation: { bufferSize: 1000, maxStaleness: 1000, robust: { kind: 'none' }, normGuard: { maxNorm: 1e4, medianMultiple: 10, window: 64, minHistory: 3, mode } },
  });
  let online: WeightMap;
  afterAll(() => data.cleanup());

  beforeAll(async () => {
    const srv = await start();
    try {
      await within(srv, async (cs) => {
        online = onlineOnly((await cs[0].pullWeights(0)).weights);
        // Honest history: three contributors, two deltas each of norm ~0.44.
        for (let i = 0; i < 6; i++) expect((await cs[i % 3].submitDelta({ baseVersion: 0, examples: 16, delta: honestDelta(online, 100 + i, 0.4 + 0.02 * i) })).ok).toBe(true);
        // The attack: 33 accepted deltas of ±1e-9 from one contributor.
        for (let i = 0; i < 33; i++) {
          expect(await cs[3].submitDelta({ baseVersion: 0, examples: 1, delta: tinyDelta(online, 200 + i) })).toMatchObject({ ok: true, clipped: false });
        }
      });
    } finally {
      await srv.close();
    }
  });

  async function honestIsAppliedInFull(seed: number) {
    const srv = await start();
    try {
      await within(srv, async (cs) => {
        await srv.coordinator.flush();
        const v = srv.coordinator.version;
        const before = onlineOnly((await cs[0].pullWeights(v)).weights);
        const delta = honestDelta(online, seed);
        const ack = await cs[1].submitDelta({ baseVersion: v, examples: 16, delta });
        expect(ack).toMatchObject({ ok: true, status: 'accepted', clipped: false });
        await srv.coordinator.flush();
        const after = onlineOnly((await cs[0].pullWeights(v + 1)).weights);
        // FedAvg with server lr 1 and one fresh update: the global step is the delta itself.
        let worst = 0;
        for (const [name, t] of delta) {
          const a = after.get(name)!.data;
          const b = before.get(name)!.data;
          for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i] - t.data[i]));
        }
        expect(worst).toBeLessThan(1e-6);
      });
    } finally {
      await srv.close();
    }
  }

  it('an honest delta of norm 0.44 after the attack is applied at full size', () => honestIsAppliedInFull(300));

  it('still after a second restart (the statistics are persisted, and still per contributor)', async () => {
    await honestIsAppliedInFull(301);
    const srv = await start();
    try {
      const stats = srv.coordinator.guard.normStats();
      expect(stats.contributors).toBe(4);
      expect(stats.reference).toBeGreaterThan(0.3);
      expect(stats.perContributor.every((c) => c.count <= 8)).toBe(true);
    } finally {
      await srv.close();
    }
  });
});

describe('norm guard: the operator can reset the statistics', () => {
  it('POST /api/admin/norm-stats/reset forgets them, durably', async () => {
    const data = tempDir();
    const start = () => startTiny({ dataDir: data.dir, contributorTokens: TOKENS.slice(0, 3), aggregation: { bufferSize: 1000, normGuard: { maxNorm: 1e4, medianMultiple: 5, window: 16, minHistory: 3, mode: 'reject' } } });
    try {
      let srv = await start();
      const cs = await Promise.all(TOKENS.slice(0, 3).map((token) => connectClient(srv.url, { token })));
      const online = onlineOnly((await cs[0].pullWeights(0)).weights);
      for (let i = 0; i < 3; i++) expect((await cs[i].submitDelta({ baseVersion: 0, examples: 4, delta: honestDelta(online, 10 + i, 0.05) })).ok).toBe(true);
      expect(await cs[0].submitDelta({ baseVersion: 0, examples: 4, delta: honestDelta(online, 20, 1) })).toMatchObject({ ok: false, code: 'norm_too_large' });
      const auth = { authorization: `Bearer ${srv.adminToken}` };
      expect((await fetch(`${srv.url}/api/admin/norm-stats/reset`, { method: 'POST' })).status).toBe(401);
      const reset = await fetch(`${srv.url}/api/admin/norm-stats/reset`, { method: 'POST', headers: auth });
      expect(reset.status).toBe(200);
      expect(await reset.json()).toMatchObject({ ok: true, forgotten: 3 });
      for (const c of cs) c.close();
      await srv.close();
      srv = await start();
      expect(srv.coordinator.guard.normStats()).toMatchObject({ contributors: 0, reference: null });
      const c = await connectClient(srv.url, { token: TOKENS[0] });
      expect(await c.submitDelta({ baseVersion: 0, examples: 4, delta: honestDelta(online, 20, 1) })).toMatchObject({ ok: true, clipped: false });
      c.close();
      await srv.close();
    } finally {
      data.cleanup();
    }
  });
});

describe('norm guard: whom it counts', () => {
  it('on an open server, one address is one contributor however many client ids it claims', async () => {
    const srv = await startTiny({ aggregation: { bufferSize: 1000, maxStaleness: 1000 } });
    const cs = await Promise.all([0, 1, 2].map((i) => connectClient(srv.url, { clientId: `sybil-${i}` })));
    try {
      const online = onlineOnly((await cs[0].pullWeights(0)).weights);
      for (const [i, c] of cs.entries()) expect((await c.submitDelta({ baseVersion: 0, examples: 1, delta: tinyDelta(online, i) })).ok).toBe(true);
      expect(srv.coordinator.guard.normStats()).toMatchObject({ contributors: 1 });
      // Fewer than minHistory contributors: no relative bound, an honest delta passes whole.
      expect(await cs[0].submitDelta({ baseVersion: 0, examples: 4, delta: honestDelta(online, 5) })).toMatchObject({ ok: true, clipped: false });
    } finally {
      for (const c of cs) c.close();
      await srv.cleanup();
    }
  });
});
