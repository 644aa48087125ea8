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

export type IgemmJob = Record<(typeof IGEMM_FIELDS)[number], number>;
export type DwJob = Record<(typeof DW_FIELDS)[number], number>;

export const IGEMM_WORDS = IGEMM_FIELDS.length;
export const DW_WORDS = DW_FIELDS.length;

/** Writes `job` at byte address `at` of `memory`. */
export function writeJob<F extends readonly string[]>(memory: WebAssembly.Memory, at: number, fields: F, job: Record<F[number], number>): void {
  const words = new Int32Array(memory.buffer, at, fields.length);
  fields.forEach((f: F[number], i) => {
    const v = job[f];
    if (!Number.isInteger(v)) throw new Error(`glimpse simd: job field '${f}' is ${v}`);
    words[i] = v;
  });
}
