/**
 * The person's backend setting → the order the training worker tries backends in. Apart from the
 * worker's code so the pages that only decide (the offscreen document, the watchdog) do not
 * bundle TensorFlow.js.
 */
import type { BackendPreference } from './settings';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const DEFAULT_BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Where a software-emulated GPU adapter (SwiftShader, llvmpipe) ranks: 'last' = after wasm,
 * just before cpu (several times slower than wasm); 'allow' = where `order` puts it.
 */
export type SoftwareGpu = 'last' | 'allow';

/** 'auto' is the default order with emulated GPUs last; a named backend goes first, then the rest. */
export function backendChoice(pref: BackendPreference): { order: BackendName[]; softwareGpu: SoftwareGpu } {
  if (pref === 'auto') return { order: [...DEFAULT_BACKEND_ORDER], softwareGpu: 'last' };
  return { order: [pref, ...DEFAULT_BACKEND_ORDER.filter((b) => b !== pref)], softwareGpu: 'allow' };
}

/** Whether a backend runs on the graphics card (else the processor), for plain-words status. */
export const runsOnGpu = (backend: string | null): boolean => backend === 'webgpu' || backend === 'webgl';
