/**
 * Sparse deltas (top-k uploads kept sparse by the server, shared/weights/weight-map.ts
 * sparseTensor): every kernel that takes the O(kept values) path must give what the same delta,
 * densified, gives on the dense path — fold (JS and SIMD), norms, scaling, centered clipping,
 * accountability and a whole robust FedBuff step.
 */
import { describe, expect, it } from 'vitest';
import { scoreContributors } from '../../../server/aggregation/accountability';
import { bucketCombinations, bucketMeans } from '../../../server/aggregation/bucketing';
import { centeredClip } from '../../../server/aggregation/centered-clip';
import { dotMaps, dotWith, materialize, meanOf, normOf, single, squaredNorm } from '../../../server/aggregation/combination';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../../server/aggregation/fedbuff';
import { l2NormOf, scaled, weightedSum } from '../../../server/aggregation/fold';
import { simdKernel, weightedSumSimd } from '../../../server/aggregation/fold-wasm';
import { DEFAULT_ROBUST } from '../../../server/aggregation/robust';
import { initServerOptimizer } from '../../../server/aggregation/server-optimizer';
import { decodeDelta } from '../../../server/aggregation/validate';
import { mulberry32 } from '../../../shared/data/rng';
import { decodeWeights, encodeWeights } from '../../../shared/weights/codec';
import { isSparse, sparseTensor, type WeightMap, type WeightSpec } from '../../../shared/weights/weight-map';

const specs: WeightSpec[] = [{ name: 'a', shape: [7, 13] }, { name: 'b', shape: [5] }, { name: 'c', shape: [300] }];

/** A random delta and its top-`k` int8 upload decoded sparse, plus the same upload decoded dense. */
function upload(seed: number, topK = 0.1): { sparse: WeightMap; dense: WeightMap } {
  const rand = mulberry32(seed);
  const m: WeightMap = new Map(specs.map((s) => [s.name, { shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5) }]));
  const bytes = encodeWeights(m, { pack: { dtype: 'int8', block: 16, topK } });
  const sparse = decodeDelta(bytes, specs);
  if (!sparse.ok) throw new Error(sparse.reason);
  return { sparse: sparse.value, dense: decodeWeights(bytes).weights };
}

const flat = (m: WeightMap) => specs.flatMap((s) => Array.from(m.get(s.name)!.data));
const expectClose = (a: number[], b: number[], eps = 1e-6) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThan(eps));
};

