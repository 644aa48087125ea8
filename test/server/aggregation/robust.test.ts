/**
 * The issue-13 maths against values worked out by hand (the arithmetic is in the comments):
 * coordinate-wise median and trimmed mean, bucketing, centered clipping, DP-FedAvg, the RDP
 * accountant, the per-contributor norm statistics and the guard's floor, accountability scores,
 * and the robust FedBuff step with quarantine.
 */
import { describe, expect, it } from 'vitest';
import { cosine, flagContributor, scoreContributors, updateRecord } from '../../../server/aggregation/accountability';
import { bucketMeans, buckets } from '../../../server/aggregation/bucketing';
import { centeredClip } from '../../../server/aggregation/centered-clip';
import { coordinateMedian, trimCount, trimmedMean } from '../../../server/aggregation/coordinate-wise';
import { clipToNorm, dpAggregate, normalSampler } from '../../../server/aggregation/dp-fedavg';
import { fedbuffStep, type BufferedUpdate } from '../../../server/aggregation/fedbuff';
import { normStatsOfCheckpoint, recordNorm, referenceNorms } from '../../../server/aggregation/norm-stats';
import { charge, EMPTY_LEDGER, epsilonOf, gaussianRdp } from '../../../server/aggregation/rdp-accountant';
import { DEFAULT_ROBUST, perContributor, robustCombine } from '../../../server/aggregation/robust';
import { decideNorm } from '../../../server/aggregation/validate';
import type { WeightMap } from '../../../shared/weights/weight-map';

const specs = [{ name: 'w', shape: [2] }];
const m = (...v: number[]): WeightMap => new Map([['w', { shape: [v.length], data: Float32Array.from(v) }]]);
const vals = (x: WeightMap) => Array.from(x.get('w')!.data);
const close = (a: number[], b: number[], d = 5) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], d));

describe('coordinate-wise statistics (Yin et al. 2018)', () => {
  it('median per coordinate; the mean of the middle two for even n', () => {
    expect(vals(coordinateMedian(specs, [m(1, 2), m(3, -1), m(10, 0)]))).toEqual([3, 0]);
    expect(vals(coordinateMedian(specs, [m(1, 0), m(2, 0), m(3, 0), m(10, 0)]))).toEqual([2.5, 0]);
  });
  it('trimmed mean drops ⌊βn⌋ from each end', () => {
    expect(trimCount(5, 0.2)).toBe(1);
    expect(trimCount(3, 0.49)).toBe(1);
    expect(trimCount(2, 0.49)).toBe(0);
    expect(() => trimCount(4, 0.5)).toThrow(RangeError);
    // coordinate 0: [-50, 1, 2, 3, 100] → (1+2+3)/3 = 2; coordinate 1: [0, 0, 0, 0, 5] → 0
    expect(vals(trimmedMean(specs, [m(100, 5), m(1, 0), m(-50, 0), m(3, 0), m(2, 0)], 0.2))).toEqual([2, 0]);
    // β = 0.25, n = 4 → b = 1: [1, 2, 3, 100] → 2.5
    expect(vals(trimmedMean(specs, [m(1, 0), m(100, 0), m(3, 0), m(2, 0)], 0.25))).toEqual([2.5, 0]);
  });
});

describe('bucketing (Karimireddy et al. 2022)', () => {
  it('Fisher–Yates with rand ≡ 0 gives [1, 2, 3, 0]; buckets of 2 average pairs', () => {
    expect(buckets(4, 2, () => 0)).toEqual([[1, 2], [3, 0]]);
    const { means, groups } = bucketMeans(specs, [m(0, 0), m(2, 0), m(4, 0), m(6, 2)], 2, () => 0);
    expect(groups).toEqual([[1, 2], [3, 0]]);
    expect(means.map(vals)).toEqual([[3, 0], [3, 1]]);
    expect(buckets(5, 2, () => 0).map((b) => b.length)).toEqual([2, 2, 1]);
  });
});

