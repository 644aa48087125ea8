/**
 * The SIMD kernel pool (shared/backends/wasm/simd/pool.ts + pool-worker.mjs) with real
 * worker_threads: a job published the moment the workers say 'ready' is run (a worker that read
 * the generation after 'ready' could miss it and block the caller, and the whole test process,
 * forever), and a worker that never answers ends in an error within the stall bound.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LN_FIELDS, writeJob } from '../../../../shared/backends/wasm/simd/jobs';
import { compileNodeSimd } from '../../../../shared/backends/wasm/simd/node-simd';
import { createSimdPool, type SimdPool, type SpawnWorker } from '../../../../shared/backends/wasm/simd/pool';
import { instantiateSimd } from '../../../../shared/backends/wasm/simd/module';
import { createPooledKernels, withSingleThreadFallback } from '../../../../shared/backends/wasm/simd/pooled-kernels';
import { createSimdKernels } from '../../../../shared/backends/wasm/simd/simd-kernels';

const POOL_WORKER = new URL('../../../../shared/backends/wasm/simd/pool-worker.mjs', import.meta.url);

function spawnFrom(url: URL | string, evalCode = false): SpawnWorker {
  return (onMessage, onError) => {
    const w = evalCode ? new Worker(url as string, { eval: true }) : new Worker(url);
    w.on('message', onMessage);
    w.on('error', onError);
    return w;
  };
}

/** Writes a LayerNorm job over `rows` × `c` values into the pool's memory; returns a checker. */
function layerNormJob(pool: SimdPool, rows: number, c: number): { job: number; check(): void } {
  const memory = pool.instance.memory;
  const at = (n: number) => pool.heap.malloc(4 * n);
  const [x, gamma, beta, y, mean, rstd, job, counter] = [at(rows * c), at(c), at(c), at(rows * c), at(rows), at(rows), at(LN_FIELDS.length), at(1)];
  const f32 = (p: number, n: number) => new Float32Array(memory.buffer, p, n);
  f32(x, rows * c).forEach((_, i, a) => (a[i] = Math.sin(i * 0.7) * (1 + (i % c))));
  f32(gamma, c).fill(1);
  f32(beta, c).fill(0);
  new Int32Array(memory.buffer, counter, 1)[0] = 0;
  writeJob(memory, job, LN_FIELDS, { x, gamma, beta, y, mean, rstd, rows, c, eps: 1e-5, rowsPerItem: 1, counter });
  return {
    job,
    check() {
      const out = f32(y, rows * c);
      for (let r = 0; r < rows; r++) {
        const row = out.subarray(r * c, (r + 1) * c);
        const m = row.reduce((a, b) => a + b, 0) / c;
        const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / c;
        expect(Math.abs(m)).toBeLessThan(1e-4);
        expect(Math.abs(v - 1)).toBeLessThan(1e-2);
      }
    },
  };
}

describe('SIMD kernel pool', async () => {
  const compiled = await compileNodeSimd(true);
  const pools: SimdPool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.dispose();
  });

  it.skipIf(compiled == null)('runs a job published as soon as its workers are ready, pool after pool', async () => {
    for (let i = 0; i < 12; i++) {
      const pool = await createSimdPool(compiled!.module, compiled!.variant, 3, spawnFrom(POOL_WORKER), { initialBytes: 1 << 20, stallMs: 20_000 });
      pools.push(pool);
      const ln = layerNormJob(pool, 64, 8);
      pool.run('layer_norm_run', ln.job);
      ln.check();
    }
  });

  it.skipIf(compiled == null)('throws within its stall bound when a worker never takes the job', async () => {
    // Says 'ready' like a pool worker, then never looks at the control block.
    const silent = spawnFrom(`require('node:worker_threads').parentPort.once('message', (m) => require('node:worker_threads').parentPort.postMessage('ready'));`, true);
    const pool = await createSimdPool(compiled!.module, compiled!.variant, 2, silent, { initialBytes: 1 << 20, stallMs: 1500 });
    pools.push(pool);
    const ln = layerNormJob(pool, 64, 8);
    const t0 = performance.now();
    expect(() => pool.run('layer_norm_run', ln.job)).toThrow(/did not finish within 1.5 s/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400);
  });
});

describe('SIMD kernel pool: bounded start and the single-thread fallback', async () => {
  const threaded = await compileNodeSimd(true);
  const single = await compileNodeSimd(false);

  it.skipIf(threaded == null)('rejects within its start bound when a worker never says ready, and ends the workers', async () => {
    const exited: number[] = [];
    const mute: SpawnWorker = (onMessage, onError) => {
      const w = new Worker(`require('node:worker_threads').parentPort.once('message', () => {});`, { eval: true });
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', (code) => exited.push(code));
      return w;
    };
    const t0 = performance.now();
    await expect(createSimdPool(threaded!.module, threaded!.variant, 3, mute, { initialBytes: 1 << 20, readyMs: 500 })).rejects.toThrow(/2 pool worker\(s\) not ready within 0.5 s/);
    expect(performance.now() - t0).toBeLessThan(5_000);
    await vi.waitFor(() => expect(exited).toHaveLength(2), { timeout: 5_000 });
  });

  it.skipIf(threaded == null || single == null)('runs the call that stalled, and every later one, on one thread', async () => {
    const silent = spawnFrom(`require('node:worker_threads').parentPort.once('message', (m) => require('node:worker_threads').parentPort.postMessage('ready'));`, true);
    const pool = await createSimdPool(threaded!.module, threaded!.variant, 2, silent, { initialBytes: 1 << 20, stallMs: 500 });
    // A stand-in for tfjs's heap: unshared memory with the single-thread kernels on it.
    const memory = new WebAssembly.Memory({ initial: 32 });
    let top = 65536;
    const heap = { malloc: (n: number) => ((top = (top + n + 63) & ~63), top - ((n + 63) & ~63)), free: () => {} };
    const one = createSimdKernels(await instantiateSimd(single!.module, memory, single!.variant), heap);
    const failures: string[] = [];
    const kernels = withSingleThreadFallback(createPooledKernels(pool, memory), one, (e) => failures.push(e.message));
    const [rows, c] = [16, 8];
    const [x, gamma, beta, y, mean, rstd] = [rows * c, c, c, rows * c, rows, rows].map((n) => heap.malloc(4 * n));
    new Float32Array(memory.buffer, x, rows * c).forEach((_, i, a) => (a[i] = Math.sin(i) * (1 + (i % c))));
    new Float32Array(memory.buffer, gamma, c).fill(1);
    new Float32Array(memory.buffer, beta, c).fill(0);
    for (let call = 0; call < 2; call++) {
      new Float32Array(memory.buffer, y, rows * c).fill(NaN);
      kernels.layerNorm(rows, c, 1e-5, x, gamma, beta, y, mean, rstd);
      const row = new Float32Array(memory.buffer, y, c);
      expect(Math.abs(row.reduce((a, b) => a + b, 0) / c)).toBeLessThan(1e-4);
    }
    expect(failures).toEqual([expect.stringMatching(/did not finish within 0.5 s/)]); // once: the second call went straight to one thread
    expect(kernels.instance.variant.threads).toBe(false);
    await pool.dispose();
  });
});
