import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../server/store/db';
import {
  evalHistory, latestEval, recentRejections, recordEval, recordRejection, recordStep, rejectionCounts, totals, versionHistory,
} from '../../../server/store/history';
import { contributorStats, pendingUpdates, updatesOfVersion } from '../../../server/store/update-queries';
import { tempDir } from '../helpers';

describe('history', () => {
  const t = tempDir();
  afterAll(t.cleanup);

  it('records steps, rejections and evals and answers dashboard queries', () => {
    const db = openDatabase(join(t.dir, 'h.db'));
    const ins = db.prepare(`INSERT INTO updates (update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, status, delta_file) VALUES (?, ?, 0, 10, ?, 1, 0, ?, 'pending', 'f')`);
    ins.run('u1', 'alice', 1.5, 1);
    ins.run('u2', 'bob', 2.5, 2);
    ins.run('u3', 'alice', null, 3);
    recordStep(db, {
      version: 1, at: 10, contributors: 2, examples: 20, meanLoss: 2, meanNorm: 1, meanStaleness: 0, maxStaleness: 0, aggregateNorm: 0.5, emaMomentum: 0.99, durationMs: 1,
      updates: [
        { updateId: 'u1', contributorId: 'alice', baseVersion: 0, staleness: 0, weight: 0.5, examples: 10, loss: 1.5, norm: 1, clipped: false },
        { updateId: 'u2', contributorId: 'bob', baseVersion: 0, staleness: 0, weight: 0.5, examples: 10, loss: 2.5, norm: 1, clipped: false },
      ],
    });
    recordRejection(db, { at: 11, contributorId: 'eve', updateId: 'x', baseVersion: 0, serverVersion: 1, code: 'not_finite', reason: 'NaN' });
    recordEval(db, 1, { knn_top1: 0.42, bogus: NaN });
    expect(versionHistory(db)).toEqual([expect.objectContaining({ version: 1, numUpdates: 2, contributors: 2, meanLoss: 2 })]);
    expect(updatesOfVersion(db, 1).map((u) => [u.updateId, u.weight, u.status])).toEqual([['u1', 0.5, 'applied'], ['u2', 0.5, 'applied']]);
    expect(pendingUpdates(db).map((u) => u.updateId)).toEqual(['u3']);
    expect(recentRejections(db)).toEqual([expect.objectContaining({ code: 'not_finite', reason: 'NaN' })]);
    expect(rejectionCounts(db)).toEqual({ not_finite: 1 });
    expect(evalHistory(db)).toEqual([{ version: 1, metric: 'knn_top1', value: 0.42, at: expect.any(Number) }]);
    expect(latestEval(db)).toMatchObject({ version: 1, metrics: { knn_top1: 0.42 } });
    expect(totals(db)).toEqual({ accepted: 3, applied: 2, pending: 1, rejected: 1, versions: 1 });
    expect(contributorStats(db).find((c) => c.contributorId === 'alice')).toMatchObject({ accepted: 2, applied: 1 });
    db.close();
  });
});
