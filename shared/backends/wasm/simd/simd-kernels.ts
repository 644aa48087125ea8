/**
 * Runs the kernels of a loaded SIMD instance on tensors already in its memory: packs the filter
 * into scratch memory, writes the job descriptor and runs it, on this thread or through a worker
 * pool (`run`). Tensor arguments are byte addresses; nothing is copied.
 */
import { backpropFilterPlan, backpropInputPlans, forwardPlan, type ConvGeometry, type IgemmPlan } from './conv-plan';
import { ADAM_FIELDS, DW_FIELDS, IGEMM_FIELDS, JOB_WORDS, LN_FIELDS, LN_GRAD_FIELDS, writeJob, type AdamJob } from './jobs';
import type { SimdExports, SimdInstance } from './module';

/** Allocates scratch memory in the instance's memory (tfjs's malloc, or the pool's). */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(ptr: number): void;
}

export type KernelName = keyof Pick<SimdExports, 'igemm_run' | 'dw_run' | 'layer_norm_run' | 'layer_norm_grad_run'>;

/** The float32 scalars of one Adam step (../csrc/adam.c); `negLearningRate` is −lr. */
export type AdamScalars = Omit<AdamJob, 'x' | 'm' | 'v' | 'g' | 'xOut' | 'mOut' | 'vOut' | 'n'>;

/** Runs one job to completion; the job's counter word is 0 when it is called. */
export type JobRunner = (kernel: KernelName, job: number) => void;

/** Rows of a LayerNorm work item: enough to amortise handing it out, few enough to balance threads. */
const LN_ROWS_PER_ITEM = 256;

export interface SimdKernels {
  readonly instance: SimdInstance;
  /** y = conv(x, filter) [+ bias] [then ReLU]; `bias` 0 for none. */
  forward(g: ConvGeometry, x: number, filter: number, bias: number, y: number, relu: boolean): void;
  /** dx (every element written) from dy and the filter. */
  backpropInput(g: ConvGeometry, dy: number, filter: number, dx: number): void;
  /** dW (every element written) from x and dy. */
  backpropFilter(g: ConvGeometry, x: number, dy: number, dw: number): void;
  /** y, mean [rows], rstd [rows] of LayerNorm over the last axis of x [rows, c]. */
  layerNorm(rows: number, c: number, eps: number, x: number, gamma: number, beta: number, y: number, mean: number, rstd: number): void;
  /** dx [rows, c], dgamma [c], dbeta [c] of that LayerNorm. */
  layerNormGrad(rows: number, c: number, dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number): void;
  /** One Adam step of `n` floats: x, m, v, g in; xOut, mOut, vOut out (not overlapping them). */
  adam(n: number, x: number, m: number, v: number, g: number, xOut: number, mOut: number, vOut: number, s: AdamScalars): void;
}

/**
 * @param groups work items of the filter gradient: one per thread that runs its jobs.
 */
export function createSimdKernels(instance: SimdInstance, heap: HeapAllocator, run?: JobRunner, groups = 1): SimdKernels {
  const k = instance.exports;
  const runJob: JobRunner = run ?? ((kernel, job) => k[kernel](job));

  /** Allocates `bytes` of 16-byte aligned scratch after a job of `words` words and its counter; frees after `body`. */
  function withJob(words: number, bytes: number, body: (job: number, counter: number, scratch: number) => void): void {
    const base = heap.malloc(words * 4 + 4 + bytes + 16);
    try {
      const job = (base + 15) & ~15;
      const counter = job + words * 4;
      new Int32Array(instance.memory.buffer, counter, 1)[0] = 0;
      body(job, counter, (counter + 4 + 15) & ~15);
    } finally {
      heap.free(base);
    }
  }

  function igemm(plan: IgemmPlan, x: number, filter: number, bias: number, out: number, relu: boolean): void {
    const zeroBytes = 4 * plan.job.cin;
    withJob(JOB_WORDS.igemm, zeroBytes + 16 + 4 * plan.packFloats, (job, counter, zero) => {
      const wpack = (zero + zeroBytes + 15) & ~15;
      new Uint8Array(instance.memory.buffer, zero, zeroBytes).fill(0);
      const p = plan.pack;
      if (plan.packFloats > 0) k.pack_filter(wpack, filter, p.kw, p.wci, p.wco, p.th, p.tw, p.ky0, p.kys, p.kx0, p.kxs, p.transposed);
      writeJob(instance.memory, job, IGEMM_FIELDS, { ...plan.job, x, wpack, bias, relu: relu ? 1 : 0, out, zero, counter });
      runJob('igemm_run', job);
    });
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
      withJob(JOB_WORDS.dw, 0, (job, counter) => {
        writeJob(instance.memory, job, DW_FIELDS, { ...backpropFilterPlan(g, groups), x, dy, dw, counter });
        runJob('dw_run', job);
      });
    },
    layerNorm(rows, c, eps, x, gamma, beta, y, mean, rstd) {
      withJob(JOB_WORDS.ln, 0, (job, counter) => {
        writeJob(instance.memory, job, LN_FIELDS, { x, gamma, beta, y, mean, rstd, rows, c, eps, rowsPerItem: LN_ROWS_PER_ITEM, counter });
        runJob('layer_norm_run', job);
      });
    },
    layerNormGrad(rows, c, dy, x, gamma, mean, rstd, dx, dgamma, dbeta) {
      const items = Math.ceil(rows / LN_ROWS_PER_ITEM);
      withJob(JOB_WORDS.lnGrad, 4 * items * 2 * c, (job, counter, partial) => {
        writeJob(instance.memory, job, LN_GRAD_FIELDS, { dy, x, gamma, mean, rstd, dx, partial, rows, c, rowsPerItem: LN_ROWS_PER_ITEM, counter });
        runJob('layer_norm_grad_run', job);
        // Per-item partial sums in float32, their total in float64.
        const h = new Float32Array(instance.memory.buffer);
        const sums = new Float64Array(2 * c);
        for (let t = 0; t < items; t++) {
          const p = partial / 4 + t * 2 * c;
          for (let i = 0; i < 2 * c; i++) sums[i] += h[p + i];
        }
        h.set(sums.subarray(0, c), dgamma / 4);
        h.set(sums.subarray(c), dbeta / 4);
      });
    },
    adam(n, x, m, v, g, xOut, mOut, vOut, s) {
      withJob(JOB_WORDS.adam, 0, (job) => {
        writeJob(instance.memory, job, ADAM_FIELDS, { x, m, v, g, xOut, mOut, vOut, n, ...s });
        // One memory-bound pass: on the calling thread, never handed to a pool's runner.
        k.adam_run(job);
      });
    },
  };
}
