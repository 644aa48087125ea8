/**
 * Builds Glimpse's WebAssembly SIMD kernels (shared/backends/wasm/csrc/*.c) with Debian's clang
 * and lld into dist/wasm/:
 *   glimpse-simd.wasm                   imports a plain memory (tfjs-backend-wasm's heap), mul + add
 *   glimpse-simd-relaxed.wasm           the same with relaxed-SIMD fused multiply-add
 *   glimpse-simd-threads.wasm           imports a shared memory (the worker pool), atomic work counters
 *   glimpse-simd-threads-relaxed.wasm
 * The relaxed variants need clang ≥ 16 (older clang emits the pre-standard relaxed opcodes);
 * with an older clang they are skipped and the loader uses mul + add.
 *
 *   npm run build:wasm [-- --force] [--if-possible]
 *
 * `--if-possible` (used by `prepare` on `npm ci`): without clang, warn and exit 0; Node then
 * trains on the XNNPACK-based kernels.
 * Runs before `npm test` and `npm run bench:step` and on `npm ci` (prepare). Skips the build when
 * every output is newer than every source. A module must own no memory contents: the build fails
 * if the compiler placed data in memory (a data section) or used the C stack.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'shared/backends/wasm/csrc');
export const WASM_OUT = join(ROOT, 'dist/wasm');

interface Variant {
  file: string;
  relaxed: boolean;
  threads: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { file: 'glimpse-simd.wasm', relaxed: false, threads: false },
  { file: 'glimpse-simd-relaxed.wasm', relaxed: true, threads: false },
  { file: 'glimpse-simd-threads.wasm', relaxed: false, threads: true },
  { file: 'glimpse-simd-threads-relaxed.wasm', relaxed: true, threads: true },
];

/** The newest clang on PATH (clang-20 … clang-14, then clang) and its major version. */
function findClang(): { bin: string; major: number } {
  for (const bin of ['clang-20', 'clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang-15', 'clang-14', 'clang']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const m = r.status === 0 ? /clang version (\d+)/.exec(r.stdout) : null;
    if (m) return { bin, major: Number(m[1]) };
  }
  throw new Error('no clang found: install Debian\'s clang and lld (apt-get install clang-16 lld-16)');
}

function flags(v: Variant): string[] {
  const f = ['--target=wasm32', '-O3', '-nostdlib', '-msimd128', '-mbulk-memory', '-Wall', '-Wextra', '-Werror', '-fno-exceptions'];
  if (v.relaxed) f.push('-mrelaxed-simd', '-DGLIMPSE_RELAXED');
  if (v.threads) f.push('-matomics', '-DGLIMPSE_THREADS');
  return f;
}

function linkFlags(v: Variant): string[] {
  const f = ['-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--strip-debug'];
  if (v.threads) f.push('-Wl,--shared-memory', '-Wl,--max-memory=4294967296');
  return f;
}

/** Fails when a source needs memory of its own: static data, or a C stack frame. */
function checkOwnsNoMemory(clang: string, v: Variant, sources: string[]): void {
  for (const s of sources) {
    const asm = execFileSync(clang, [...flags(v), '-S', '-o', '-', s], { encoding: 'utf8' });
    if (/__stack_pointer/.test(asm)) throw new Error(`${s}: uses the C stack (an array or address-taken local); keep it in registers`);
    if (/\.section\s+\.(data|rodata|bss)/.test(asm)) throw new Error(`${s}: has static data; the module must not write into the memory it imports`);
  }
}

/** Section ids of a wasm binary, to check the linked module has no data segment. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    ids.push(id);
    i += size;
  }
  return ids;
}

function newest(paths: string[]): number {
  return Math.max(...paths.map((p) => statSync(p).mtimeMs));
}

export function buildWasm(force = false): string[] {
  const sources = readdirSync(SRC).filter((f) => f.endsWith('.c')).sort().map((f) => join(SRC, f));
  const inputs = [...readdirSync(SRC).map((f) => join(SRC, f)), fileURLToPath(import.meta.url)];
  const { bin, major } = findClang();
  const variants = VARIANTS.filter((v) => !v.relaxed || major >= 16);
  if (variants.length < VARIANTS.length) process.stderr.write(`build-wasm: ${bin} ${major} predates the standard relaxed-SIMD opcodes; building mul + add variants only\n`);
  mkdirSync(WASM_OUT, { recursive: true });
  const outs = variants.map((v) => join(WASM_OUT, v.file));
  let upToDate = !force;
  try {
    if (upToDate && Math.min(...outs.map((o) => statSync(o).mtimeMs)) <= newest(inputs)) upToDate = false;
  } catch {
    upToDate = false;
  }
  if (upToDate) return outs;
  for (const v of variants) {
    checkOwnsNoMemory(bin, v, sources);
    const out = join(WASM_OUT, v.file);
    execFileSync(bin, [...flags(v), ...linkFlags(v), '-o', out, ...sources], { stdio: 'inherit' });
    const ids = sectionIds(readFileSync(out));
    if (ids.includes(11)) throw new Error(`${out}: the linked module has a data section`);
    writeFileSync(out, readFileSync(out)); // bump mtime past the sources even on coarse clocks
  }
  process.stderr.write(`build-wasm: ${variants.map((v) => v.file).join(', ')} (${bin} ${major})\n`);
  return outs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildWasm(process.argv.includes('--force'));
  } catch (e) {
    if (!process.argv.includes('--if-possible')) throw e;
    process.stderr.write(`build-wasm: skipped (${(e as Error).message})\n`);
  }
}
