/**
 * Training-step throughput of Glimpse's SSL methods on each Node backend, against PyTorch.
 *
 *   npm run bench:step [-- --skip-cpu] [--skip-torch] [--steps 5] [--batch 32] [--methods byol,simclr]
 *                      [--cpu-json FILE]   (reuse the output of an earlier `--child cpu` run)
 *
 * One step = `trainStep` of shared/train/local-round.ts: two augmented views of `batch` images
 * (2·batch encoder forward/backward passes, plus a 2·batch target forward for BYOL), Adam 1e-3.
 * - wasm: Glimpse's kernels (shared/backends/wasm/); one warm-up step, then the
 *   median of `--steps`. Also profiled per kernel (top kernels in the report).
 * - cpu: stock tfjs (no Glimpse kernel or gradient), in a child process; one step only, it takes
 *   minutes.
 * - PyTorch: bench/peers/torch_step.py, the same architecture and batch, 2 threads (and 1,
 *   which is what a 2-core machine shared with anything else effectively gives it), no
 *   augmentation. The wasm/PyTorch ratio therefore compares wasm's step *minus its
 *   augmentation time* (measured separately) with PyTorch's step.
 * Prints a table and writes bench/reports/step.json. Timings on a shared machine are noisy.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { augment, BYOL_VIEW_1, BYOL_VIEW_2, SIMCLR_VIEW, type ViewParams } from '../shared/augment';
import { initNodeBackend } from '../shared/backends/node-backend';
import { trainableVariables } from '../shared/models/weights-io';
import { createMethod } from '../shared/ssl/registry';
import { DEFAULT_OPTIMIZER, makeOptimizer, trainStep } from '../shared/train/local-round';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPORT = path.join(HERE, 'reports', 'step.json');
const TORCH = path.join(HERE, 'peers', 'torch_step.py');
const PYTHON = '/usr/bin/python3';

interface Args {
  skipCpu: boolean;
  skipTorch: boolean;
  steps: number;
  batch: number;
  methods: string[];
  child: 'cpu' | null;
  /** Reuse a stock-cpu measurement (the JSON line of `--child cpu`) instead of re-running it. */
  cpuJson: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { skipCpu: false, skipTorch: false, steps: 5, batch: 32, methods: ['byol', 'simclr'], child: null, cpuJson: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--skip-cpu') a.skipCpu = true;
    else if (k === '--skip-torch') a.skipTorch = true;
    else if (k === '--steps') a.steps = Number(argv[++i]);
    else if (k === '--batch') a.batch = Number(argv[++i]);
    else if (k === '--methods') a.methods = argv[++i].split(',');
    else if (k === '--child') a.child = argv[++i] as 'cpu';
    else if (k === '--cpu-json') a.cpuJson = argv[++i];
    else throw new Error(`unknown argument '${k}'`);
  }
  if (!(a.steps >= 1 && a.batch >= 1)) throw new Error('--steps and --batch must be >= 1');
  return a;
}

