/**
 * Loading Glimpse's WebAssembly SIMD kernels (built from ../csrc by scripts/build-wasm.ts),
 * host-agnostic: the caller brings the bytes (Node: read from dist/wasm/; a browser or extension
 * worker: `fetch(url)` of the copied file) and the memory the kernels work on (tfjs-backend-wasm's
 * own heap for zero-copy single-thread use, or a shared memory for the worker pool).
 */
import { JOB_WORDS } from './jobs';

/** The kernels' exports (pointers are byte addresses in the imported memory). */
export interface SimdExports {
  igemm_run(job: number): void;
  dw_run(job: number): void;
  layer_norm_run(job: number): void;
  layer_norm_grad_run(job: number): void;
  adam_run(job: number): void;
  pack_filter(dst: number, w: number, kw: number, wci: number, wco: number, th: number, tw: number, ky0: number, kys: number, kx0: number, kxs: number, transposed: number): void;
  fma_peak(iterations: number, seed: number): number;
  tile_rows(): number;
  tile_cols(): number;
  igemm_job_words(): number;
  dw_job_words(): number;
  ln_job_words(): number;
  ln_grad_job_words(): number;
  adam_job_words(): number;
}

export interface SimdVariant {
  /** Relaxed-SIMD fused multiply-add (else multiply then add). */
  relaxed: boolean;
  /** Imports a shared memory and hands out work through atomic counters. */
  threads: boolean;
}

/** File name of a variant in dist/wasm/ (and wherever a host copies them). */
export function simdFileName(v: SimdVariant): string {
  return `glimpse-simd${v.threads ? '-threads' : ''}${v.relaxed ? '-relaxed' : ''}.wasm`;
}

/** A module with one function using f32x4.relaxed_madd (opcode 0xfd 0x105). */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** Whether this engine has relaxed SIMD (Chromium ≥ 114; Node ≥ 22, or Node 20 with V8's flag). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** A loaded kernel instance bound to its memory. */
export interface SimdInstance {
  readonly exports: SimdExports;
  readonly memory: WebAssembly.Memory;
  readonly variant: SimdVariant;
  /** Register tile: output rows x columns per micro-kernel call. */
  readonly mr: number;
  readonly nr: number;
}

/** Instantiates a compiled kernel module against `memory` and checks it matches this code. */
export async function instantiateSimd(module: WebAssembly.Module, memory: WebAssembly.Memory, variant: SimdVariant): Promise<SimdInstance> {
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as SimdExports;
  const words = [exports.igemm_job_words(), exports.dw_job_words(), exports.ln_job_words(), exports.ln_grad_job_words(), exports.adam_job_words()];
  if (words.join() !== [JOB_WORDS.igemm, JOB_WORDS.dw, JOB_WORDS.ln, JOB_WORDS.lnGrad, JOB_WORDS.adam].join()) {
    throw new Error('glimpse simd: the wasm binary does not match jobs.ts (rebuild with npm run build:wasm)');
  }
  return { exports, memory, variant, mr: exports.tile_rows(), nr: exports.tile_cols() };
}
