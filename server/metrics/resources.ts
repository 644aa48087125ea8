/**
 * Samples the server process's resource use for the dashboard: CPU (share of one core over the
 * interval), resident memory, heap, and event-loop lag: how late a 50 ms timer fires, i.e. how long
 * the loop was blocked (a fold, a checkpoint encode). A plain timer probe: perf_hooks'
 * monitorEventLoopDelay reports the timer interval itself and missed long blocks when tried here.
 */

export interface ResourceSample {
  at: number;
  /** CPU time over wall time since the previous sample: 1 = one core fully busy. */
  cpu: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay over the interval, milliseconds. */
  lagMeanMs: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

export interface ResourceSampler {
  sample(): ResourceSample;
  stop(): void;
}

const PROBE_MS = 50;

export function createResourceSampler(): ResourceSampler {
  let lags: number[] = [];
  let expected = performance.now() + PROBE_MS;
  const probe = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + PROBE_MS;
  }, PROBE_MS);
  probe.unref();
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  return {
    sample() {
      const now = performance.now();
      const cpu = process.cpuUsage(lastCpu);
      const wallUs = Math.max(1, (now - lastAt) * 1000);
      lastCpu = process.cpuUsage();
      lastAt = now;
      const mem = process.memoryUsage();
      const sorted = lags.sort((a, b) => a - b);
      lags = [];
      const s: ResourceSample = {
        at: Date.now(),
        cpu: (cpu.user + cpu.system) / wallUs,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        lagMeanMs: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0,
        lagP99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0,
        lagMaxMs: sorted.length ? sorted[sorted.length - 1] : 0,
      };
      return s;
    },
    stop: () => clearInterval(probe),
  };
}
