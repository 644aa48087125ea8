import { createServer } from 'node:http';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu } from '../../helpers/tf';
import { buildEncoder, DEFAULT_ENCODER, representationDim } from '../../../shared/models/encoder';
import { buildMlpHead } from '../../../shared/models/heads';
import { saveModelToDir } from '../../../shared/models/node-io';
import { groupSpecs, readWeights, writeWeights } from '../../../shared/models/weights-io';

beforeAll(useCpu);

describe('encoder', () => {
  it('maps [b, 32, 32, 3] to a 128-d representation', () => {
    const enc = buildEncoder();
    const y = enc.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;
    expect(y.shape).toEqual([2, representationDim(DEFAULT_ENCODER)]);
    expect(representationDim(DEFAULT_ENCODER)).toBe(128);
    y.dispose();
    enc.dispose();
  });

  it('has stable, unique weight names across instances (they are the wire keys)', () => {
    const a = groupSpecs([{ prefix: '', models: [buildEncoder()] }]);
    const b = groupSpecs([{ prefix: '', models: [buildEncoder()] }]);
    expect(b).toEqual(a);
    expect(new Set(a.map((s) => s.name)).size).toBe(a.length);
    expect(a[0]).toEqual({ name: 'enc_stem_conv/kernel', shape: [3, 3, 3, 32] });
    expect(a.map((s) => s.name)).toContain('enc_s3_b1_short_conv/kernel');
    expect(a.every((s) => s.name.startsWith('enc_'))).toBe(true);
  });

  it('width and depth are config: a larger variant is one line', () => {
    const big = buildEncoder({ ...DEFAULT_ENCODER, widths: [16, 32, 64], blocksPerStage: [2, 2, 2] });
    expect(big.outputs[0].shape).toEqual([null, 64]);
    expect(big.layers.filter((l) => l.name.endsWith('_conv1')).length).toBe(6);
    expect(() => buildEncoder({ ...DEFAULT_ENCODER, strides: [1, 3, 2] })).toThrow(/invalid encoder config/);
  });

  it('writeWeights/readWeights round-trip and reject wrong shapes and unknown names', () => {
    const enc = buildEncoder({ ...DEFAULT_ENCODER, widths: [8, 8, 8], stemWidth: 8 });
    const g = [{ prefix: '', models: [enc] }];
    const w = readWeights(g);
    for (const t of w.values()) t.data.fill(0.25);
    writeWeights(g, w);
    expect([...readWeights(g).values()].every((t) => t.data.every((x) => x === 0.25))).toBe(true);
    const bad = new Map(w);
    bad.set('enc_stem_conv/kernel', { shape: [1], data: new Float32Array(1) });
    expect(() => writeWeights(g, bad)).toThrow(/has shape \[1\] but the model has \[3,3,3,8\]/);
    const extra = new Map(w).set('nope', { shape: [1], data: new Float32Array(1) });
    expect(() => writeWeights(g, extra)).toThrow(/unknown weight 'nope'/);
  });

  it('saved with model.save, loads with stock tf.loadLayersModel over HTTP and embeds identically', async () => {
    const enc = buildEncoder();
    // Non-trivial norm parameters, so a loader that ignored them would be caught.
    const g = [{ prefix: '', models: [enc] }];
    const w = readWeights(g);
    for (const [name, t] of w) if (name.includes('norm')) t.data.forEach((_, i) => (t.data[i] = 0.5 + (i % 7) * 0.1));
    writeWeights(g, w);
    const dir = await mkdtemp(join(tmpdir(), 'glimpse-enc-'));
    await saveModelToDir(enc, dir);
    const server = createServer(async (req, res) => {
      try {
        res.end(await readFile(join(dir, req.url!.slice(1))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const loaded = await tfl.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
      const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 3);
      const a = enc.predict(x) as tf.Tensor;
      const b = loaded.predict(x) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
      expect(tf.max(tf.abs(a)).dataSync()[0]).toBeGreaterThan(0);
      expect(loaded.weights.map((v) => v.originalName)).toEqual(enc.weights.map((v) => v.originalName));
    } finally {
      server.close();
    }
  });

  it('MLP heads have their own name prefix', () => {
    const head = buildMlpHead({ name: 'pred', inputDim: 16, hiddenDim: 32, outputDim: 8, norm: 'layer' });
    const names = head.weights.map((v) => v.originalName);
    expect(names.every((n) => n.startsWith('pred_'))).toBe(true);
    expect((head.predict(tf.zeros([3, 16])) as tf.Tensor).shape).toEqual([3, 8]);
  });
});
