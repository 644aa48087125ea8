/**
 * Seeded initialisation: the same seed gives bit-identical weights, layers of the same shape still
 * differ from each other, other seeds differ, and Math.random is always restored.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../shared/backends/node-backend';
import { buildEncoder, DEFAULT_ENCODER } from '../../../shared/models/encoder';
import { withSeededInit } from '../../../shared/models/seeded-init';
import { createMethod } from '../../../shared/ssl/registry';
import { TINY } from '../ssl/method-helpers';

const small = { ...DEFAULT_ENCODER, inputSize: 16, stemWidth: 8, widths: [8, 8, 16] };

function values(build: () => { weights: Array<{ name: string; read(): tf.Tensor }>; dispose?: () => void }): Map<string, Float32Array> {
  const m = build();
  const out = new Map(m.weights.map((w) => [w.name, w.read().dataSync() as Float32Array]));
  return out;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe('withSeededInit', () => {
  beforeAll(async () => {
    await initNodeBackend('cpu');
  });

  it('same seed → identical encoder weights; another seed or none → different; same-shaped layers differ', () => {
    const a = values(() => withSeededInit(42, () => buildEncoder(small)));
    const b = values(() => withSeededInit(42, () => buildEncoder(small)));
    const c = values(() => withSeededInit(43, () => buildEncoder(small)));
    const d = values(() => buildEncoder(small));
    const kernels = [...a.keys()].filter((n) => n.endsWith('kernel'));
    expect(kernels.length).toBeGreaterThan(4);
    // Layer names are uniquified per build (…_1, …_2), so compare in order.
    const av = [...a.values()];
    const bv = [...b.values()];
    const cv = [...c.values()];
    const dv = [...d.values()];
    av.forEach((v, i) => expect(same(v, bv[i]), [...a.keys()][i]).toBe(true));
    const kernelIdx = [...a.keys()].map((n, i) => (n.endsWith('kernel') ? i : -1)).filter((i) => i >= 0);
    for (const i of kernelIdx) {
      expect(same(av[i], cv[i])).toBe(false);
      expect(same(av[i], dv[i])).toBe(false);
    }
    // s1_b1_conv1 and s1_b1_conv2 are both 3×3×8×8: seeded, they still get their own values.
    const [k1, k2] = [...a.entries()].filter(([n]) => /s1_b1_conv[12]\/kernel/.test(n)).map(([, v]) => v);
    expect(k1.length).toBe(k2.length);
    expect(same(k1, k2)).toBe(false);
  });

  it('a whole method (online, heads, target) is reproducible', () => {
    const m1 = withSeededInit(7, () => createMethod('byol', TINY));
    const m2 = withSeededInit(7, () => createMethod('byol', TINY));
    const all = (m: typeof m1) => [...m.online.models, ...m.target.models].flatMap((x) => x.weights.map((w) => w.read().dataSync() as Float32Array));
    const w1 = all(m1);
    const w2 = all(m2);
    expect(w1.length).toBeGreaterThan(10);
    w1.forEach((v, i) => expect(same(v, w2[i])).toBe(true));
    m1.dispose();
    m2.dispose();
  });

  it('restores Math.random, also after a throw, and refuses an async build', () => {
    const original = Math.random;
    expect(() => withSeededInit(1, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(Math.random).toBe(original);
    expect(() => withSeededInit(1, () => Promise.resolve(1))).toThrow(/synchronous/);
    expect(Math.random).toBe(original);
    expect(() => withSeededInit(1.5, () => 1)).toThrow(/integer/);
    expect(withSeededInit(undefined, () => 3)).toBe(3);
  });
});