describe('centered clipping (Karimireddy, He & Jaggi 2021)', () => {
  const xs = [m(3, 4), m(0, 1), m(0, -1)];
  it('τ = median distance from the centre: ‖·‖ = 5, 1, 1 → τ = 1; v = ([0.6, 0.8] + [0, 1] + [0, −1]) / 3', () => {
    const r = centeredClip(specs, xs, null, { tau: null, iterations: 1 });
    expect(r.tau).toBe(1);
    expect(r.clipped).toEqual([true, false, false]);
    close(vals(r.aggregate), [0.2, 0.8 / 3]);
  });
  it('a large τ is the plain mean; a centre shifts the clipping', () => {
    close(vals(centeredClip(specs, xs, null, { tau: 10, iterations: 1 }).aggregate), [1, 4 / 3]);
    // centre [3, 4]: distances 0, √18, √34 → τ = √18; x₃ is clipped to √18/√34 of its offset
    const r = centeredClip(specs, xs, m(3, 4), { tau: null, iterations: 1 });
    const s = Math.sqrt(18) / Math.sqrt(34);
    close(vals(r.aggregate), [3 + (-3 + -3 * s) / 3, 4 + (-3 + -5 * s) / 3]);
  });
  it('a second iteration from v₁ = [0.2, 0.2667]: distances 4.667, 0.760, 1.282 → v₂ = [0.28135, 0.44852]', () => {
    const r = centeredClip(specs, xs, null, { tau: 1, iterations: 2 });
    expect(r.clipped).toEqual([true, false, true]);
    close(vals(r.aggregate), [0.28134581, 0.44852346]);
  });
});

describe('DP-FedAvg (McMahan et al. 2018) and the RDP accountant (Mironov 2017)', () => {
  it('clips to C, adds σC noise to the sum, divides by K', () => {
    expect(vals(clipToNorm(m(3, 4), 1).value)).toEqual([0.6000000238418579, 0.800000011920929]);
    expect(clipToNorm(m(0.3, 0.4), 1).clipped).toBe(false);
    // sum = [0.6, 0.8] + [0, 1] = [0.6, 1.8]; noise σC·1 = 2 each; / K = 4 → [0.65, 0.95]
    const r = dpAggregate(specs, [m(3, 4), m(0, 1)], { clip: 1, noiseMultiplier: 2, delta: 1e-5 }, 4, () => 1);
    close(vals(r.aggregate), [0.65, 0.95]);
    expect(r.clipped).toEqual([true, false]);
    expect(() => dpAggregate(specs, [m(1, 1), m(1, 1)], { clip: 1, noiseMultiplier: 1, delta: 1e-5 }, 1, () => 0)).toThrow(RangeError);
  });
  it('Box–Muller: u = 0.5, 0.25 → r = √(2 ln 2) = 1.17741, angle π/2 → 0 then 1.17741', () => {
    const seq = [0.5, 0.25];
    const n = normalSampler(() => seq.shift()!);
    expect(n()).toBeCloseTo(0, 12);
    expect(n()).toBeCloseTo(Math.sqrt(2 * Math.log(2)), 12);
  });
  it('ε_α = α/(2σ²) per step; 10 steps of σ = 1 at δ = 1e-5: min_α 5α + ln(1e5)/(α−1) = 12.5 + 7.6753 at α = 2.5', () => {
    expect(gaussianRdp(2, 4)).toBe(0.5);
    expect(epsilonOf(EMPTY_LEDGER, 1e-5)).toEqual({ epsilon: 0, order: null });
    const l = charge(EMPTY_LEDGER, 1, 10);
    expect(l.steps).toBe(10);
    const e = epsilonOf(l, 1e-5);
    expect(e.order).toBe(2.5);
    expect(e.epsilon).toBeCloseTo(12.5 + Math.log(1e5) / 1.5, 10);
    // Composition adds: 10 steps at once equal 10 single steps.
    let one = EMPTY_LEDGER;
    for (let i = 0; i < 10; i++) one = charge(one, 1);
    expect(epsilonOf(one, 1e-5).epsilon).toBeCloseTo(e.epsilon, 10);
    expect(epsilonOf(charge(EMPTY_LEDGER, 4, 10), 1e-5).epsilon).toBeLessThan(e.epsilon);
  });
});

