/**
 * The whole federation on one machine: a real server and two real contributor processes
 * (`glimpse contribute`) on the committed fixture, talking Socket.IO over loopback. The global
 * version must advance, every accepted update must be folded, and the federated encoder's kNN
 * accuracy (the server's own evaluator) must beat the random-init encoder's.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createKnnEvaluator } from '../../server/eval/knn-evaluator';
import { startServer, type RunningServer } from '../../server/server';

const CONTRIBUTOR = fileURLToPath(new URL('../../scripts/glimpse.ts', import.meta.url));
const ROUNDS = 6;

function contribute(url: string, shard: string, seed: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CONTRIBUTOR, 'contribute', '--server', url, '--shard', shard, '--non-iid', '1', '--data', 'fixture', '--rounds', String(ROUNDS), '--seed', String(seed), '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

let server: RunningServer | undefined;
const evaluator = createKnnEvaluator({ data: 'fixture', trainCount: 2000, testCount: 1000 });
afterAll(async () => {
  await server?.close();
  evaluator.close();
});

describe('federated pretraining end to end', () => {
  it('two contributor processes advance the global model, and it beats the random-init encoder', async () => {
    const evals = new Map<number, Record<string, number>>();
    server = await startServer({
      port: 0, dataDir: await mkdtemp(join(tmpdir(), 'glimpse-fed-')), // Evaluator failures would otherwise be silent here.
      log: (line) => { if (/evaluat/.test(line)) console.log(line); },
      method: 'simclr',
      // Global pooling (poolGrid 1), as this test was calibrated: the 2×2-grid default lifts the
      // random-init kNN of this small encoder by ~14 points and leaves a 6-round run within noise of it.
      methodConfig: { encoder: { widths: [16, 16, 32], stemWidth: 16, poolGrid: 1 }, projectionHidden: 128, projectionDim: 64 },
      localSteps: 10, batchSize: 32,
      aggregation: { bufferSize: 2 },
      evaluator,
    });
    server.events.on('eval:recorded', (e) => evals.set(e.version, e.metrics));
    let accepted = 0;
    let folded = 0;
    server.events.on('update:accepted', () => accepted++);
    server.events.on('version:created', (s) => (folded += s.updates.length));

    const results = await Promise.all([contribute(server.url, '1/2', 1), contribute(server.url, '2/2', 2)]);
    for (const r of results) {
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(new RegExp(`done: ${ROUNDS} rounds, ${ROUNDS} accepted, 0 rejected`));
    }
    // K = 2: twelve accepted updates make six server steps, and each one folded both of its updates.
    expect(accepted).toBe(2 * ROUNDS);
    expect(server.coordinator.version).toBe(ROUNDS);
    expect(folded).toBe(2 * ROUNDS);

    // Evaluations run off the aggregation path, newest version first; wait for the last one.
    const deadline = Date.now() + 60_000;
    while (!evals.has(ROUNDS) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const random = evals.get(0)!.knn_top1;
    const federated = evals.get(ROUNDS)!.knn_top1;
    const { rawPixel } = await evaluator.ready;
    console.log(`kNN on the fixture: raw pixels ${(rawPixel * 100).toFixed(1)}%, random init ${(random * 100).toFixed(1)}%, federated v${ROUNDS} ${(federated * 100).toFixed(1)}%`);
    expect(federated).toBeGreaterThan(random + 0.02);

    const status = await (await fetch(`${server.url}/api/status`)).json();
    expect(status.version).toBe(ROUNDS);
  }, 300_000);
});
