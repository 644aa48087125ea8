/**
 * The job descriptors of ../csrc/jobs.h, written as consecutive int32 words in field order.
 * The loader compares the word counts with the binary's, so a field added on one side only
 * fails at load instead of corrupting memory.
 */

export const IGEMM_FIELDS = [
  'x', 'n', 'h', 'w', 'cin', 'th', 'tw', 'sh', 'sw', 'pt', 'pl', 'oh', 'ow', 'wpack', 'bias', 'relu', 'out', 'cout',
  'dh', 'dw', 'dsy', 'doy', 'dsx', 'dox', 'zero', 'counter',
] as const;

export const DW_FIELDS = [
  'x', 'n', 'h', 'w', 'cin', 'dy', 'oh', 'ow', 'cout', 'kh', 'kw', 'sh', 'sw', 'pt', 'pl', 'dw', 'rowsPerBlock', 'groups', 'counter',
] as const;

export const LN_FIELDS = ['x', 'gamma', 'beta', 'y', 'mean', 'rstd', 'rows', 'c', 'eps', 'rowsPerItem', 'counter'] as const;

export const LN_GRAD_FIELDS = ['dy', 'x', 'gamma', 'mean', 'rstd', 'dx', 'partial', 'rows', 'c', 'rowsPerItem', 'counter'] as const;

export const ADAM_FIELDS = [
  'x', 'm', 'v', 'g', 'xOut', 'mOut', 'vOut', 'n',
  'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'oneMinusAccBeta1', 'oneMinusAccBeta2', 'epsilon', 'negLearningRate',
] as const;

/** Fields stored as float32; every other field is an int32 (or a pointer). */
const FLOAT_FIELDS: ReadonlySet<string> = new Set([
  'eps', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'oneMinusAccBeta1', 'oneMinusAccBeta2', 'epsilon', 'negLearningRate',
]);

export type IgemmJob = Record<(typeof IGEMM_FIELDS)[number], number>;
export type DwJob = Record<(typeof DW_FIELDS)[number], number>;
export type LnJob = Record<(typeof LN_FIELDS)[number], number>;
export type LnGradJob = Record<(typeof LN_GRAD_FIELDS)[number], number>;
export type AdamJob = Record<(typeof ADAM_FIELDS)[number], number>;

/** Words per job, as the binary's `*_job_words` exports must report. */
export const JOB_WORDS = {
  igemm: IGEMM_FIELDS.length,
  dw: DW_FIELDS.length,
  ln: LN_FIELDS.length,
  lnGrad: LN_GRAD_FIELDS.length,
  adam: ADAM_FIELDS.length,
} as const;

/** Writes `job` at byte address `at` of `memory`. */
export function writeJob<F extends readonly string[]>(memory: WebAssembly.Memory, at: number, fields: F, job: Record<F[number], number>): void {
  const words = new Int32Array(memory.buffer, at, fields.length);
  const floats = new Float32Array(memory.buffer, at, fields.length);
  fields.forEach((f: F[number], i) => {
    const v = job[f];
    if (FLOAT_FIELDS.has(f)) {
      if (!Number.isFinite(v)) throw new Error(`glimpse simd: job field '${f}' is ${v}`);
      floats[i] = v;
    } else {
      if (!Number.isInteger(v)) throw new Error(`glimpse simd: job field '${f}' is ${v}`);
      words[i] = v;
    }
  });
}