describe('norm statistics: each contributor counts once', () => {
  it('the reference is the median of per-contributor medians', () => {
    let s = recordNorm([], 'a', 0.4);
    s = recordNorm(s, 'b', 0.5);
    s = recordNorm(s, 'c', 0.6);
    for (let i = 0; i < 33; i++) s = recordNorm(s, 'x', 1e-9, { perKey: 8, maxKeys: 64 });
    expect(s.find(([k]) => k === 'x')![1]).toHaveLength(8);
    // medians: 0.4, 0.5, 0.6, 1e-9 → (0.4 + 0.5) / 2 = 0.45
    expect(referenceNorms(s)).toEqual([0.4, 0.5, 0.6, 1e-9]);
    expect(decideNorm(0.44, referenceNorms(s), { maxNorm: 100, medianMultiple: 10, window: 64, minHistory: 3, mode: 'reject' })).toEqual({ action: 'accept', norm: 0.44 });
    // The least recently active key is forgotten first.
    expect(recordNorm(s, 'd', 1, { perKey: 8, maxKeys: 2 }).map(([k]) => k)).toEqual(['x', 'd']);
  });
  it('a floor under the relative bound; minHistory counts contributors', () => {
    const g = { maxNorm: 100, medianMultiple: 4, window: 8, minHistory: 3, floor: 1, mode: 'clip' as const };
    expect(decideNorm(0.9, [1e-3, 1e-3, 1e-3], g)).toEqual({ action: 'accept', norm: 0.9 });
    expect(decideNorm(2, [1e-3, 1e-3, 1e-3], g)).toEqual({ action: 'clip', norm: 2, bound: 1 });
    expect(decideNorm(2, [1e-3, 1e-3, 1e-3], { ...g, mode: 'reject' })).toMatchObject({ action: 'reject', bound: 1, reason: expect.stringMatching(/floor/) });
    expect(decideNorm(9, [2, 2, 2], g)).toMatchObject({ action: 'clip', bound: 8 });
  });
  it('an old checkpoint\'s single window becomes one contributor', () => {
    expect(normStatsOfCheckpoint({ recentNorms: [1, 2, 3] })).toEqual([['legacy-window', [1, 2, 3]]]);
    expect(normStatsOfCheckpoint({ recentNorms: [], normStats: [['k', [1]], ['bad', 'x']] })).toEqual([['k', [1]]]);
  });
});

describe('accountability', () => {
  it('cosine, norm ratio against the median, outvoted when pointing away', () => {
    expect(cosine(m(1, 0), m(1, 1))).toBeCloseTo(Math.SQRT1_2, 6);
    expect(cosine(m(0, 0), m(1, 1))).toBe(0);
    // norms 1, 2, 4 → median 2 → ratios 0.5, 1, 2
    const s = scoreContributors([{ contributorId: 'a', x: m(1, 0) }, { contributorId: 'b', x: m(0, 2) }, { contributorId: 'c', x: m(-4, 0) }], m(1, 1), [false, false, true]);
    expect(s.map((x) => x.normRatio)).toEqual([0.5, 1, 2]);
    expect(s.map((x) => x.outvoted)).toEqual([false, false, true]);
    let r = updateRecord(null, s[2]);
    expect(flagContributor(r)).toBeNull();
    r = updateRecord(updateRecord(r, s[2]), s[0]);
    expect(r).toMatchObject({ steps: 3, outvoted: 2, clipped: 2 });
    expect(flagContributor(r)).toMatch(/outvoted in 2 of 3/);
    // Clipped in 4 of 5 steps but of typical size: honest under centered clipping, not flagged.
    const typical = { steps: 5, clipped: 4, outvoted: 0, cosine: 0.5, normRatio: 1.2 };
    expect(flagContributor(typical)).toBeNull();
    expect(flagContributor({ ...typical, normRatio: 3 })).toMatch(/clipped in 4 of 5 steps/);
    expect(flagContributor({ ...typical, clipped: 3, normRatio: 3 })).toBeNull();
    expect(flagContributor({ ...typical, clipped: 0, normRatio: 0.01 })).toMatch(/norm 0.010× the step median/);
    expect(flagContributor({ ...typical, clipped: 0, normRatio: 0.01, steps: 2 })).toBeNull();
  });
});

