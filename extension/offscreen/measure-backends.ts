/**
 * Runs the Automatic choice's micro-benchmark (common/backend-bench.ts): each backend in a fresh
 * training worker of its own, one after the other (timings side by side, never concurrently),
 * each against a time limit. A backend that cannot start is 'unavailable'; one that runs past
 * its limit is terminated and recorded as at least that slow — a hung GPU driver or a cpu
 * backend hundreds of times slower costs seconds, not minutes.
 */
import type { BackendName } from '../common/backend-choice';
import { BENCH_PROBE, benchLimitMs, probeKey, type BackendBench, type BenchEntry, type BenchProbe } from '../common/backend-bench';
import type { ProbeTiming } from '../worker/bench-step';

/** One fresh worker, as the benchmark needs it. */
export interface BenchWorker {
  benchmark(name: BackendName, probe: BenchProbe): Promise<ProbeTiming>;
  terminate(): void;
}

export interface MeasureOptions {
  spawn: () => BenchWorker;
  /** navigator.userAgent, stored with the result. */
  userAgent: string;
  probe?: BenchProbe;
  /** Measured in this order: wasm first gives the later limits a yardstick. */
  backends?: readonly BackendName[];
  limitMs?: (bestMsPerStep: number | null) => number;
  log?: (line: string) => void;
  now?: () => number;
}

export const MEASURE_ORDER: readonly BackendName[] = ['wasm', 'webgpu', 'webgl', 'cpu'];

export async function measureBackends(o: MeasureOptions): Promise<BackendBench> {
  const probe = o.probe ?? BENCH_PROBE;
  const results: BenchEntry[] = [];
  let best: number | null = null;
  for (const backend of o.backends ?? MEASURE_ORDER) {
    const limit = (o.limitMs ?? ((b) => benchLimitMs(b, probe)))(best);
    const worker = o.spawn();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t0 = performance.now();
    try {
      const timing = await Promise.race([
        worker.benchmark(backend, probe),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LimitError(limit)), limit))),
      ]);
      results.push({ backend, msPerStep: timing.msPerStep });
      best = best === null ? timing.msPerStep : Math.min(best, timing.msPerStep);
      o.log?.(`benchmark: ${backend} ${timing.msPerStep.toFixed(0)} ms per step (first step ${timing.firstStepMs.toFixed(0)} ms)`);
    } catch (e) {
      const entry: BenchEntry = e instanceof LimitError
        ? { backend, msPerStep: null, note: `slower than ${Math.round(limit)} ms for the whole probe`, atLeastMs: limit / (probe.steps + 1) }
        : { backend, msPerStep: null, note: `unavailable: ${String((e as Error)?.message ?? e).slice(0, 200)}` };
      results.push(entry);
      o.log?.(`benchmark: ${backend} ${entry.note} (${(performance.now() - t0).toFixed(0)} ms)`);
    } finally {
      clearTimeout(timer);
      worker.terminate();
    }
  }
  return { browser: o.userAgent, measuredAt: (o.now ?? Date.now)(), probe: probeKey(probe), results };
}

class LimitError extends Error {
  constructor(readonly limitMs: number) {
    super(`over the ${limitMs} ms limit`);
  }
}