interface MethodTiming {
  /** Every timed step, ms. */
  stepsMs: number[];
  msPerStep: number;
  /** Augmenting the two views of one batch (part of every step), ms. */
  augmentMs: number;
  /** msPerStep − augmentMs: what PyTorch's step is compared with. */
  computeMs: number;
  imagesPerSecond: number;
  computeImagesPerSecond: number;
  /** Kernel → ms in one profiled step (wasm only), largest first. */
  topKernels?: Array<{ kernel: string; ms: number; calls: number }>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The views each method augments (as in shared/ssl/{byol,simclr}.ts). */
function viewsOf(method: string, size: number): [ViewParams, ViewParams] {
  const small = { outputSize: size, cropScale: [0.2, 1] as const };
  if (method === 'byol') return [{ ...BYOL_VIEW_1, ...small }, { ...BYOL_VIEW_2, ...small }];
  return [{ ...SIMCLR_VIEW, ...small }, { ...SIMCLR_VIEW, ...small }];
}

function images(batch: number): tf.Tensor4D {
  return tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

async function measure(name: string, batch: number, steps: number, warmup: boolean, profile: boolean): Promise<MethodTiming> {
  const method = createMethod(name);
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const vars = trainableVariables(method.online.models);
  const x = images(batch);
  try {
    if (warmup) trainStep(method, optimizer, vars, x, 0);
    const stepsMs: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainStep(method, optimizer, vars, x, 1 + i);
      stepsMs.push(performance.now() - t0);
    }
    const [v1, v2] = viewsOf(name, 32);
    const augMs: number[] = [];
    for (let i = 0; i < Math.max(3, Math.min(steps, 5)); i++) {
      const t0 = performance.now();
      tf.tidy(() => {
        augment(x, v1, 2 * i + 1).dataSync();
        augment(x, v2, 2 * i + 2).dataSync();
      });
      augMs.push(performance.now() - t0);
    }
    const msPerStep = median(stepsMs);
    const augmentMs = median(augMs);
    const computeMs = msPerStep - augmentMs;
    const t: MethodTiming = {
      stepsMs, msPerStep, augmentMs, computeMs,
      imagesPerSecond: batch / (msPerStep / 1000),
      computeImagesPerSecond: batch / (computeMs / 1000),
    };
    if (profile) t.topKernels = await profileStep(() => trainStep(method, optimizer, vars, x, 99));
    return t;
  } finally {
    x.dispose();
    optimizer.dispose();
    method.dispose();
  }
}

/** Per-kernel time of one step; wrapper ops (custom gradients) are left out to avoid double counting. */
async function profileStep(step: () => void): Promise<MethodTiming['topKernels']> {
  const info = await tf.profile(step);
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.calls++;
    by.set(k.name, e);
  }
  return [...by].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms).slice(0, 10);
}

