/**
 * Runs the convolution kernels of a loaded SIMD instance on tensors already in its memory:
 * packs the filter into scratch memory, writes the job descriptor and runs it, on this thread or
 * through a worker pool (`run`). Tensor arguments are byte addresses; nothing is copied.
 */
import { backpropFilterPlan, backpropInputPlans, forwardPlan, type ConvGeometry, type IgemmPlan } from './conv-plan';
import { DW_FIELDS, DW_WORDS, IGEMM_FIELDS, IGEMM_WORDS, writeJob } from './jobs';
import type { SimdInstance } from './module';

/** Allocates scratch memory in the instance's memory (tfjs's malloc, or the pool's). */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(ptr: number): void;
}

export type KernelName = 'igemm_run' | 'dw_run';

/** Runs one job to completion; the job's counter word is 0 when it is called. */
export type JobRunner = (kernel: KernelName, job: number) => void;

export interface SimdConv {
  readonly instance: SimdInstance;
  /** y = conv(x, filter) [+ bias] [then ReLU]; `bias` 0 for none. */
  forward(g: ConvGeometry, x: number, filter: number, bias: number, y: number, relu: boolean): void;
  /** dx (every element written) from dy and the filter. */
  backpropInput(g: ConvGeometry, dy: number, filter: number, dx: number): void;
  /** dW (every element written) from x and dy; `groups` work items for the threads sharing it. */
  backpropFilter(g: ConvGeometry, x: number, dy: number, dw: number): void;
}

export function createSimdConv(instance: SimdInstance, heap: HeapAllocator, run?: JobRunner, groups = 1): SimdConv {
  const k = instance.exports;
  const runJob: JobRunner = run ?? ((kernel, job) => k[kernel](job));

  /** One scratch block: [job words][counter][zeros (cin floats)][packed filter]. */
  function igemm(plan: IgemmPlan, x: number, filter: number, bias: number, out: number, relu: boolean): void {
    const jobBytes = IGEMM_WORDS * 4 + 4;
    const zeroBytes = 4 * plan.job.cin;
    const packBytes = 4 * plan.packFloats;
    const base = heap.malloc(jobBytes + zeroBytes + packBytes + 16);
    try {
      const at = (base + 15) & ~15;
      const counter = at + IGEMM_WORDS * 4;
      const zero = at + jobBytes;
      const wpack = zero + zeroBytes;
      new Uint8Array(instance.memory.buffer, zero, zeroBytes).fill(0);
      const p = plan.pack;
      if (plan.packFloats > 0) k.pack_filter(wpack, filter, p.kw, p.wci, p.wco, p.th, p.tw, p.ky0, p.kys, p.kx0, p.kxs, p.transposed);
      writeJob(instance.memory, at, IGEMM_FIELDS, { ...plan.job, x, wpack, bias, relu: relu ? 1 : 0, out, zero, counter });
      new Int32Array(instance.memory.buffer, counter, 1)[0] = 0;
      runJob('igemm_run', at);
    } finally {
      heap.free(base);
    }
  }

  return {
    instance,
    forward(g, x, filter, bias, y, relu) {
      igemm(forwardPlan(g, instance.nr), x, filter, bias, y, relu);
    },
    backpropInput(g, dy, filter, dx) {
      for (const plan of backpropInputPlans(g, instance.nr)) igemm(plan, dy, filter, 0, dx, false);
    },
    backpropFilter(g, x, dy, dw) {
      const base = heap.malloc(DW_WORDS * 4 + 4);
      try {
        const counter = base + DW_WORDS * 4;
        writeJob(instance.memory, base, DW_FIELDS, { ...backpropFilterPlan(g, groups), x, dy, dw, counter });
        new Int32Array(instance.memory.buffer, counter, 1)[0] = 0;
        runJob('dw_run', base);
      } finally {
        heap.free(base);
      }
    },
  };
}
