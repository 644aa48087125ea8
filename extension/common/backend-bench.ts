/**
 * The Automatic backend choice by measurement: one short training step timed on each backend
 * this browser has, remembered in `storage.local` under {@link BENCH_KEY} together with the
 * browser it was measured on. A new browser version (user agent) makes the result stale, so the
 * next start measures again. Pure: the trainer's page runs the workers (offscreen/measure-backends.ts),
 * the background stores the result.
 */
import * as z from 'zod/mini';
import { DEFAULT_BACKEND_ORDER, type BackendName } from './backend-choice';

export { BENCH_KEY } from './keys';

/**
 * The probe step: the registry's default method and encoder at a small batch, so one step of
 * each backend takes about a second on a CPU path and compiles every kernel a real round runs.
 */
export interface BenchProbe {
  method: string;
  batchSize: number;
  /** Timed steps after one untimed warm-up step (shader compilation, kernel packing); the fastest counts. */
  steps: number;
}
export const BENCH_PROBE: BenchProbe = { method: 'byol', batchSize: 4, steps: 2 };

const backendName = z.enum(DEFAULT_BACKEND_ORDER as [BackendName, ...BackendName[]]);
export const benchEntrySchema = z.object({
  backend: backendName,
  /** Fastest timed step; null when the backend failed or ran out of its time limit. */
  msPerStep: z.nullable(z.number().check(z.positive())),
  /** Why there is no time: 'unavailable: …', or 'slower than N ms' (a lower bound, from the limit). */
  note: z.optional(z.string().check(z.maxLength(300))),
  /** For a backend stopped by its time limit: the step is at least this slow. */
  atLeastMs: z.optional(z.number().check(z.positive())),
  /**
   * A GPU emulated on the CPU (SwiftShader, llvmpipe): not timed — its probe competes with wasm
   * for the same cores, and a stopped probe leaves seconds of queued work in the GPU process.
   */
  softwareGpu: z.optional(z.boolean()),
});
export const backendBenchSchema = z.object({
  /** navigator.userAgent where it was measured: a browser update invalidates the result. */
  browser: z.string().check(z.maxLength(1000)),
  measuredAt: z.number(),
  probe: z.string().check(z.maxLength(200)),
  results: z.array(benchEntrySchema).check(z.maxLength(8)),
});
export type BenchEntry = z.output<typeof benchEntrySchema>;
export type BackendBench = z.output<typeof backendBenchSchema>;

/** A stored value, or null when it is missing or malformed. */
export function parseBench(raw: unknown): BackendBench | null {
  const r = backendBenchSchema.safeParse(raw);
  return r.success ? r.data : null;
}

/** The probe's identity: a changed probe makes old timings incomparable. */
export const probeKey = (p: BenchProbe): string => `${p.method}/b${p.batchSize}/s${p.steps}`;

/** Whether `bench` must be measured again: none yet, another browser (version), or another probe. */
export function benchStale(bench: BackendBench | null, userAgent: string, probe: BenchProbe = BENCH_PROBE): boolean {
  return bench === null || bench.browser !== userAgent || bench.probe !== probeKey(probe) || !bench.results.some((r) => r.msPerStep !== null);
}

/**
 * Try order from a measurement: timed backends fastest first, then software GPUs (not timed:
 * after wasm, before plain JavaScript), then those stopped by their time limit (by their lower
 * bound), then cpu as the last resort even when it was not measured. Unavailable backends are
 * left out — except wasm: when its probe was not timed (cut off by its limit, or it failed) it
 * still goes right before the software GPUs. The emulated GPU runs on the same cores and is
 * slower still, and a wasm that really is missing costs nothing there (the worker falls through
 * to the next backend). Twice a loaded CI machine kept the extension on SwiftShader at 6.5 s per
 * step after Automatic, where wasm takes ~0.2 s; an untimed wasm probe is how the order allowed it.
 */
export function measuredOrder(bench: BackendBench): BackendName[] {
  const key = (r: BenchEntry) =>
    r.msPerStep !== null ? r.msPerStep
    : r.backend === 'wasm' ? 1e11 - 1
    : r.softwareGpu ? 1e11
    : r.atLeastMs !== undefined ? 1e12 + r.atLeastMs
    : Infinity;
  const ranked = bench.results.filter((r) => key(r) < Infinity).sort((a, b) => key(a) - key(b)).map((r) => r.backend);
  return ranked.includes('cpu') ? ranked : [...ranked, 'cpu'];
}

/** The measured fastest backend, or null when none was timed. */
export function fastest(bench: BackendBench | null): BackendName | null {
  const timed = bench?.results.filter((r) => r.msPerStep !== null) ?? [];
  return timed.length ? timed.reduce((a, b) => (b.msPerStep! < a.msPerStep! ? b : a)).backend : null;
}

/**
 * Time limit for one backend's probe: a generous first allowance (model build, shader
 * compilation), and once something was timed, no longer than it takes to know this one is
 * clearly slower (`factor` × the best whole probe).
 */
export function benchLimitMs(bestMsPerStep: number | null, probe: BenchProbe = BENCH_PROBE, o: { maxMs?: number; allowanceMs?: number; factor?: number } = {}): number {
  const maxMs = o.maxMs ?? 30_000;
  if (bestMsPerStep === null) return maxMs;
  return Math.min(maxMs, (o.allowanceMs ?? 8_000) + (o.factor ?? 3) * bestMsPerStep * (probe.steps + 1));
}

/** The note of a software GPU's entry. */
export const SOFTWARE_GPU_NOTE = 'software GPU (emulated on the CPU): not timed, ranked after wasm';

/** One line per backend for the settings page and the popup's details, e.g. "wasm 412 ms per step". */
export function describeBench(bench: BackendBench): string[] {
  return bench.results.map((r) => `${r.backend}: ${r.msPerStep !== null ? `${Math.round(r.msPerStep)} ms per step` : (r.note ?? 'not measured')}`);
}

/** One sentence: what Automatic picked and when it was measured. */
export function benchSummary(bench: BackendBench | null): string {
  const best = fastest(bench);
  if (!bench || !best) return 'Not measured yet: the backends are timed before the first training round.';
  return `Automatic trains on ${best}, the fastest here when measured on ${new Date(bench.measuredAt).toLocaleString()}:`;
}
