/**
 * The Automatic choice's pure parts: staleness (browser version, probe), the order from timings,
 * the time limits, and the chooser's decisions; measureBackends' limit with workers that never
 * answer (the Chromium test, backend-measure.test.ts, runs it on real workers).
 */
import { describe, expect, it } from 'vitest';
import { BENCH_PROBE, SOFTWARE_GPU_NOTE, benchLimitMs, benchStale, describeBench, fastest, measuredOrder, parseBench, probeKey, type BackendBench } from '../../extension/common/backend-bench';
import { BackendChooser } from '../../extension/offscreen/backend-chooser';
import { measureBackends } from '../../extension/offscreen/measure-backends';

const UA = 'Mozilla/5.0 Chrome/156.0.0.0';
const bench = (results: BackendBench['results'], o: Partial<BackendBench> = {}): BackendBench => ({ browser: UA, measuredAt: 1000, probe: probeKey(BENCH_PROBE), results, ...o });
const sample = bench([
  { backend: 'wasm', msPerStep: 400 },
  { backend: 'webgpu', msPerStep: 150 },
  { backend: 'webgl', msPerStep: null, note: 'slower than 9000 ms for the whole probe', atLeastMs: 3000 },
  { backend: 'cpu', msPerStep: null, note: 'unavailable: no' },
]);

describe('backend timings', () => {
  it('orders fastest first, then those cut off by their limit, cpu always last; unavailable ones left out', () => {
    expect(measuredOrder(sample)).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
    expect(measuredOrder(bench([{ backend: 'wasm', msPerStep: 5 }, { backend: 'webgl', msPerStep: null, note: 'unavailable: x' }]))).toEqual(['wasm', 'cpu']);
    expect(fastest(sample)).toBe('webgpu');
    expect(fastest(null)).toBeNull();
    expect(describeBench(sample)[0]).toBe('wasm: 400 ms per step');
  });

  it('is stale when missing, from another browser version, or from another probe', () => {
    expect(benchStale(null, UA)).toBe(true);
    expect(benchStale(sample, UA)).toBe(false);
    expect(benchStale(sample, 'Mozilla/5.0 Chrome/157.0.0.0')).toBe(true);
    expect(benchStale({ ...sample, probe: 'byol/b64/s9' }, UA)).toBe(true);
    expect(parseBench({ ...sample, results: [{ backend: 'quantum', msPerStep: 1 }] })).toBeNull();
    expect(parseBench(JSON.parse(JSON.stringify(sample)))).toEqual(sample);
  });

  it('limits each probe: generous before anything was timed, a few times the best after', () => {
    expect(benchLimitMs(null)).toBe(30_000);
    expect(benchLimitMs(100)).toBe(8_000 + 3 * 100 * (BENCH_PROBE.steps + 1));
    expect(benchLimitMs(1e6)).toBe(30_000);
  });

  it('measureBackends records a timing, an error, and a worker past its limit (terminated)', async () => {
    const terminated: string[] = [];
    const result = await measureBackends({
      userAgent: UA, now: () => 42, backends: ['wasm', 'webgl', 'cpu'], limitMs: (best) => (best === null ? 1000 : 50),
      spawn: () => {
        let name = '';
        return {
          benchmark: (b) => {
            name = b;
            if (b === 'wasm') return Promise.resolve({ backend: b, msPerStep: 20, firstStepMs: 90, loss: 1 });
            if (b === 'webgl') return Promise.reject(new Error('none of the backends webgl could be initialised'));
            return new Promise(() => {}); // cpu: never answers
          },
          terminate: () => terminated.push(name),
        };
      },
    });
    expect(result).toEqual(bench([
      { backend: 'wasm', msPerStep: 20 },
      { backend: 'webgl', msPerStep: null, note: 'unavailable: none of the backends webgl could be initialised' },
      { backend: 'cpu', msPerStep: null, note: 'slower than 50 ms for the whole probe', atLeastMs: 50 / 3 },
    ], { measuredAt: 42 }));
    expect(terminated).toEqual(['wasm', 'webgl', 'cpu']);
  });

  it('ranks a software GPU after wasm (and before cpu) without timing it', async () => {
    const benchmarked: string[] = [];
    const budgets: number[] = [];
    const result = await measureBackends({
      userAgent: UA, now: () => 42, limitMs: () => 1000,
      spawn: () => ({
        benchmark: (b, _probe, budgetMs) => {
          benchmarked.push(b);
          budgets.push(budgetMs ?? Infinity);
          return b === 'cpu' ? Promise.reject(new Error('not here')) : Promise.resolve({ backend: b, msPerStep: 20, firstStepMs: 90, loss: 1 });
        },
        softwareGpu: async (b) => b === 'webgpu', // webgl: a real GPU
        terminate: () => {},
      }),
    });
    expect(benchmarked).toEqual(['wasm', 'webgl', 'cpu']);
    // The worker's own budget leaves part of the limit for answering: it never reaches the limit.
    for (const b of budgets) expect(b).toBeLessThan(1000);
    expect(result.results[1]).toEqual({ backend: 'webgpu', msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true });
    expect(measuredOrder(result)).toEqual(['wasm', 'webgl', 'webgpu', 'cpu']);
    expect(measuredOrder(bench([
      { backend: 'webgl', msPerStep: null, note: 'slower than 9000 ms', atLeastMs: 3000 },
      { backend: 'webgpu', msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true },
      { backend: 'wasm', msPerStep: 400 },
    ]))).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    // wasm stopped by its limit (a loaded machine) or failed still goes before an emulated GPU,
    // which runs on the same cores; a real GPU cut off by its limit ranks by its lower bound after.
    expect(measuredOrder(bench([
      { backend: 'wasm', msPerStep: null, note: 'slower than 30000 ms for the whole probe', atLeastMs: 10_000 },
      { backend: 'webgpu', msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true },
      { backend: 'webgl', msPerStep: null, note: 'slower than 9000 ms', atLeastMs: 3000 },
    ]))).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(measuredOrder(bench([
      { backend: 'wasm', msPerStep: null, note: 'unavailable: worker crashed' },
      { backend: 'webgpu', msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true },
      { backend: 'webgl', msPerStep: null, note: SOFTWARE_GPU_NOTE, softwareGpu: true },
    ]))).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    // A timed real GPU still comes first.
    expect(measuredOrder(bench([
      { backend: 'wasm', msPerStep: null, note: 'unavailable: x' },
      { backend: 'webgpu', msPerStep: 80 },
    ]))).toEqual(['webgpu', 'wasm', 'cpu']);
  });

  it('records a probe that stopped itself before a step that would not fit as slower than its limit', async () => {
    const result = await measureBackends({
      userAgent: UA, now: () => 42, backends: ['wasm', 'cpu'], limitMs: () => 3000,
      spawn: () => ({
        benchmark: async (b) => (b === 'wasm'
          ? { backend: b, msPerStep: 20, firstStepMs: 90, loss: 1, stopped: 'stopped before step 3 of 3' }
          : { backend: b, msPerStep: null, firstStepMs: 2500, loss: 1, stopped: 'stopped before step 2 of 3: the last took 2500 ms' }),
        terminate: () => {},
      }),
    });
    expect(result.results).toEqual([
      { backend: 'wasm', msPerStep: 20 },
      { backend: 'cpu', msPerStep: null, note: 'slower than 3000 ms for the whole probe (stopped before step 2 of 3: the last took 2500 ms)', atLeastMs: 1000 },
    ]);
  });
});

