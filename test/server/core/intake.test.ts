/**
 * The intake pipeline on its own: each stage's verdict, the order in which they apply (the first
 * failing stage decides, cheap checks before decoding), what an accepted update carries, and that
 * a new stage slots in without touching the others.
 */
import { describe, expect, it } from 'vitest';
import {
  intakeStages, rateLimit, runIntake, type IntakeStage, type IntakeView, type Submission,
} from '../../../server/core/intake';
import { encodeWeights } from '../../../shared/weights/codec';
import type { WeightMap } from '../../../shared/weights/weight-map';

const map = (entries: Record<string, number[]>): WeightMap => new Map(Object.entries(entries).map(([k, v]) => [k, { shape: [v.length], data: Float32Array.from(v) }]));
const specs = [{ name: 'a', shape: [2] }, { name: 'b', shape: [1] }];

function view(o: Partial<IntakeView> = {}): IntakeView {
  return {
    version: 5, specs, maxStaleness: 3, maxExamples: 100, maxBuffered: 10, waiting: 0, closing: false,
    normGuard: { maxNorm: 100, medianMultiple: 4, window: 8, minHistory: 3, mode: 'clip' }, recentNorms: [], seen: () => null, ...o,
  };
}

function submission(o: Partial<Submission> = {}): Submission {
  return { updateId: 'u1', baseVersion: 4, examples: 10, loss: 0.5, bytes: encodeWeights(map({ a: [3, 4], b: [0] })), contributorId: 'c', rateKey: 'k', ...o };
}

const stages = intakeStages({ rateLimit: null });

describe('intake', () => {
  it('accepts a good delta: decoded, with its norm, staleness-checked, the received bytes kept', () => {
    const s = submission();
    const r = runIntake(stages, s, view(), 1234);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.update).toMatchObject({ updateId: 'u1', contributorId: 'c', baseVersion: 4, examples: 10, loss: 0.5, norm: 5, clipped: false, receivedAt: 1234 });
    expect(Array.from(r.value.update.delta.get('a')!.data)).toEqual([3, 4]);
    expect(r.value.bytes).toBe(s.bytes);
    expect(r.value.guardNorm).toBe(5);
  });

  it('answers each failure with its code', () => {
    const cases: Array<[Partial<Submission>, Partial<IntakeView>, string]> = [
      [{}, { closing: true }, 'busy'],
      [{ baseVersion: 6 }, {}, 'unknown_version'],
      [{ baseVersion: 1 }, {}, 'too_stale'],
      [{ examples: 0 }, {}, 'bad_examples'],
      [{ examples: 101 }, {}, 'bad_examples'],
      [{ examples: 1.5 }, {}, 'bad_examples'],
      [{}, { waiting: 10 }, 'busy'],
      [{ bytes: new Uint8Array(7) }, {}, 'bad_encoding'],
      [{ bytes: encodeWeights(map({ a: [1, 2] })) }, {}, 'wrong_weights'],
      [{ bytes: encodeWeights(map({ a: [1, NaN], b: [0] })) }, {}, 'not_finite'],
      [{ bytes: encodeWeights(map({ a: [300, 0], b: [0] })) }, {}, 'norm_too_large'],
    ];
    for (const [s, v, code] of cases) expect(runIntake(stages, submission(s), view(v)), `${JSON.stringify(s)} ${JSON.stringify(v)}`).toMatchObject({ ok: false, code });
  });

  it('applies the first failing stage in order: duplicates before everything, cheap checks before decoding', () => {
    const garbage = new Uint8Array(7);
    // A duplicate is answered as such even while shutting down, stale and undecodable.
    expect(runIntake(stages, submission({ baseVersion: 0, bytes: garbage }), view({ closing: true, seen: () => 'stored' }))).toEqual({ ok: false, duplicate: 'stored' });
    expect(runIntake(stages, submission({ baseVersion: 0, bytes: garbage }), view({ closing: true }))).toMatchObject({ code: 'busy' });
    expect(runIntake(stages, submission({ baseVersion: 0, examples: 0, bytes: garbage }), view())).toMatchObject({ code: 'too_stale' });
    expect(runIntake(stages, submission({ examples: 0, bytes: garbage }), view({ waiting: 99 }))).toMatchObject({ code: 'bad_examples' });
    expect(runIntake(stages, submission({ bytes: garbage }), view({ waiting: 99 }))).toMatchObject({ code: 'busy' });
    expect(stages.map((s) => s.name)).toEqual(['dedupe', 'shutting-down', 'staleness', 'examples', 'backlog', 'decode', 'finite', 'norm-guard']);
    expect(intakeStages({ rateLimit: { perMinute: 1 } }).map((s) => s.name).slice(0, 4)).toEqual(['dedupe', 'shutting-down', 'rate-limit', 'staleness']);
  });

  it('clips above the median bound: the delta is scaled, its bytes re-encoded, the window remembers the bound', () => {
    const r = runIntake(stages, submission({ bytes: encodeWeights(map({ a: [30, 40], b: [0] })) }), view({ recentNorms: [1, 1, 1] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.update).toMatchObject({ norm: 50, clipped: true });
    expect(Array.from(r.value.update.delta.get('a')!.data)).toEqual([2.4000000953674316, 3.200000047683716]);
    expect(r.value.guardNorm).toBe(4);
    const stored = runIntake(stages, submission({ bytes: r.value.bytes }), view());
    expect(stored.ok && Array.from(stored.value.update.delta.get('a')!.data)).toEqual([2.4000000953674316, 3.200000047683716]);
  });

  it('rate-limits per key with the wait, after dedupe', () => {
    let t = 0;
    const limited = [...stages.slice(0, 2), rateLimit({ perMinute: 6, burst: 1 }, () => t), ...stages.slice(2)];
    expect(runIntake(limited, submission(), view()).ok).toBe(true);
    expect(runIntake(limited, submission(), view())).toMatchObject({ ok: false, code: 'rate_limited', retryAfterMs: 10_000 });
    expect(runIntake(limited, submission(), view({ seen: () => 'queued' }))).toEqual({ ok: false, duplicate: 'queued' });
    t = 10_000;
    expect(runIntake(limited, submission({ baseVersion: 0 }), view())).toMatchObject({ code: 'too_stale' });
  });

  it('takes a new stage anywhere in the list, which sees what earlier stages established', () => {
    const seen: Array<number | undefined> = [];
    const quarantine: IntakeStage = {
      name: 'quarantine',
      check: (c) => {
        seen.push(c.staleness);
        return c.submission.contributorId === 'mallory' ? { ok: false, code: 'bad_request', reason: 'quarantined' } : { ok: true, value: c };
      },
    };
    const withQuarantine = [...stages.slice(0, 3), quarantine, ...stages.slice(3)];
    expect(runIntake(withQuarantine, submission({ contributorId: 'mallory' }), view())).toMatchObject({ ok: false, code: 'bad_request', reason: 'quarantined' });
    expect(runIntake(withQuarantine, submission(), view()).ok).toBe(true);
    expect(seen).toEqual([1, 1]);
  });
});
