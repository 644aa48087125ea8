/**
 * Runtime plan changes (POST /api/admin/plan): the derived bound on `examples` follows the new
 * plan, and the change survives a restart unless that start sets the field itself.
 */
import { describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server';
import type { ServerConfig } from '../../server/config';
import { connectClient, onlineOnly, randomDelta, tempDir, TINY_METHOD_CONFIG } from './helpers';

const ADMIN = 'admin-token-for-plan-tests-01';

describe('runtime plan changes', () => {
  it('move the examples bound with the plan and survive a restart, except where the new start says otherwise', async () => {
    const t = tempDir();
    const logs: string[] = [];
    const start = (extra: ServerConfig = {}) => startServer({
      port: 0, host: '127.0.0.1', dataDir: t.dir, method: 'byol', methodConfig: TINY_METHOD_CONFIG, adminToken: ADMIN, log: (l) => logs.push(l), ...extra,
    });
    const change = (srv: RunningServer, body: unknown) => fetch(`${srv.url}/api/admin/plan`, {
      method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    let srv = await start();
    try {
      expect(srv.coordinator.plan()).toMatchObject({ localSteps: 20, batchSize: 32, maxExamples: 2560 });
      expect((await change(srv, { localSteps: 50, optimizer: { kind: 'sgd', learningRate: 0.05 } })).status).toBe(200);
      expect(srv.coordinator.plan()).toMatchObject({ localSteps: 50, maxExamples: 6400, optimizer: { kind: 'sgd', learningRate: 0.05 } });
      // A 50-step round reports more examples than the old bound allowed; it is accepted now.
      const c = await connectClient(srv.url);
      const { weights } = await c.pullWeights(0);
      expect(await c.submitDelta({ baseVersion: 0, examples: 5000, delta: randomDelta(onlineOnly(weights), 1) })).toMatchObject({ ok: true, status: 'accepted' });
      c.close();
    } finally {
      await srv.close();
    }

    srv = await start();
    try {
      expect(srv.coordinator.plan()).toMatchObject({ localSteps: 50, batchSize: 32, maxExamples: 6400, optimizer: { kind: 'sgd', learningRate: 0.05 } });
      expect(logs).toContainEqual(expect.stringMatching(/plan restored from an earlier admin change: localSteps 50, clientOptimizer/));
      expect((await change(srv, { batchSize: 16 })).status).toBe(200);
    } finally {
      await srv.close();
    }

    // Flags of the new start win over the stored change; the rest of the change still applies.
    srv = await start({ localSteps: 5 });
    try {
      expect(srv.coordinator.plan()).toMatchObject({ localSteps: 5, batchSize: 16, maxExamples: 320, optimizer: { kind: 'sgd', learningRate: 0.05 } });
    } finally {
      await srv.close();
      t.cleanup();
    }
  });
});
