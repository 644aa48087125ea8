/**
 * Training-step time of Glimpse's SSL methods under several backend configurations, measured
 * side by side: the configurations take turns step by step on one method instance, so that load
 * from other processes falls on all of them alike. One step = `trainStep` of
 * shared/train/local-round.ts: two augmented views of `batch` images (2·batch encoder passes,
 * plus a 2·batch target forward for BYOL), Adam 1e-3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { augment, BYOL_VIEW_1, BYOL_VIEW_2, SIMCLR_VIEW, type ViewParams } from '../../shared/augment';
import { trainableVariables } from '../../shared/models/weights-io';
import { createMethod } from '../../shared/ssl/registry';
import { DEFAULT_OPTIMIZER, makeOptimizer, trainStep } from '../../shared/train/local-round';
import { criticalPathMs, threadCpu, threadSplit } from './thread-cpu';
import { median, minOf, time } from './timing';

/** A way to run steps: activates its backend configuration before each of its steps. */
export interface StepConfig {
  name: string;
  /** How its threads share a step, for the critical-path estimate (see thread-cpu.ts). */
  mode: 'single' | 'data' | 'kernels';
  activate(): Promise<void>;
}

export interface ConfigSteps {
  stepsWallMs: number[];
  stepsCpuMs: number[];
  /** Median wall time of a step. */
  msPerStep: number;
  minWallMs: number;
  /** Minimum CPU time of a step (all threads of the process). */
  minCpuMs: number;
  /** Minimum critical path from per-thread CPU time: the step's time on a quiet machine, estimated (Linux). */
  minCriticalMs?: number;
}

export interface MethodSteps {
  method: string;
  batch: number;
  byConfig: Record<string, ConfigSteps>;
  /** Augmenting the two views of one batch (part of every step), min CPU ms, on the first config. */
  augmentMs: number;
  /** Kernel → ms (wall) in one profiled step on the first config, largest first. */
  topKernels: Array<{ kernel: string; ms: number; calls: number }>;
}

/** The views each method augments (as in shared/ssl/{byol,simclr}.ts). */
function viewsOf(method: string, size: number): [ViewParams, ViewParams] {
  const small = { outputSize: size, cropScale: [0.2, 1] as const };
  if (method === 'byol') return [{ ...BYOL_VIEW_1, ...small }, { ...BYOL_VIEW_2, ...small }];
  return [{ ...SIMCLR_VIEW, ...small }, { ...SIMCLR_VIEW, ...small }];
}

/** Per-kernel time of one step; wrapper ops (custom gradients) are left out to avoid double counting. */
async function profileStep(step: () => void): Promise<MethodSteps['topKernels']> {
  const info = await tf.profile(step);
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.calls++;
    by.set(k.name, e);
  }
  return [...by].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms).slice(0, 12);
}

export async function measureSteps(name: string, batch: number, steps: number, configs: StepConfig[], profile = true): Promise<MethodSteps> {
  const method = createMethod(name);
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const vars = trainableVariables(method.online.models);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const byConfig: Record<string, ConfigSteps> = {};
  let seed = 0;
  try {
    for (const c of configs) {
      await c.activate();
      trainStep(method, optimizer, vars, x, seed++);
      byConfig[c.name] = { stepsWallMs: [], stepsCpuMs: [], msPerStep: 0, minWallMs: 0, minCpuMs: 0 };
    }
    const critical = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    for (let i = 0; i < steps; i++) {
      for (const c of configs) {
        await c.activate();
        const before = threadCpu();
        const t = time(() => trainStep(method, optimizer, vars, x, seed++));
        const split = threadSplit(before, threadCpu());
        byConfig[c.name].stepsWallMs.push(t.wallMs);
        byConfig[c.name].stepsCpuMs.push(t.cpuMs);
        if (split) critical.get(c.name)!.push(criticalPathMs(split, c.mode));
      }
    }
    for (const s of Object.values(byConfig)) {
      s.msPerStep = median(s.stepsWallMs);
      s.minWallMs = Math.min(...s.stepsWallMs);
      s.minCpuMs = Math.min(...s.stepsCpuMs);
    }
    for (const [name, ms] of critical) if (ms.length) byConfig[name].minCriticalMs = Math.min(...ms);
    await configs[0].activate();
    const [v1, v2] = viewsOf(name, 32);
    let k = 0;
    const augmentMs = minOf(Math.max(3, Math.min(steps, 5)), () => tf.tidy(() => {
      augment(x, v1, 2 * k + 1).dataSync();
      augment(x, v2, 2 * k + 2).dataSync();
      k++;
    })).cpuMs;
    const topKernels = profile ? await profileStep(() => trainStep(method, optimizer, vars, x, seed++)) : [];
    return { method: name, batch, byConfig, augmentMs, topKernels };
  } finally {
    x.dispose();
    optimizer.dispose();
    method.dispose();
  }
}
