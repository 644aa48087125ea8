/**
 * Runs the Automatic choice's micro-benchmark (common/backend-bench.ts): each backend in a fresh
 * training worker of its own, one after the other (timings side by side, never concurrently),
 * each against a time limit. A backend that cannot start is 'unavailable'; one that runs past
 * its limit is terminated and recorded as at least that slow — a hung GPU driver or a cpu
 * backend hundreds of times slower costs seconds, not minutes. The worker itself starts no step
 * that would not end within 90% of the limit, so the limit cuts off only a first step or a hung
 * worker. A GPU emulated on the CPU (SwiftShader) is not timed at all: it shares the cores with
 * wasm and loses to it, and stopping its probe leaves the GPU process busy for seconds (the first
 * wasm training steps after it took ~3 s instead of ~0.2 s).
 */
import type { BackendName } from '../common/backend-choice';
import { BENCH_PROBE, SOFTWARE_GPU_NOTE, benchLimitMs, probeKey, type BackendBench, type BenchEntry, type BenchProbe } from '../common/backend-bench';
import type { ProbeTiming } from '../worker/bench-step';

/** One fresh worker, as the benchmark needs it. */
export interface BenchWorker {
  /** Times the probe; starts no step that would not end within `budgetMs`. */
  benchmark(name: BackendName, probe: BenchProbe, budgetMs?: number): Promise<ProbeTiming>;
  /** Whether the GPU behind `name` is emulated on the CPU (absent: not asked, everything is timed). */
  softwareGpu?(name: 'webgpu' | 'webgl'): Promise<boolean>;
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
      // One deadline for the whole backend: the software-GPU question and the probe.
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LimitError(limit)), limit)));
      const bounded = <T>(p: Promise<T>) => Promise.race([p, deadline]);
      if ((backend === 'webgpu' || backend === 'webgl') && worker.softwareGpu && (await bounded(worker.softwareGpu(backend)))) {
        results.push({ backend, msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true });
        o.log?.(`benchmark: ${backend} ${SOFTWARE_GPU_NOTE}`);
        continue;
      }
      const timing = await bounded(worker.benchmark(backend, probe, limit * BUDGET_SHARE - (performance.now() - t0)));
      if (timing.msPerStep === null) throw new LimitError(limit, timing.stopped);
      results.push({ backend, msPerStep: timing.msPerStep });
      best = best === null ? timing.msPerStep : Math.min(best, timing.msPerStep);
      o.log?.(`benchmark: ${backend} ${timing.msPerStep.toFixed(0)} ms per step (first step ${timing.firstStepMs.toFixed(0)} ms${timing.stopped ? `; ${timing.stopped}` : ''})`);
    } catch (e) {
      const entry: BenchEntry = e instanceof LimitError
        ? { backend, msPerStep: null, note: `slower than ${Math.round(limit)} ms for the whole probe${e.why ? ` (${e.why})` : ''}`.slice(0, 300), atLeastMs: limit / (probe.steps + 1) }
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

/** The worker's own budget, of the limit: what is left covers answering and terminating. */
const BUDGET_SHARE = 0.9;

class LimitError extends Error {
  constructor(readonly limitMs: number, readonly why?: string) {
    super(`over the ${limitMs} ms limit`);
  }
}