describe('sparse deltas', () => {
  const us = [1, 2, 3, 4, 5].map((s) => upload(s));

  it('decode keeps top-k tensors sparse (positions and values only) and their dense form is the dense decode', () => {
    for (const { sparse, dense } of us) {
      for (const s of specs) {
        const t = sparse.get(s.name)!;
        expect(isSparse(t)).toBe(true);
        expect(t.nz!.length).toBe(Math.ceil(0.1 * dense.get(s.name)!.data.length));
      }
      expect(flat(sparse)).toEqual(flat(dense));
      // Spreads and structured clones carry the dense values (an own enumerable getter).
      expect(Array.from(structuredClone({ ...sparse.get('c')! }).data)).toEqual(Array.from(dense.get('c')!.data));
    }
    expect(() => sparseTensor([3], Uint32Array.of(0, 1), Float32Array.of(1))).toThrow(/2 positions but 1 values/);
  });

  it('norms, scaling, sums (sparse and mixed, JS and SIMD) equal the dense results', () => {
    for (const { sparse, dense } of us) {
      expect(l2NormOf(sparse)).toBeCloseTo(l2NormOf(dense), 10);
      const s = scaled(sparse, -0.5);
      expect(isSparse(s.get('a')!)).toBe(true);
      expectClose(flat(s), flat(scaled(dense, -0.5)));
    }
    const terms = (pick: 'sparse' | 'dense' | 'mixed') => us.map((u, i) => ({ delta: pick === 'mixed' ? (i % 2 ? u.sparse : u.dense) : u[pick], weight: 0.1 * (i + 1) }));
    const want = flat(weightedSum(specs, terms('dense')));
    // Two top-10% terms stay sparse (a fifth of the size), five do not; both add up the same.
    const pair = weightedSum(specs, terms('sparse').slice(0, 2));
    expect(isSparse(pair.get('c')!)).toBe(true);
    expectClose(flat(pair), flat(weightedSum(specs, terms('dense').slice(0, 2))));
    expectClose(flat(weightedSum(specs, terms('sparse'))), want);
    expectClose(flat(weightedSum(specs, terms('mixed'))), want);
    const k = simdKernel();
    if (k) expectClose(flat(weightedSumSimd(k, specs, terms('mixed'))), want);
  });

  it('centered clipping and accountability give the dense answers, with and without a centre', () => {
    const center = upload(9, 1).dense;
    for (const c of [null, center]) {
      const a = centeredClip(specs, us.map((u) => u.sparse), c, { tau: null, iterations: 2 });
      const b = centeredClip(specs, us.map((u) => u.dense), c, { tau: null, iterations: 2 });
      expect(a.tau).toBeCloseTo(b.tau, 8);
      expect(a.clipped).toEqual(b.clipped);
      expectClose(flat(a.aggregate), flat(b.aggregate));
      const sa = scoreContributors(us.map((u, i) => ({ contributorId: `c${i}`, x: u.sparse })), a.aggregate, a.clipped);
      const sb = scoreContributors(us.map((u, i) => ({ contributorId: `c${i}`, x: u.dense })), b.aggregate, b.clipped);
      sa.forEach((s, i) => {
        expect(s.cosine).toBeCloseTo(sb[i].cosine, 6);
        expect(s.normRatio).toBeCloseTo(sb[i].normRatio, 8);
      });
    }
  });

  it('means kept as their terms (combination.ts) clip, score and add up like the means added up', () => {
    const dense = (m: WeightMap) => new Map([...m].map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]));
    // Sparse·sparse cross terms (scatter/gather), sparse·dense and dense·dense.
    for (const [a, b] of [[us[0].sparse, us[1].sparse], [us[0].sparse, us[1].dense], [us[2].dense, us[3].dense]]) {
      expect(dotMaps(a, b)).toBeCloseTo(dotMaps(dense(a), dense(b)), 8);
      expect(dotMaps(b, a)).toBeCloseTo(dotMaps(dense(a), dense(b)), 8);
    }
    // A contributor with two updates, one with three (one of them dense), the rest alone.
    const inputs = [meanOf([single(us[0].sparse), single(us[1].sparse)]), meanOf([us[2], us[3], us[4]].map((u, i) => single(i ? u.sparse : u.dense))), single(upload(21).sparse), single(upload(22).sparse), single(upload(23).sparse)];
    const added = inputs.map((c) => materialize(specs, c));
    const center = upload(9, 1).dense;
    inputs.forEach((c, i) => {
      expect(normOf(c)).toBeCloseTo(l2NormOf(added[i]), 6);
      expect(dotWith(c, center)).toBeCloseTo(dotMaps(added[i], center), 6);
    });
    // A term that lacks a tensor throws, and leaves the shared scratch zeroed for the next sum.
    const lacking = new Map([...us[1].sparse].filter(([n]) => n !== 'c'));
    expect(() => squaredNorm(meanOf([single(us[0].sparse), single(lacking)]))).toThrow();
    expect(normOf(inputs[0])).toBeCloseTo(l2NormOf(added[0]), 6);
    const terms = bucketCombinations(specs, inputs, 2, mulberry32(3));
    const sums = bucketMeans(specs, added, 2, mulberry32(3));
    expect(terms.groups).toEqual(sums.groups);
    const a = centeredClip(specs, terms.means, center, { tau: null, iterations: 2 });
    const b = centeredClip(specs, sums.means, center, { tau: null, iterations: 2 });
    expect(a.tau).toBeCloseTo(b.tau, 6);
    expect(a.clipped).toEqual(b.clipped);
    expectClose(flat(a.aggregate), flat(b.aggregate));
    const sa = scoreContributors(inputs.map((x, i) => ({ contributorId: `c${i}`, x })), a.aggregate, a.clipped);
    const sb = scoreContributors(added.map((x, i) => ({ contributorId: `c${i}`, x })), b.aggregate, b.clipped);
    sa.forEach((s, i) => {
      expect(s.cosine).toBeCloseTo(sb[i].cosine, 6);
      expect(s.normRatio).toBeCloseTo(sb[i].normRatio, 6);
    });
  });

  it('a robust FedBuff step over sparse updates equals the step over the same updates dense', () => {
    const online: WeightMap = new Map(specs.map((s) => [s.name, { shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.25) }]));
    const state: GlobalState = { version: 4, online, target: new Map(), optimizer: initServerOptimizer({ kind: 'fedavg', lr: 1 }, specs) };
    const updates = (pick: 'sparse' | 'dense'): BufferedUpdate[] => us.map((u, i) => ({
      updateId: `u${i}`, contributorId: `c${i % 4}`, baseVersion: 3, examples: 8, loss: 1, norm: l2NormOf(u.dense), clipped: false, receivedAt: 0, delta: u[pick],
    }));
    const cfg = { stalenessExponent: 0.5, serverOptimizer: { kind: 'fedavg' as const, lr: 1 }, ema: { base: 0.99, kind: 'constant' as const }, robust: DEFAULT_ROBUST };
    const ctx = () => ({ center: upload(11, 1).dense, rand: mulberry32(7) });
    const a = fedbuffStep(state, updates('sparse'), specs, [], cfg, 0, ctx());
    const b = fedbuffStep(state, updates('dense'), specs, [], cfg, 0, ctx());
    expectClose(flat(a.state.online), flat(b.state.online));
    expect(a.summary.aggregateNorm).toBeCloseTo(b.summary.aggregateNorm, 6);
    expect(a.summary.tau).toBeCloseTo(b.summary.tau!, 6);
  });
});
