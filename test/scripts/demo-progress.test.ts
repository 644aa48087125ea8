import { describe, expect, it } from 'vitest';
import { etaMinutes, longProgressLine, progressBar } from '../../scripts/demo-progress';

describe('npm start --long progress', () => {
  it('extrapolates the recent kNN slope to raw pixels', () => {
    // +1 point per minute from 70%: 78% is 8 minutes after the last point at 72%.
    const pts = [0, 1, 2].map((m) => ({ t: m * 60_000, knn: 0.7 + m * 0.01 }));
    expect(etaMinutes(pts, 0.8)).toBeCloseTo(8, 6);
    expect(etaMinutes(pts.slice(0, 1), 0.8)).toBeNull();
    expect(etaMinutes([{ t: 0, knn: 0.72 }, { t: 60_000, knn: 0.71 }], 0.8)).toBeNull();
    expect(etaMinutes([{ t: 0, knn: 0.72 }, { t: 60_000, knn: 0.81 }], 0.8)).toBe(0);
  });
  it('draws the time bar and says how far raw pixels are', () => {
    expect(progressBar(15 * 60_000, 60 * 60_000, 8)).toBe('[##------] 15/60 min');
    const line = longProgressLine([{ t: 0, knn: 0.7 }, { t: 60_000, knn: 0.71 }], 0.78, 60_000, 60 * 60_000);
    expect(line).toContain('kNN 71.0% vs raw pixels 78.0% (7.0 points to go)');
    expect(line).toContain('ETA ~7 min');
    expect(longProgressLine([{ t: 0, knn: 0.79 }], 0.78, 1, 60_000)).toContain('passed raw pixels');
  });
});
