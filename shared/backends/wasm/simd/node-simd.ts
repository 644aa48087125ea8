/**
 * Node host of the SIMD kernels: finds the built binaries (dist/wasm/, see scripts/build-wasm.ts),
 * turns on relaxed SIMD where this Node's V8 has it behind a flag (Node 20), and compiles the
 * best variant once per process.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { hasRelaxedSimd, simdFileName, type SimdVariant } from './module';

/** Directory of the built kernel binaries. */
export const SIMD_WASM_DIR = fileURLToPath(new URL('../../../../dist/wasm/', import.meta.url));

/** Relaxed SIMD is on by default from V8 11.4 (Node 22); Node 20's V8 has it behind a flag. */
export function enableRelaxedSimd(): boolean {
  if (hasRelaxedSimd()) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return hasRelaxedSimd();
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * The compiled kernel module for `threads` (relaxed SIMD when available and built), or null
 * when no binary is built here.
 */
export async function compileNodeSimd(threads: boolean): Promise<{ module: WebAssembly.Module; variant: SimdVariant } | null> {
  const candidates: SimdVariant[] = enableRelaxedSimd() ? [{ relaxed: true, threads }, { relaxed: false, threads }] : [{ relaxed: false, threads }];
  for (const variant of candidates) {
    const file = SIMD_WASM_DIR + simdFileName(variant);
    if (!fs.existsSync(file)) continue;
    let module = compiled.get(file);
    if (module == null) {
      module = WebAssembly.compile(fs.readFileSync(file));
      compiled.set(file, module);
    }
    return { module: await module, variant };
  }
  return null;
}
