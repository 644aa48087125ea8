/** The defences' flags (server/cli-guard.ts) and their validation in resolveConfig. */
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../server/cli';
import { resolveConfig } from '../../server/config';

describe('robust aggregation and DP flags', () => {
  it('map to the aggregation config', () => {
    expect(parseCli(['--robust', 'trimmed-mean', '--trim', '0.1', '--norm-floor', '0.05', '--dp-clip', '0.5', '--dp-noise', '1.2'], {})).toMatchObject({
      aggregation: { robust: { kind: 'trimmed-mean', trim: 0.1 }, normGuard: { floor: 0.05 }, dp: { clip: 0.5, noiseMultiplier: 1.2, delta: 1e-5 } },
    });
    expect(parseCli(['--bucket-size', '4', '--cc-iterations', '2', '--cc-center', 'zero'], {})).toMatchObject({ aggregation: { robust: { bucketSize: 4, iterations: 2, center: 'zero' } } });
    expect(() => parseCli(['--cc-center', 'mean'], {})).toThrow(/--cc-center must be previous or zero/);
    const plain = parseCli([], {});
    expect(plain).not.toHaveProperty('aggregation.robust');
    expect(plain).not.toHaveProperty('aggregation.dp');
  });

  it('refuse bad values with one line', () => {
    expect(() => parseCli(['--robust', 'krum'], {})).toThrow(/--robust must be one of none, centered-clip, trimmed-mean, median, got 'krum'/);
    expect(() => parseCli(['--dp-noise', '1'], {})).toThrow(/need --dp-clip/);
    expect(() => parseCli(['--bucket-size', '1.5'], {})).toThrow(/--bucket-size expects an integer/);
  });

  it('resolveConfig: robust by default on an open server, validated ranges', () => {
    expect(resolveConfig({}).aggregation.robust.kind).toBe('centered-clip');
    expect(resolveConfig({ contributorTokens: ['aaaaaaaa'] }).aggregation.robust.kind).toBe('none');
    expect(resolveConfig({ contributorTokens: ['aaaaaaaa'], aggregation: { robust: { kind: 'median' } } }).aggregation.robust).toMatchObject({ kind: 'median', bucketSize: 2 });
    expect(() => resolveConfig({ aggregation: { robust: { trim: 0.5 } } })).toThrow(/trim fraction must be in \[0, 0.5\)/);
    expect(() => resolveConfig({ aggregation: { robust: { bucketSize: 0 } } })).toThrow(/bucket size/);
    expect(() => resolveConfig({ aggregation: { dp: { clip: 0, noiseMultiplier: 1, delta: 1e-5 } } })).toThrow(/clip norm C must be > 0/);
    expect(() => resolveConfig({ aggregation: { dp: { clip: 1, noiseMultiplier: 1, delta: 1 } } })).toThrow(/δ must be in \(0, 1\)/);
    expect(() => resolveConfig({ aggregation: { normGuard: { floor: -1 } as never } })).toThrow(/floor/);
  });
});
