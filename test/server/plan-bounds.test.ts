/**
 * Issue 13, failure 4: every admin-settable plan value has a range (server/core/plan-bounds.ts,
 * docs/protocol.md); out of range is a 400 naming the field, and the live plan is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../server/errors';
import { PLAN_BOUNDS } from '../../server/core/plan-bounds';
import { startTiny } from './helpers';

const ADMIN = 'admin-token-for-plan-bounds-01';

describe('plan bounds', () => {
  let srv: Awaited<ReturnType<typeof startTiny>>;
  beforeAll(async () => {
    srv = await startTiny({ adminToken: ADMIN });
  });
  afterAll(() => srv.cleanup());

  const change = (body: unknown) => fetch(`${srv.url}/api/admin/plan`, {
    method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });

  it.each([
    [{ optimizer: { kind: 'adam', learningRate: 1e308 } }, /optimizer\.learningRate/],
    [{ optimizer: { kind: 'adam', learningRate: 1e-12 } }, /optimizer\.learningRate/],
    [{ optimizer: { kind: 'sgd', learningRate: 0.1, weightDecay: 2 } }, /optimizer\.weightDecay/],
    [{ optimizer: { kind: 'sgd', learningRate: 0.1, weightDecay: -0.1 } }, /optimizer\.weightDecay/],
    [{ optimizer: { kind: 'lion', learningRate: 0.1 } }, /optimizer\.kind/],
    [{ localSteps: PLAN_BOUNDS.localSteps.max + 1 }, /localSteps/],
    [{ localSteps: 0 }, /localSteps/],
    [{ batchSize: PLAN_BOUNDS.batchSize.max + 1 }, /batchSize/],
    [{ batchSize: 2.5 }, /batchSize/],
  ])('%j is refused 400 with the field named', async (body, field) => {
    const before = srv.coordinator.plan();
    const r = await change(body);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(field);
    expect(srv.coordinator.plan()).toEqual(before);
  });

  it('the ends of every range are accepted', async () => {
    const B = PLAN_BOUNDS;
    expect((await change({ localSteps: B.localSteps.max, batchSize: B.batchSize.min, optimizer: { kind: 'sgd', learningRate: B.learningRate.max, weightDecay: B.weightDecay.max } })).status).toBe(200);
    expect(srv.coordinator.plan()).toMatchObject({ localSteps: B.localSteps.max, batchSize: B.batchSize.min, optimizer: { learningRate: B.learningRate.max, weightDecay: B.weightDecay.max } });
    expect((await change({ localSteps: 2, batchSize: 8, optimizer: { kind: 'adam', learningRate: B.learningRate.min, weightDecay: B.weightDecay.min } })).status).toBe(200);
  });

  it('a start outside the ranges is refused with the field named', async () => {
    await expect(startTiny({ clientOptimizer: { kind: 'adam', learningRate: 100 } })).rejects.toThrow(ConfigError);
    await expect(startTiny({ clientOptimizer: { kind: 'adam', learningRate: 100 } })).rejects.toThrow(/learningRate must be a number in 1e-9\.\.10, got 100/);
  });
});