/** Stock cpu backend, in this process (child mode): no Glimpse kernel or gradient registered. */
async function runCpuChild(a: Args): Promise<void> {
  await tf.setBackend('cpu');
  const out: Record<string, MethodTiming> = {};
  for (const m of a.methods) {
    process.stderr.write(`cpu: one ${m} step (minutes)…\n`);
    out[m] = await measure(m, a.batch, 1, false, false);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runCpu(a: Args): Record<string, MethodTiming> | { error: string } {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', 'cpu', '--batch', String(a.batch), '--methods', a.methods.join(',')], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return { error: `cpu child failed (status ${r.status})` };
  }
}

interface TorchResult {
  torch: string;
  threads: number;
  byol: { msPerStep: number; imagesPerSecond: number };
  simclr: { msPerStep: number; imagesPerSecond: number };
}

function runTorch(a: Args, threads: number): TorchResult | { error: string } {
  if (!fs.existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, [TORCH, '--threads', String(threads), '--batch', String(a.batch), '--steps', String(a.steps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: `torch_step.py failed (status ${r.status}): ${r.stderr.slice(-300)}` };
  }
}

const fmt = (x: number | undefined, d = 1) => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(d));

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child === 'cpu') return runCpuChild(a);
  const loadBefore = os.loadavg();

  const backend = await initNodeBackend('wasm');
  if (backend !== 'wasm') throw new Error(`wasm backend failed to initialise (got ${backend})`);
  const wasm: Record<string, MethodTiming> = {};
  for (const m of a.methods) {
    process.stderr.write(`wasm: ${m}, warm-up + ${a.steps} steps…\n`);
    wasm[m] = await measure(m, a.batch, a.steps, true, true);
  }
  // 2 threads is the reference; 1 thread too, because 2-thread PyTorch collapses (up to 10x)
  // when anything else runs on a 2-core machine, while single-threaded wasm barely notices.
  let torch: TorchResult | { error: string } | null = null;
  let torch1: TorchResult | { error: string } | null = null;
  if (!a.skipTorch) {
    process.stderr.write('PyTorch reference (2 threads, then 1)…\n');
    torch = runTorch(a, 2);
    if ('error' in torch) process.stderr.write(`PyTorch skipped: ${torch.error}\n`);
    else torch1 = runTorch(a, 1);
  }
  let cpu: Record<string, MethodTiming> | { error: string } | null = null;
  if (a.cpuJson) {
    cpu = JSON.parse(fs.readFileSync(a.cpuJson, 'utf8').trim().split('\n').pop() ?? '');
  } else if (!a.skipCpu) {
    cpu = runCpu(a);
    if ('error' in cpu) process.stderr.write(`cpu skipped: ${cpu.error}\n`);
  }

  const torchOk = torch && !('error' in torch) ? torch : null;
  const torch1Ok = torch1 && !('error' in torch1) ? torch1 : null;
  const cpuOk = cpu && !('error' in cpu) ? cpu : null;
  const rows = a.methods.map((m) => {
    const w = wasm[m];
    const t = torchOk ? (torchOk as unknown as Record<string, { msPerStep: number; imagesPerSecond: number }>)[m] : undefined;
    const c = cpuOk?.[m];
    const t1 = torch1Ok ? (torch1Ok as unknown as Record<string, { msPerStep: number; imagesPerSecond: number }>)[m] : undefined;
    return {
      method: m,
      wasmMsPerStep: w.msPerStep,
      wasmImagesPerSecond: w.imagesPerSecond,
      wasmAugmentMs: w.augmentMs,
      wasmComputeImagesPerSecond: w.computeImagesPerSecond,
      torchMsPerStep: t?.msPerStep,
      torchImagesPerSecond: t?.imagesPerSecond,
      torch1ThreadImagesPerSecond: t1?.imagesPerSecond,
      cpuMsPerStep: c?.msPerStep,
      cpuImagesPerSecond: c?.imagesPerSecond,
      /** Throughput ratio, wasm (without augmentation) over PyTorch 2 threads. */
      wasmOverTorch: t ? t.msPerStep / w.computeMs : undefined,
      /** The same against single-threaded PyTorch. */
      wasmOverTorch1Thread: t1 ? t1.msPerStep / w.computeMs : undefined,
      /** Throughput ratio, wasm over stock cpu (both full steps with augmentation). */
      wasmOverCpu: c ? c.msPerStep / w.msPerStep : undefined,
    };
  });

  console.log(`\nbatch ${a.batch} (2 views → ${2 * a.batch} encoder passes), images/s = batch / step time\n`);
  console.log('method  | wasm ms/step | wasm img/s | aug ms | wasm img/s w/o aug | PyTorch-2T img/s | PyTorch-1T img/s | cpu img/s | wasm/PyTorch-2T | wasm/PyTorch-1T | wasm/cpu');
  console.log('--------|-------------:|-----------:|-------:|-------------------:|-----------------:|-----------------:|----------:|----------------:|----------------:|---------:');
  for (const r of rows) {
    console.log(
      `${r.method.padEnd(7)} | ${fmt(r.wasmMsPerStep, 0).padStart(12)} | ${fmt(r.wasmImagesPerSecond).padStart(10)} | ${fmt(r.wasmAugmentMs, 0).padStart(6)} | ` +
        `${fmt(r.wasmComputeImagesPerSecond).padStart(18)} | ${fmt(r.torchImagesPerSecond).padStart(16)} | ${fmt(r.torch1ThreadImagesPerSecond).padStart(16)} | ` +
        `${fmt(r.cpuImagesPerSecond, 3).padStart(9)} | ${fmt(r.wasmOverTorch, 3).padStart(15)} | ${fmt(r.wasmOverTorch1Thread, 3).padStart(15)} | ${fmt(r.wasmOverCpu, 0).padStart(8)}`,
    );
  }
  for (const m of a.methods) {
    const top = wasm[m].topKernels ?? [];
    console.log(`\nwasm ${m}, top kernels of one step: ` + top.slice(0, 8).map((k) => `${k.kernel} ${k.ms.toFixed(0)} ms`).join(', '));
  }

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
    batch: a.batch,
    steps: a.steps,
    tfjs: tf.version_core,
    rows,
    wasm,
    cpu,
    torch,
    torch1Thread: torch1,
  };
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), REPORT)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