describe('robust FedBuff step', () => {
  const upd = (id: string, c: string, v: number[], base = 0): BufferedUpdate => ({ updateId: id, contributorId: c, baseVersion: base, examples: id === 'liar' ? 1e6 : 1, loss: null, norm: 0, clipped: false, receivedAt: 0, delta: m(...v) });
  const state = { version: 0, online: m(0, 0), target: new Map(), optimizer: { step: 0, slots: {} } };
  const cfg = { stalenessExponent: 0.5, serverOptimizer: { kind: 'fedavg' as const, lr: 1 }, ema: { kind: 'constant' as const, base: 0.99 } };
  it('median over contributors: claimed examples do not weigh; one contributor\'s many updates count once', () => {
    const ups = [upd('a', 'A', [1, 1]), upd('b', 'B', [2, 1]), upd('liar', 'X', [100, -100]), upd('x2', 'X', [100, -100]), upd('c', 'C', [3, 1])];
    expect(perContributor(specs, ups).map((p) => p.contributorId)).toEqual(['A', 'B', 'C', 'X']);
    expect(perContributor(specs, [...ups].reverse()).map((p) => p.contributorId)).toEqual(['A', 'B', 'C', 'X']);
    const r = fedbuffStep(state, ups, specs, [], { ...cfg, robust: { ...DEFAULT_ROBUST, kind: 'median' } });
    // per coordinate over A, B, X, C: [1, 2, 100, 3] → 2.5; [1, 1, −100, 1] → 1
    expect(vals(r.state.online)).toEqual([2.5, 1]);
    expect(r.summary.rule).toBe('median');
    expect(r.summary.scores!.find((s) => s.contributorId === 'X')!.outvoted).toBe(false);
  });
  it('quarantined contributors are folded with weight 0; stale updates scale the result by s̄', () => {
    const ups = [upd('a', 'A', [1, 0]), upd('b', 'B', [3, 0]), upd('q', 'Q', [50, 50])];
    const r = fedbuffStep(state, ups, specs, [], { ...cfg, robust: { ...DEFAULT_ROBUST, kind: 'trimmed-mean', trim: 0 } }, 0, { quarantined: new Set(['Q']) });
    expect(vals(r.state.online)).toEqual([2, 0]);
    expect(r.summary.updates.map((u) => [u.updateId, u.weight, u.quarantined ?? false])).toEqual([['a', 0.5, false], ['b', 0.5, false], ['q', 0, true]]);
    const plain = fedbuffStep(state, ups, specs, [], cfg, 0, { quarantined: new Set(['Q']) });
    expect(vals(plain.state.online)).toEqual([2, 0]);
    // τ = 3 for both: s = (1+3)^−½ = ½ → the robust mean [2, 0] applied at ½
    const stale = fedbuffStep({ ...state, version: 3 }, ups.slice(0, 2), specs, [], { ...cfg, robust: { ...DEFAULT_ROBUST, kind: 'trimmed-mean', trim: 0 } });
    expect(vals(stale.state.online)).toEqual([1, 0]);
  });
  it('centered clipping keeps the centre for the next step; DP with centered clipping noises around it', () => {
    const ups = [upd('a', 'A', [1, 0]), upd('b', 'B', [1, 0]), upd('c', 'C', [1, 0]), upd('x', 'X', [1000, 0])];
    const r = robustCombine(specs, ups.map((u) => ({ contributorId: u.contributorId, delta: u.delta, staleWeight: 1 })), { robust: { ...DEFAULT_ROBUST, bucketSize: 1 }, dp: null, denominator: 4, center: m(1, 0), rand: () => 0, normal: () => 0 });
    // distances from [1, 0]: 0, 0, 0, 999 → τ = 0 → nothing moves the centre
    expect(vals(r.applied)).toEqual([1, 0]);
    expect(r.scores.find((s) => s.contributorId === 'X')!.clipped).toBe(true);
    const d = robustCombine(specs, ups.map((u) => ({ contributorId: u.contributorId, delta: u.delta, staleWeight: 1 })), { robust: DEFAULT_ROBUST, dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5 }, denominator: 8, center: m(1, 0), rand: () => 0, normal: () => 0.5 });
    // offsets from the centre: 0, 0, 0, [999, 0] → clipped to [1, 0]; sum + σC·0.5 = [1.5, 0.5]; / 8; + centre
    close(vals(d.applied), [1 + 1.5 / 8, 0.5 / 8]);
    // centre 'zero' ignores the previous aggregate: distances 1, 1, 1, 1000 → τ = 1 → ([1, 0]·3 + [1, 0]) / 4
    const z = robustCombine(specs, ups.map((u) => ({ contributorId: u.contributorId, delta: u.delta, staleWeight: 1 })), { robust: { ...DEFAULT_ROBUST, bucketSize: 1, center: 'zero' }, dp: null, denominator: 4, center: m(5, 5), rand: () => 0, normal: () => 0 });
    expect(vals(z.applied)).toEqual([1, 0]);
    expect(z.tau).toBe(1);
  });
});
