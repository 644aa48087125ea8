/**
 * The dashboard's history tables and queries: admin actions, thinned resource samples, and the
 * staleness / update-norm histograms over the run's updates (read through the update log).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StepSummary } from '../../../server/aggregation/fedbuff';
import { bucketStart, normBucket } from '../../../server/dashboard/protocol';
import {
  initDashboardTables, normHistogram, pruneSamples, recentAdminActions, recordAdminAction, recordSample, sampleHistory,
} from '../../../server/dashboard/store';
import { openDatabase } from '../../../server/store/db';
import { recordStep } from '../../../server/store/history';
import { stalenessHistogram } from '../../../server/store/update-queries';
import { tempDir } from '../helpers';

describe('dashboard store', () => {
  const t = tempDir();
  const db = openDatabase(join(t.dir, 'glimpse.db'));
  initDashboardTables(db);
  initDashboardTables(db); // idempotent
  afterAll(() => {
    db.close();
    t.cleanup();
  });

  it('buckets norms by quarter decades', () => {
    expect(normBucket(1)).toBe(0);
    expect(normBucket(10)).toBe(4);
    expect(normBucket(0.99)).toBe(-1);
    expect(normBucket(1.78)).toBe(1);
    expect(normBucket(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normBucket(Number.NaN)).toBe(Number.NEGATIVE_INFINITY);
    expect(bucketStart(4)).toBeCloseTo(10);
    for (const x of [0.003, 0.5, 7, 1234]) expect(bucketStart(normBucket(x))).toBeLessThanOrEqual(x * (1 + 1e-12));
  });

  it('histograms staleness of folded updates and norms of every accepted update', () => {
    const ins = db.prepare(`INSERT INTO updates (update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, status) VALUES (?, 'c', ?, 8, 1, ?, 0, ?, 'pending')`);
    const norms = [0.5, 0.6, 2, 2.5, 30, 0];
    norms.forEach((n, i) => ins.run(`u${i}`, 0, n, i));
    const step = (version: number, ids: string[], staleness: number[]): StepSummary => ({
      version, at: version, contributors: 1, examples: 8 * ids.length, meanLoss: 1, meanNorm: 1, meanStaleness: 0, maxStaleness: 0, aggregateNorm: 1, emaMomentum: null, durationMs: 1,
      updates: ids.map((updateId, i) => ({ updateId, contributorId: 'c', baseVersion: 0, staleness: staleness[i], weight: 1, examples: 8, loss: 1, norm: 1, clipped: false })),
    });
    recordStep(db, step(1, ['u0', 'u1'], [0, 0]));
    recordStep(db, step(2, ['u2', 'u3', 'u4'], [1, 0, 3]));
    // u5 is still pending: no staleness yet, and its zero norm has no bucket.
    expect(stalenessHistogram(db)).toEqual([[0, 3], [1, 1], [3, 1]]);
    // 0.5 → ⌊4·log10 0.5⌋ = −2, 0.6 → −1, 2 and 2.5 → 1, 30 → 5.
    expect(normHistogram(db)).toEqual([[-2, 1], [-1, 1], [1, 2], [5, 1]]);
  });

  it('logs admin actions newest first', () => {
    recordAdminAction(db, { at: 1, action: 'pause', target: null, actor: 'dashboard 127.0.0.1', ok: true, detail: 'paused' });
    const r = recordAdminAction(db, { at: 2, action: 'revoke', target: 'abc', actor: 'api ::1', ok: false, detail: 'x'.repeat(5000) });
    expect(r.id).toBeGreaterThan(0);
    const rows = recentAdminActions(db);
    expect(rows.map((a) => [a.action, a.ok])).toEqual([['revoke', false], ['pause', true]]);
    expect(rows[0].detail).toHaveLength(1000);
    expect(recentAdminActions(db, 1)).toHaveLength(1);
  });

  it('thins long sample histories to a bounded size, newest always kept', () => {
    const s = (at: number) => ({ at, cpu: 0.5, rssBytes: 1, heapBytes: 1, lagMeanMs: 0, lagP99Ms: 0, lagMaxMs: 0, bytesIn: at, bytesOut: at, contributors: 1 });
    for (let i = 1; i <= 10; i++) recordSample(db, s(i * 1000));
    expect(sampleHistory(db).map((x) => x.at)).toHaveLength(10);
    const thin = sampleHistory(db, 4).map((x) => x.at);
    expect(thin).toEqual([1000, 4000, 7000, 10_000]);
    expect(sampleHistory(db, 3).at(-1)!.at).toBe(10_000);
    expect(sampleHistory(db, 3).length).toBeLessThanOrEqual(3);
  });

  it('prunes samples older than the full-resolution window to one per coarse bucket', () => {
    const s = (at: number) => ({ at, cpu: 0.5, rssBytes: 1, heapBytes: 1, lagMeanMs: 0, lagP99Ms: 0, lagMaxMs: 0, bytesIn: at, bytesOut: at, contributors: 1 });
    db.exec('DELETE FROM server_samples'); // this file shares one database
    // Every 5 s over 10 minutes: 120 samples at 0, 5000, …, 595000.
    for (let at = 0; at < 600_000; at += 5000) recordSample(db, s(at));
    // Keep the last 2 minutes whole (at >= 480000, 24 rows); thin the 8 minutes before to 1 a minute.
    expect(pruneSamples(db, 600_000, { fullResolutionMs: 120_000, coarseMs: 60_000 })).toBe(96 - 8);
    const left = sampleHistory(db, 1000).map((x) => x.at);
    expect(left.filter((at) => at < 480_000)).toEqual([0, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000]);
    expect(left.filter((at) => at >= 480_000)).toHaveLength(24);
    expect(pruneSamples(db, 600_000, { fullResolutionMs: 120_000, coarseMs: 60_000 })).toBe(0);
  });
});
