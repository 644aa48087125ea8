/**
 * The reference runs of bench/step.ts in other processes: PyTorch 1.13 (bench/peers/torch_step.py,
 * Debian's /usr/bin/python3) and stock tfjs-cpu (this script in `--child cpu` mode, no Glimpse
 * kernel or gradient registered).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TORCH = path.join(HERE, '..', 'peers', 'torch_step.py');
const PYTHON = '/usr/bin/python3';

export interface TorchMethod {
  msPerStep: number;
  imagesPerSecond: number;
  stepsMs: number[];
  cpuMs: number[];
}

export interface TorchResult {
  torch: string;
  threads: number;
  batch: number;
  byol: TorchMethod;
  simclr: TorchMethod;
}

export function runTorch(threads: number, batch: number, steps: number): TorchResult | { error: string } {
  if (!fs.existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  // OpenBLAS (setup.sh installs it for torch's matmuls) starts its own pool beside torch's OpenMP
  // one: without this a "1 thread" peer used 1.35 cores (510 ms CPU in 377 ms wall).
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const r = spawnSync(PYTHON, [TORCH, '--threads', String(threads), '--batch', String(batch), '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 1 << 24, env });
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    return out.error ? { error: String(out.error) } : out;
  } catch {
    return { error: `torch_step.py failed (status ${r.status}): ${r.stderr.slice(-300)}` };
  }
}

/** Runs `script --child cpu …` and returns its last stdout line parsed, or an error. */
export function runCpuChild<T>(script: string, args: string[]): T | { error: string } {
  const r = spawnSync(process.execPath, [...process.execArgv, script, '--child', 'cpu', ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
  });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return { error: `cpu child failed (status ${r.status})` };
  }
}
