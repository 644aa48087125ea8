/**
 * Training-step throughput of Glimpse's SSL methods in Node, side by side in one run:
 *   - stock tfjs-cpu (the slow reference; one step in a child process, it takes minutes),
 *   - wasm + Glimpse's SIMD kernels on one thread, and on N threads both ways (node-backend.ts):
 *     'data' (encoder passes split across workers) and 'kernels' (each kernel on a worker pool),
 *   - PyTorch 1.13 (bench/peers/torch_step.py) on 1 and 2 threads: the better one is the peer,
 *     since Debian's PyTorch spins OpenMP threads that collapse when anything else runs,
 * plus a per-kernel GFLOP/s table of the encoder's convolutions next to the 128-bit SIMD ceiling
 * (measured in the same run) and the fallback kernels.
 *
 *   npm run bench:step [-- --steps 5] [--batch 32] [--methods byol,simclr] [--threads N]
 *                      [--runs 5] [--skip-cpu] [--skip-torch] [--skip-kernels] [--no-fallback]
 *                      [--cpu-json FILE]   (reuse the output of an earlier `--child cpu` run)
 *                      [--smoke]           (batch 8, 2 steps, 2 runs, no stock cpu, Chromium on wasm only: checks it runs)
 *   npm run bench:step -- --backends      (one row per tfjs backend available here, in Node and in
 *                                          Chromium's extension worker; see step/backends.ts)
 *                      [--browser-backends wasm,cpu,webgl,webgpu]   (the Chromium ones to measure)
 *
 * The wasm/PyTorch ratio compares wasm's step *minus its augmentation time* (PyTorch gets
 * pre-made views). Steps are timed in wall time (what matters on a quiet machine) and in process
 * CPU time (what a single-threaded step costs when the machine is shared). Writes
 * bench/reports/step.json (or step-backends.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initNodeBackend } from '../shared/backends/node-backend';
import { BACKEND_ROW_SOURCES, type BackendRow } from './step/backends';
import { kernelTable, type KernelTable } from './step/kernel-table';
import { runCpuChild, runTorch, type TorchResult } from './step/peers';
import { printBackendRows, printKernelTable, printSteps, stepRows } from './step/print';
import { measureSteps, type MethodSteps } from './step/train-steps';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPORTS = path.join(HERE, 'reports');

interface Args {
  steps: number;
  batch: number;
  methods: string[];
  threads: number;
  runs: number;
  skipCpu: boolean;
  skipTorch: boolean;
  skipKernels: boolean;
  fallback: boolean;
  backends: boolean;
  browserBackends?: string[];
  smoke?: boolean;
  child: 'cpu' | null;
  cpuJson: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    steps: 5, batch: 32, methods: ['byol', 'simclr'], threads: os.availableParallelism(), runs: 5,
    skipCpu: false, skipTorch: false, skipKernels: false, fallback: true, backends: false, child: null, cpuJson: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--skip-cpu') a.skipCpu = true;
    else if (k === '--skip-torch') a.skipTorch = true;
    else if (k === '--skip-kernels') a.skipKernels = true;
    else if (k === '--no-fallback') a.fallback = false;
    else if (k === '--backends') a.backends = true;
    else if (k === '--browser-backends') a.browserBackends = argv[++i].split(',');
    else if (k === '--steps') a.steps = Number(argv[++i]);
    else if (k === '--batch') a.batch = Number(argv[++i]);
    else if (k === '--threads') a.threads = Number(argv[++i]);
    else if (k === '--runs') a.runs = Number(argv[++i]);
    else if (k === '--methods') a.methods = argv[++i].split(',');
    else if (k === '--child') a.child = argv[++i] as 'cpu';
    else if (k === '--cpu-json') a.cpuJson = argv[++i];
    else if (k === '--smoke') Object.assign(a, { batch: 8, steps: 2, runs: 2, skipCpu: true, smoke: true });
    else throw new Error(`unknown argument '${k}'`);
  }
  // SwiftShader's webgl and webgpu take minutes to compile and run a default-encoder step.
  if (a.smoke && !a.browserBackends) a.browserBackends = ['wasm'];
  if (!(a.steps >= 1 && a.batch >= 1 && a.runs >= 1 && Number.isInteger(a.threads) && a.threads >= 1)) {
    throw new Error('--steps, --batch, --runs and --threads must be positive integers');
  }
  return a;
}

type CpuResult = Record<string, { msPerStep: number; minCpuMs: number }>;

/** Stock cpu backend, in this process (child mode): no Glimpse kernel or gradient registered. */
async function runCpuChildMode(a: Args): Promise<void> {
  await tf.setBackend('cpu');
  const out: CpuResult = {};
  for (const m of a.methods) {
    process.stderr.write(`cpu: one ${m} step (minutes)…\n`);
    const r = await measureSteps(m, a.batch, 1, [{ name: 'cpu', mode: 'single', activate: async () => {} }], false);
    out[m] = { msPerStep: r.byConfig.cpu.msPerStep, minCpuMs: r.byConfig.cpu.minCpuMs };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function stockCpu(a: Args): CpuResult | null {
  if (a.cpuJson) return JSON.parse(fs.readFileSync(a.cpuJson, 'utf8').trim().split('\n').pop() ?? '');
  if (a.skipCpu) return null;
  const r = runCpuChild<CpuResult>(fileURLToPath(import.meta.url), ['--batch', String(a.batch), '--methods', a.methods.join(',')]);
  if ('error' in r) {
    process.stderr.write(`cpu skipped: ${r.error}\n`);
    return null;
  }
  return r as CpuResult;
}

function machine(loadBefore: number[]) {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() };
}

function write(file: string, report: unknown): void {
  fs.mkdirSync(REPORTS, { recursive: true });
  fs.writeFileSync(path.join(REPORTS, file), JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(REPORTS, file))}`);
}

async function backendsMode(a: Args, loadBefore: number[]): Promise<void> {
  const rows: BackendRow[] = [];
  const lines: string[] = [];
  const sources: Record<string, Record<string, unknown>> = {};
  for (const source of BACKEND_ROW_SOURCES) {
    process.stderr.write(`backends: ${source.name}…\n`);
    const r = await source.rows({ batch: a.batch, steps: a.steps, methods: a.methods, threads: a.threads, browserBackends: a.browserBackends, skipCpu: a.skipCpu, cpu: async () => stockCpu(a) });
    rows.push(...r.rows);
    lines.push(...(r.lines ?? []));
    if (r.details) sources[source.name] = r.details;
  }
  printBackendRows(rows);
  for (const l of lines) console.log(l);
  write('step-backends.json', { date: new Date().toISOString(), machine: machine(loadBefore), tfjs: tf.version_core, batch: a.batch, steps: a.steps, rows, sources });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child === 'cpu') return runCpuChildMode(a);
  const loadBefore = os.loadavg();
  if ((await initNodeBackend('wasm')) !== 'wasm') throw new Error('wasm backend failed to initialise');
  if (a.backends) return backendsMode(a, loadBefore);

  let kernels: KernelTable | null = null;
  if (!a.skipKernels) {
    process.stderr.write(`kernels: encoder convs at ${2 * a.batch} images, min of ${a.runs}…\n`);
    kernels = await kernelTable({ images: 2 * a.batch, threads: a.threads, runs: a.runs, fallback: a.fallback });
  }
  const configs = [
    { name: 'wasm', threads: 1, parallel: 'data' as const },
    ...(a.threads > 1 ? (['data', 'kernels'] as const).map((parallel) => ({ name: `wasm ${a.threads}T ${parallel}`, threads: a.threads, parallel })) : []),
  ].map((c) => ({
    name: c.name,
    mode: c.threads === 1 ? ('single' as const) : c.parallel,
    activate: async () => void (await initNodeBackend('wasm', { threads: c.threads, parallel: c.parallel })),
  }));
  const steps: MethodSteps[] = [];
  for (const m of a.methods) {
    process.stderr.write(`${m}: ${configs.map((c) => c.name).join(' and ')} in turn, warm-up + ${a.steps} steps each…\n`);
    steps.push(await measureSteps(m, a.batch, a.steps, configs));
  }
  let torch2: TorchResult | { error: string } | null = null;
  let torch1: TorchResult | { error: string } | null = null;
  if (!a.skipTorch) {
    process.stderr.write('PyTorch reference (2 threads, then 1)…\n');
    torch2 = runTorch(2, a.batch, a.steps);
    if ('error' in torch2) process.stderr.write(`PyTorch skipped: ${torch2.error}\n`);
    else torch1 = runTorch(1, a.batch, a.steps);
  }
  const cpu = stockCpu(a);

  const rows = stepRows(steps, configs.map((c) => c.name), torch1, torch2, cpu);
  printSteps(a.batch, rows);
  for (const s of steps) console.log(`\nwasm ${s.method}, top kernels of one step (wall ms): ` + s.topKernels.slice(0, 8).map((k) => `${k.kernel} ${k.ms.toFixed(0)}`).join(', '));
  if (kernels) printKernelTable(kernels);
  write('step.json', { date: new Date().toISOString(), machine: machine(loadBefore), batch: a.batch, steps: a.steps, threads: a.threads, tfjs: tf.version_core, rows, wasm: steps, kernels, cpu, torch: torch2, torch1Thread: torch1 });
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
