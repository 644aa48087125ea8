/** Tables of bench/step.ts: the step comparison, the per-kernel table and the `--backends` rows. */
import type { BackendRow } from './backend-rows';
import { OPS, type KernelTable, type Op } from './kernel-table';
import type { TorchResult } from './peers';
import { fmt } from './timing';
import type { MethodSteps } from './train-steps';

type Torch = TorchResult | { error: string } | null;
const ok = (t: Torch): TorchResult | null => (t && !('error' in t) ? t : null);

export interface StepRow {
  method: string;
  batch: number;
  wasmMsPerStep: number;
  wasmMinCpuMs: number;
  augmentMs: number;
  /** wasm step without augmentation (wall median − augmentation): what PyTorch's step compares with. */
  wasmComputeMs: number;
  wasmImagesPerSecond: number;
  /** Each multi-thread configuration: its step time and speedup over one thread. */
  threads: Array<{ name: string; msPerStep: number; minWallMs: number; minCpuMs: number; speedup: number; speedupOfMinima: number; minCriticalMs?: number; estimatedSpeedup?: number }>;
  /** One thread's minimum critical path (its own CPU time), for the estimates. */
  wasmMinCriticalMs?: number;
  torch2MsPerStep?: number;
  torch1MsPerStep?: number;
  torch1MinCpuMs?: number;
  /** The better of PyTorch's 1- and 2-thread runs. */
  torchBestMsPerStep?: number;
  /** Throughput ratio wasm (1 thread, without augmentation) / PyTorch 2 threads — the issue-12 goal ≥ 0.25. */
  wasmOverTorch2T?: number;
  wasmOverTorchBest?: number;
  /** The same from CPU times (min wasm CPU − augmentation vs min PyTorch 1-thread CPU): robust to other load. */
  wasmOverTorch1TCpu?: number;
  cpuMsPerStep?: number;
  wasmOverCpu?: number;
}

export function stepRows(steps: MethodSteps[], configNames: string[], torch1: Torch, torch2: Torch, cpu: Record<string, { msPerStep: number }> | null): StepRow[] {
  return steps.map((s) => {
    const w = s.byConfig[configNames[0]];
    const computeMs = w.msPerStep - s.augmentMs;
    const row: StepRow = {
      method: s.method, batch: s.batch, wasmMsPerStep: w.msPerStep, wasmMinCpuMs: w.minCpuMs, augmentMs: s.augmentMs,
      wasmComputeMs: computeMs, wasmImagesPerSecond: s.batch / (w.msPerStep / 1000),
      threads: configNames.slice(1).map((name) => {
        const n = s.byConfig[name];
        return {
          name, msPerStep: n.msPerStep, minWallMs: n.minWallMs, minCpuMs: n.minCpuMs, speedup: w.msPerStep / n.msPerStep, speedupOfMinima: w.minWallMs / n.minWallMs,
          minCriticalMs: n.minCriticalMs, estimatedSpeedup: w.minCriticalMs && n.minCriticalMs ? w.minCriticalMs / n.minCriticalMs : undefined,
        };
      }),
      wasmMinCriticalMs: w.minCriticalMs,
    };
    const t2 = ok(torch2)?.[s.method as 'byol' | 'simclr'];
    const t1 = ok(torch1)?.[s.method as 'byol' | 'simclr'];
    if (t2) {
      row.torch2MsPerStep = t2.msPerStep;
      row.wasmOverTorch2T = t2.msPerStep / computeMs;
    }
    if (t1) {
      row.torch1MsPerStep = t1.msPerStep;
      row.torch1MinCpuMs = Math.min(...t1.cpuMs);
      row.wasmOverTorch1TCpu = row.torch1MinCpuMs / (w.minCpuMs - s.augmentMs);
    }
    const best = Math.min(t1?.msPerStep ?? Infinity, t2?.msPerStep ?? Infinity);
    if (Number.isFinite(best)) {
      row.torchBestMsPerStep = best;
      row.wasmOverTorchBest = best / computeMs;
    }
    const c = cpu?.[s.method];
    if (c) {
      row.cpuMsPerStep = c.msPerStep;
      row.wasmOverCpu = c.msPerStep / w.msPerStep;
    }
    return row;
  });
}