describe('BackendChooser', () => {
  it("measures once for 'auto' without timings, follows them, and measures again for a new browser or after a reset", async () => {
    let measured = 0;
    let saved: BackendBench | null = null;
    const c = new BackendChooser({
      userAgent: UA,
      measure: async () => ({ ...sample, measuredAt: 1000 + ++measured }),
      save: async (b) => void (saved = b),
    });
    expect(c.mustMeasure('wasm', null)).toBe(false); // a named backend needs no timings
    expect(c.choose('wasm', null)).toBe(false);
    expect(c.choice()).toEqual({ order: ['wasm', 'webgpu', 'webgl', 'cpu'], softwareGpu: 'allow' });
    expect(c.mustMeasure('auto', null)).toBe(true);
    const b1 = await c.measure();
    expect(saved).toEqual(b1);
    expect(c.choose('auto', b1)).toBe(true);
    expect(c.choice()).toEqual({ order: ['webgpu', 'wasm', 'webgl', 'cpu'], softwareGpu: 'allow' });
    expect(c.mustMeasure('auto', b1)).toBe(false);
    expect(c.choose('auto', b1)).toBe(false); // same timings: the worker stays
    expect(c.mustMeasure('auto', { ...b1, browser: 'Mozilla/5.0 Chrome/157.0.0.0' })).toBe(true);
    expect(c.mustMeasure('auto', null)).toBe(true); // stored, then forgotten: "Measure again"
  });

  it('keeps its own timings when the background could not store them (no measuring every round)', async () => {
    const c = new BackendChooser({ userAgent: UA, measure: async () => sample, save: async () => Promise.reject(new Error('quota')) });
    await c.measure();
    expect(c.mustMeasure('auto', null)).toBe(false);
    expect(c.choose('auto', null)).toBe(true);
    expect(c.choice().order[0]).toBe('webgpu');
  });
});
