/**
 * Compressed updates end to end over real Socket.IO (issue 14): the plan says what the server
 * accepts and asks for; int8, float16 and sparse top-k deltas are accepted and folded as the dense
 * values they stand for; a pull `since` an older version answers a float16 difference that, added
 * to the client's copy, gives the new weights to float16 precision of the difference; a base the
 * server no longer keeps gets whole weights. The Node contributor loop uploads what the plan asks,
 * in synchronous rounds when told to wait for the next version.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runContributor, type RoundReport } from '../../shared/contributor/loop';
import { packUpload } from '../../shared/contributor/compression';
import type { FederationClient } from '../../shared/protocol/client';
import { DEFAULT_UPLOAD, parseUploadSpec } from '../../shared/protocol/compression';
import { encodeWeights } from '../../shared/weights/codec';
import { packTensor, unpackTensor } from '../../shared/weights/pack';
import type { WeightMap } from '../../shared/weights/weight-map';
import { connectClient, maxAbsDiff, onlineOnly, randomDelta, startTiny } from './helpers';

describe('compressed updates and downloads', () => {
  let srv: Awaited<ReturnType<typeof startTiny>>;
  let c: FederationClient;
  beforeAll(async () => {
    srv = await startTiny({ aggregation: { bufferSize: 3, stalenessExponent: 0, serverOptimizer: { kind: 'fedavg', lr: 1 } }, keepCheckpoints: 2 });
    c = await connectClient(srv.url);
  });
  afterAll(async () => {
    c?.close();
    await srv?.cleanup();
  });

  it('folds int8, float16 and top-k deltas as the values they stand for; pulls float16 differences', async () => {
    expect(c.plan.compression).toEqual({ accepts: ['float32', 'float16', 'int8'], sparse: true, positions: ['indices', 'bitmap'], upload: DEFAULT_UPLOAD, downloads: ['float32', 'float16'], diffs: true });
    const v0 = await c.pullWeights('latest');
    const online = onlineOnly(v0.weights);
    const specs = [parseUploadSpec('int8:block=64'), parseUploadSpec('fp16'), parseUploadSpec('fp32:topk=0.05')];
    const expected: WeightMap = new Map([...online].map(([n, t]) => [n, { shape: t.shape, data: new Float32Array(t.data.length) }]));
    for (const [i, up] of specs.entries()) {
      const delta = randomDelta(online, 10 + i);
      const { bytes } = packUpload(delta, null, { ...c.plan, compression: { ...c.plan.compression!, upload: up } }, 0);
      expect(bytes.length).toBeLessThan(encodeWeights(delta).length * 0.7) // tiny model: the JSON header is a large share;
      const ack = await c.submitDelta({ updateId: `packed-${i}`, baseVersion: 0, examples: 8, delta: bytes });
      expect(ack).toMatchObject({ ok: true });
      for (const [n, t] of delta) {
        const sent = unpackTensor(packTensor(t.data, t.shape, { dtype: up.dtype, block: up.block, topK: up.topK }));
        const acc = expected.get(n)!.data;
        for (let k = 0; k < acc.length; k++) acc[k] += sent[k] / 3;
      }
    }
    await c.waitForVersion(0);
    const v1 = await c.pullWeights(1);
    for (const [n, t] of online) {
      const want = t.data.map((x, k) => x + expected.get(n)!.data[k]);
      expect(maxAbsDiff(v1.weights.get(n)!.data, want), n).toBeLessThan(1e-6);
    }

    // A float16 difference from version 0, added to the client's copy of version 0.
    const pulled = await c.pullEncoded(1, { dtype: 'float16', since: 0 });
    expect(pulled.since).toBe(0);
    expect(pulled.bytes.length).toBeLessThan(encodeWeights(v1.weights).length * 0.7);
    const viaDiff = await c.pullWeights(1, { dtype: 'float16', base: v0 });
    for (const [n, t] of v1.weights) {
      const step = maxAbsDiff(t.data, v0.weights.get(n)!.data);
      expect(maxAbsDiff(viaDiff.weights.get(n)!.data, t.data), n).toBeLessThanOrEqual(step * 2 ** -10 + 1e-7);
    }
    // Nothing to difference against the same version: whole weights come back.
    expect((await c.pullEncoded(1, { since: 1 })).since).toBeUndefined();
  });

  it('answers whole weights when the base version is no longer kept', async () => {
    // Three more versions with keepCheckpoints 2: version 0 is gone from disk.
    const online = onlineOnly((await c.pullWeights('latest')).weights);
    for (let v = 1; v < 4; v++) {
      for (let i = 0; i < 3; i++) expect(await c.submitDelta({ updateId: `more-${v}-${i}`, baseVersion: v, examples: 8, delta: randomDelta(online, v * 10 + i) })).toMatchObject({ ok: true });
      await c.waitForVersion(v);
    }
    const r = await c.pullEncoded('latest', { dtype: 'float16', since: 0 });
    expect(r.since).toBeUndefined();
    expect(r.version).toBe(4);
  });

  it('the contributor loop uploads int8 with error feedback and, told to, trains once per version', async () => {
    await tf.setBackend('cpu');
    // An 8-pixel encoder: the cpu backend trains it in milliseconds.
    const methodConfig = { encoder: { inputSize: 8, channels: 3, stemWidth: 4, widths: [4], strides: [1], blocksPerStage: [1], norm: 'layer' }, projectionHidden: 8, projectionDim: 4 };
    const one = await startTiny({ methodConfig, localSteps: 1, batchSize: 2, aggregation: { bufferSize: 1 }, upload: parseUploadSpec('int8:block=32'), seed: 3 });
    const client = await connectClient(one.url);
    try {
      const rounds: RoundReport[] = [];
      const sample = (b: number, size: number) => new Float32Array(b * size * size * 3).map((_, i) => ((i * 2654435761) >>> 0) / 2 ** 32);
      const summary = await runContributor({ client, sample, maxRounds: 3, waitForNextVersion: true, onRound: (r) => rounds.push(r) });
      expect(summary).toEqual({ rounds: 3, accepted: 3, rejected: 0 });
      expect(rounds.map((r) => [r.outcome, r.baseVersion])).toEqual([['accepted', 0], ['accepted', 1], ['accepted', 2]]);
      // Packed sizes do not depend on the values: each upload is exactly an int8 (block 32) GLWT.
      const online = onlineOnly((await client.pullWeights(0)).weights);
      const int8Bytes = encodeWeights(online, { pack: { dtype: 'int8', block: 32 }, meta: { baseVersion: 0 } }).length;
      for (const r of rounds) expect(r.uploadBytes).toBe(int8Bytes);
      expect(int8Bytes).toBeLessThan(encodeWeights(online).length);
      expect(await client.waitForVersion(2, 20_000)).toBe(3);
    } finally {
      client.close();
      await one.cleanup();
    }
  });
});
