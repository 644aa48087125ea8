/**
 * The PyTorch peer (bench/peers/torch_ssl.py) computes what Glimpse computes: the same encoder,
 * projector and NT-Xent on the same weights and images give the same projections and loss (one
 * forward in training mode, BatchNorm on batch statistics), and its checkpoints use encoder.ts's
 * weight names. Seconds long; skipped, saying why, where no Python here imports torch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useCpu } from '../helpers/tf';
import { mulberry32 } from '../../shared/data/rng';
import { readWeights, writeWeights } from '../../shared/models/weights-io';
import { ntXent } from '../../shared/ssl/losses';
import { createMethod, resolveMethodConfig } from '../../shared/ssl/registry';
import { encodeSafetensors } from '../../server/model/safetensors';
import { findTorchPython } from '../../server/model/python';
import { seededWeights } from '../python/parity-fixture';

beforeAll(useCpu);

describe('PyTorch peer (bench/peers/torch_ssl.py)', () => {
  it('one forward of the same weights gives the same projections and NT-Xent loss as tfjs (within 1e-4)', async (ctx) => {
    const py = await findTorchPython();
    if (!py) return ctx.skip('no Python with torch here (apt-get install python3-torch)');
    const overrides = { encoder: { inputSize: 16, stemWidth: 8, widths: [8, 12, 16] }, projectionHidden: 32, projectionDim: 16 } as never;
    const config = resolveMethodConfig('simclr', overrides);
    const m = createMethod('simclr', overrides);
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-peer-parity-'));
    try {
      const weights = seededWeights(readWeights([m.online]), 77);
      writeWeights([m.online], weights);
      const n = 8;
      const images = Float32Array.from({ length: n * 16 * 16 * 3 }, mulberry32(5));
      const [proj, loss] = tf.tidy(() => {
        const x = tf.tensor4d(images, [n, 16, 16, 3]);
        const [enc, head] = m.online.models as tfl.LayersModel[];
        const z = head.apply(enc.apply(x, { training: true }), { training: true }) as tf.Tensor2D;
        return [z, ntXent(tf.slice(z, [0, 0], [n / 2, -1]), tf.slice(z, [n / 2, 0], [n / 2, -1]), config.temperature)];
      });
      const file = join(dir, 'peer.safetensors');
      writeFileSync(file, encodeSafetensors(weights, { encoderConfig: JSON.stringify(config.encoder), count: String(n), temperature: String(config.temperature) }));
      writeFileSync(join(dir, 'peer.images.f32'), new Uint8Array(images.buffer));
      const r = spawnSync(py.command, ['bench/peers/torch_ssl.py', '--parity', file], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { projections: number[]; loss: number; state_names: string[] };
      const js = proj.dataSync();
      let maxDiff = 0;
      out.projections.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - js[i]))));
      expect(out.projections.length).toBe(js.length);
      expect(maxDiff).toBeLessThan(1e-4);
      expect(Math.abs(out.loss - loss.dataSync()[0])).toBeLessThan(1e-4);
      // The peer's checkpoints carry exactly the encoder's tfjs weight names.
      expect(out.state_names).toEqual([...readWeights([{ prefix: '', models: [m.encoder] }]).keys()].sort());
      tf.dispose([proj, loss]);
    } finally {
      m.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