export function printSteps(batch: number, rows: StepRow[]): void {
  console.log(`\nbatch ${batch} (2 views → ${2 * batch} encoder passes); ms per step: wall median [process CPU min]; images/s = batch / wall step`);
  console.log('method | wasm 1T ms | aug ms | wasm 1T img/s | PyTorch 1T ms | PyTorch 2T ms | wasm/PyTorch-2T | wasm/PyTorch-best | wasm/PyTorch-1T (CPU) | cpu ms | wasm/cpu');
  console.log('-------|-----------:|-------:|--------------:|--------------:|--------------:|----------------:|------------------:|----------------------:|-------:|--------:');
  for (const r of rows) {
    console.log([
      r.method.padEnd(6),
      `${fmt(r.wasmMsPerStep, 0)} [${fmt(r.wasmMinCpuMs, 0)}]`,
      fmt(r.augmentMs, 0),
      fmt(r.wasmImagesPerSecond),
      r.torch1MsPerStep ? `${fmt(r.torch1MsPerStep, 0)} [${fmt(r.torch1MinCpuMs, 0)}]` : '—',
      fmt(r.torch2MsPerStep, 0),
      fmt(r.wasmOverTorch2T, 3),
      fmt(r.wasmOverTorchBest, 3),
      fmt(r.wasmOverTorch1TCpu, 3),
      fmt(r.cpuMsPerStep, 0),
      fmt(r.wasmOverCpu, 0),
    ].join(' | '));
  }
  if (!rows.some((r) => r.threads.length)) return;
  console.log('\nmulti-core: method | configuration | ms/step (wall median) [CPU min, all threads] | speedup over 1 thread, wall (of medians; of minima) | critical path from per-thread CPU (1 thread → N) | estimated speedup on a quiet machine');
  for (const r of rows) {
    for (const t of r.threads) {
      console.log(`${r.method} | ${t.name} | ${fmt(t.msPerStep, 0)} [${fmt(t.minCpuMs, 0)}] | ${fmt(t.speedup, 2)}× (min ${fmt(t.speedupOfMinima, 2)}×) | ${fmt(r.wasmMinCriticalMs, 0)} → ${fmt(t.minCriticalMs, 0)} ms | ${fmt(t.estimatedSpeedup, 2)}×`);
    }
  }
}

const gflops = (gflop: number, ms: number | undefined) => (ms ? (gflop / ms) * 1000 : undefined);

export function printKernelTable(k: KernelTable): void {
  const NAMES: Record<Op, string> = { forward: 'fwd', backpropInput: 'dx', backpropFilter: 'dW' };
  console.log(`\nEncoder convolutions at ${k.images} images, GFLOP/s (fwd / dx / dW); SIMD 1T: CPU time, NT: wall, ${k.threads} threads; fallback: CPU time`);
  console.log(`128-bit SIMD ceiling (csrc/fma_peak.c${k.relaxedSimd ? ', relaxed FMA' : ', mul + add'}): ${fmt(k.ceilingGflops)} GFLOP/s per thread`);
  console.log('conv | × | GFLOP | SIMD 1T | % of ceiling | SIMD NT | fallback');
  console.log('-----|--:|------:|--------:|-------------:|--------:|---------:');
  const total = { simd1: [0, 0, 0], simdN: [0, 0, 0], fallback: [0, 0, 0], flop: 0 };
  for (const r of k.rows) {
    const triple = (t: Record<Op, { cpuMs: number; wallMs: number }> | undefined, key: 'cpuMs' | 'wallMs') =>
      t ? OPS.map((op) => fmt(gflops(r.gflop, t[op][key]), 0)).join(' / ') : '—';
    const pct = OPS.map((op) => fmt((100 * (gflops(r.gflop, r.simd1[op].cpuMs) ?? 0)) / k.ceilingGflops, 0)).join(' / ');
    console.log(`${r.conv} | ${r.count} | ${fmt(r.gflop, 2)} | ${triple(r.simd1, 'cpuMs')} | ${pct} | ${triple(r.simdN, 'wallMs')} | ${triple(r.fallback, 'cpuMs')}`);
    OPS.forEach((op, i) => {
      total.simd1[i] += r.count * r.simd1[op].cpuMs;
      total.simdN[i] += r.count * (r.simdN?.[op].wallMs ?? NaN);
      total.fallback[i] += r.count * (r.fallback?.[op].cpuMs ?? NaN);
    });
    total.flop += r.count * r.gflop;
  }
  const line = (ms: number[]) => ms.map((t) => `${fmt(t, 0)} ms (${fmt((total.flop / t) * 1000, 0)})`).join(' / ');
  console.log(`one encoder pass, ${fmt(total.flop, 1)} GFLOP per op: SIMD 1T ${line(total.simd1)}; SIMD NT ${line(total.simdN)}; fallback ${line(total.fallback)}`);
  console.log(`(names: ${OPS.map((op) => `${NAMES[op]} = ${op}`).join(', ')})`);
}

export function printBackendRows(rows: BackendRow[]): void {
  console.log('\nbackend | host | method | batch | ms/step (wall median) | CPU ms (min) | img/s | note');
  console.log('--------|------|--------|------:|----------------------:|-------------:|------:|-----');
  for (const r of rows) console.log(`${r.backend} | ${r.host} | ${r.method} | ${r.batch} | ${fmt(r.msPerStep, 0)} | ${fmt(r.minCpuMs, 0)} | ${fmt(r.imagesPerSecond)} | ${r.unavailable ?? r.note ?? ''}`);
}
