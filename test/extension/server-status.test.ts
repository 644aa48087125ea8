/** What the extension reads from a server's /api/status: progress, DP, bandwidth — and nothing when absent. */
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../extension/common/format';
import { bandwidthLine, dpLine, parseServerStatus, progressLine, updatesPerDayBound } from '../../extension/common/server-status';
import { startTiny } from '../server/helpers';

describe('server status', () => {
  it('reads the eval metrics by their contract names and shows nothing without them', () => {
    const s = parseServerStatus({ version: 12, eval: { version: 11, at: 1, metrics: { knn_top1: 0.412, knn_top1_raw_pixels: 0.301 } } });
    expect(progressLine(s)).toBe('Shared model, version 11: recognises 41 % of test pictures (raw pixels alone: 30 %).');
    expect(progressLine(parseServerStatus({ version: 3, eval: { metrics: { knn_top1: 0.5 } } }))).toBe('Shared model: recognises 50 % of test pictures.');
    expect(progressLine(parseServerStatus({ version: 3, eval: null }))).toBeNull();
    expect(progressLine(parseServerStatus('garbage'))).toBeNull();
  });

  it('says "no DP" when the server does not say it runs DP', () => {
    expect(dpLine(parseServerStatus({}))).toMatch(/^No DP/);
    expect(dpLine(parseServerStatus({ dp: false }))).toMatch(/^No DP/);
    expect(dpLine(parseServerStatus({ dp: { enabled: false, epsilon: 8 } }))).toMatch(/^No DP/);
    expect(dpLine(parseServerStatus({ dp: { epsilon: 8 } }))).toMatch(/^Yes: .*ε = 8/);
    expect(dpLine(parseServerStatus({ dp: true }))).toMatch(/^Yes/);
    expect(dpLine(null)).toMatch(/^Unknown/);
  });

  it('bounds updates per day by the measured step time, the CPU cap and the rate limit', () => {
    expect(updatesPerDayBound({ budgetMinutes: 30, maxUpdatesPerMinute: null, localSteps: 2, stepMs: 500, cpuPercent: 50 })).toBe(900); // 2 s per update
    expect(updatesPerDayBound({ budgetMinutes: 30, maxUpdatesPerMinute: 6, localSteps: 2, stepMs: 500, cpuPercent: 50 })).toBe(180);
    expect(updatesPerDayBound({ budgetMinutes: 30, maxUpdatesPerMinute: null, localSteps: 2, stepMs: null, cpuPercent: 50 })).toBeNull();
    const t = { updateBytes: 30_000, downloadBytes: 60_000, localSteps: 2, maxUpdatesPerMinute: null };
    expect(bandwidthLine(t, 100)).toBe(`Each update sends about 30 kB and downloads up to 60 kB of model weights. At 100 updates a day that is at most ${formatBytes(9_000_000)} a day.`);
  });

  it("a real server's /api/status carries the transfer sizes the first-run page shows", async () => {
    const srv = await startTiny({ rateLimit: { perMinute: 12 } });
    try {
      const s = parseServerStatus(await (await fetch(`${srv.url}/api/status`)).json());
      const online = [...srv.coordinator.globalState.online.values()].reduce((n, w) => n + w.data.length, 0);
      expect(s.transfer).toEqual({ updateBytes: online * 4, downloadBytes: expect.any(Number), localSteps: 2, maxUpdatesPerMinute: 12 });
      expect(s.transfer!.downloadBytes).toBeGreaterThan(s.transfer!.updateBytes); // BYOL pulls its target too
      expect(s.dp).toBeNull();
    } finally {
      await srv.cleanup();
    }
  });
});
