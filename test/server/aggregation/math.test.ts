/** The pure aggregation maths: fold, staleness weights, server optimizers, one FedBuff step. */
import { describe, expect, it } from 'vitest';
import { axpy, l2NormOf, weightedSum } from '../../../server/aggregation/fold';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../../server/aggregation/fedbuff';
import { initServerOptimizer, serverStep } from '../../../server/aggregation/server-optimizer';
import { fedbuffWeights, stalenessWeight } from '../../../server/aggregation/staleness';
import type { WeightMap } from '../../../shared/weights/weight-map';

const map = (entries: Record<string, number[]>): WeightMap => new Map(Object.entries(entries).map(([k, v]) => [k, { shape: [v.length], data: Float32Array.from(v) }]));
const arr = (m: WeightMap, k: string) => Array.from(m.get(k)!.data);
const close = (a: number[], b: number[], eps = 1e-6) => a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThan(eps));

describe('fold', () => {
  it('axpy handles every tail length', () => {
    for (let n = 0; n < 11; n++) {
      const acc = Float32Array.from({ length: n }, (_, i) => i);
      axpy(acc, Float32Array.from({ length: n }, () => 2), 0.5);
      expect(Array.from(acc)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    expect(() => axpy(new Float32Array(2), new Float32Array(3), 1)).toThrow(/lengths/);
  });
  it('weightedSum and the L2 norm', () => {
    const specs = [{ name: 'w', shape: [3] }];
    const s = weightedSum(specs, [{ delta: map({ w: [1, 2, 3] }), weight: 0.5 }, { delta: map({ w: [4, 0, -2] }), weight: 0.25 }]);
    expect(arr(s, 'w')).toEqual([1.5, 1, 1]);
    expect(l2NormOf(map({ a: [3], b: [4, 0, 0] }))).toBe(5);
  });
});

describe('staleness (FedBuff)', () => {
  it('s(τ) = (1+τ)^-a', () => {
    expect(stalenessWeight(0, 0.5)).toBe(1);
    expect(stalenessWeight(3, 0.5)).toBe(0.5);
    expect(stalenessWeight(8, 1 / 3)).toBeCloseTo(1 / Math.cbrt(9), 12);
    expect(stalenessWeight(5, 0)).toBe(1);
    expect(() => stalenessWeight(-1, 0.5)).toThrow();
  });
  it('w_i = s(τ_i)·n_i/Σn: examples share, staleness shrinks without renormalising', () => {
    const w = fedbuffWeights([{ examples: 10, staleness: 0 }, { examples: 30, staleness: 3 }], 0.5);
    expect(w[0]).toBeCloseTo(0.25, 12);
    expect(w[1]).toBeCloseTo(0.75 * 0.5, 12);
    expect(() => fedbuffWeights([{ examples: 0, staleness: 0 }], 0.5)).toThrow(/no examples/);
  });
});

describe('server optimizers (Reddi et al. 2021)', () => {
  const specs = [{ name: 'w', shape: [2] }];
  const x0 = map({ w: [1, -1] });
  const g = map({ w: [0.2, -0.4] });

  it('FedAvg: x + η·Δ', () => {
    const c = { kind: 'fedavg' as const, lr: 1 };
    const r = serverStep(c, x0, g, initServerOptimizer(c, specs));
    close(arr(r.weights, 'w'), [1.2, -1.4]);
    expect(arr(x0, 'w')).toEqual([1, -1]);
    expect(r.state.step).toBe(1);
  });

  it('FedAvgM: v ← βv + Δ, x ← x + ηv over two steps', () => {
    const c = { kind: 'fedavgm' as const, lr: 0.5, momentum: 0.9 };
    const s1 = serverStep(c, x0, g, initServerOptimizer(c, specs));
    close(arr(s1.state.slots.v, 'w'), [0.2, -0.4]);
    close(arr(s1.weights, 'w'), [1.1, -1.2]);
    const s2 = serverStep(c, s1.weights, g, s1.state);
    close(arr(s2.state.slots.v, 'w'), [0.38, -0.76]);
    close(arr(s2.weights, 'w'), [1.1 + 0.19, -1.2 - 0.38]);
  });

  it('FedAdam: m, v, x + η·m/(√v + τ) over two steps', () => {
    const c = { kind: 'fedadam' as const, lr: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-3 };
    let st = initServerOptimizer(c, specs);
    let x = x0;
    const want = { m: [0, 0], v: [0, 0], x: [1, -1] };
    for (let t = 0; t < 2; t++) {
      const r = serverStep(c, x, g, st);
      const gd = [0.2, -0.4].map((v) => Math.fround(v));
      for (let i = 0; i < 2; i++) {
        want.m[i] = 0.9 * want.m[i] + 0.1 * gd[i];
        want.v[i] = 0.99 * want.v[i] + 0.01 * gd[i] * gd[i];
        want.x[i] = want.x[i] + (0.1 * want.m[i]) / (Math.sqrt(want.v[i]) + 1e-3);
      }
      close(arr(r.state.slots.m, 'w'), want.m);
      close(arr(r.state.slots.v, 'w'), want.v);
      close(arr(r.weights, 'w'), want.x, 1e-5);
      st = r.state;
      x = r.weights;
    }
  });
});

describe('fedbuffStep', () => {
  it('weights by examples and staleness, then EMAs the declared target pairs', () => {
    const state: GlobalState = {
      version: 4,
      online: map({ w: [1, 1], h: [0] }),
      target: map({ 'target/w': [0, 0] }),
      optimizer: initServerOptimizer({ kind: 'fedavg', lr: 1 }, [{ name: 'w', shape: [2] }, { name: 'h', shape: [1] }]),
    };
    const u = (id: string, base: number, examples: number, w: number[], h: number): BufferedUpdate => ({
      updateId: id, contributorId: id, baseVersion: base, examples, loss: 1, norm: 1, clipped: false, receivedAt: 0, delta: map({ w, h: [h] }),
    });
    const specs = [{ name: 'w', shape: [2] }, { name: 'h', shape: [1] }];
    const { state: next, summary } = fedbuffStep(state, [u('a', 4, 1, [1, 0], 1), u('b', 1, 3, [0, 1], -1)], specs, [{ online: 'w', target: 'target/w' }], {
      stalenessExponent: 0.5, serverOptimizer: { kind: 'fedavg', lr: 1 }, ema: { base: 0.9, kind: 'constant' },
    });
    // w_a = 1·1/4, w_b = (1+3)^-0.5 · 3/4 = 0.375
    close(arr(next.online, 'w'), [1.25, 1.375]);
    close(arr(next.online, 'h'), [0.25 - 0.375]);
    close(arr(next.target, 'target/w'), [0.1 * 1.25, 0.1 * 1.375]);
    expect(next.version).toBe(5);
    expect(summary.updates.map((x) => x.staleness)).toEqual([0, 3]);
    expect(summary.emaMomentum).toBe(0.9);
    expect(arr(state.online, 'w')).toEqual([1, 1]);
  });
});

describe('weightedSum with the fused 4-way loop', () => {
  it('matches the naive sum for every count of terms', () => {
    for (let k = 0; k <= 9; k++) {
      const terms = Array.from({ length: k }, (_, i) => ({ delta: map({ w: [i, 1 - i, 0.5 * i, 3] }), weight: (i + 1) / 10 }));
      const got = arr(weightedSum([{ name: 'w', shape: [4] }], terms), 'w');
      const want = [0, 1, 2, 3].map((j) => terms.reduce((s, t) => s + t.weight * t.delta.get('w')!.data[j], 0));
      close(got, want, 1e-5);
    }
  });
});

describe('SIMD fold (WebAssembly)', () => {
  it('is available in Node 20 and matches the JS fold for every tail and term count', async () => {
    const { simdKernel, weightedSumSimd } = await import('../../../server/aggregation/fold-wasm');
    const k = simdKernel();
    expect(k).not.toBeNull();
    for (const n of [1, 3, 4, 5, 17, 1000]) {
      const specs = [{ name: 'w', shape: [n] }, { name: 'v', shape: [2, 3] }];
      for (const count of [0, 1, 3, 4, 5, 9]) {
        const terms = Array.from({ length: count }, (_, i) => ({
          delta: new Map([
            ['w', { shape: [n], data: Float32Array.from({ length: n }, (_, j) => Math.sin(i * 7 + j)) }],
            ['v', { shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, j) => j - i) }],
          ]),
          weight: (i + 1) / 7,
        }));
        const a = weightedSum(specs, terms);
        const b = weightedSumSimd(k!, specs, terms);
        for (const name of ['w', 'v']) close(arr(b, name), arr(a, name), 1e-5);
      }
    }
  });
});
