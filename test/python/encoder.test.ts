/**
 * The Python package and the ONNX export, against tfjs: the same encoder.safetensors files and
 * images (parity-fixture.ts) give the same embeddings (max |Δ| < 1e-4)
 *   - in PyTorch: runs `python -m pytest python/tests` (GlimpseEncoder, the safetensors spec
 *     checks, `pip install ./python` in a venv), with Debian's python3-torch and python3-pytest;
 *   - in ONNX Runtime (onnxruntime-node) on the file the server's ONNX export writes.
 * Skipped, saying why, only where no Python here imports torch (CI installs python3-torch).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, findTorchPython, PYTHON_PACKAGE_DIR, type TorchPython } from '../../server/model/python';
import { useCpu } from '../helpers/tf';
import { writeParityFixture, type ParityManifestEntry } from './parity-fixture';

const TOLERANCE = 1e-4;

/** Runs a command in its own process group; kills the group after `timeoutMs`. */
function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env, cwd: resolve(PYTHON_PACKAGE_DIR, '..'), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, output });
    });
  });
}

/** NHWC → NCHW (the module and the ONNX graph take NCHW). */
function toNchw(x: Float32Array, n: number, s: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) for (let y = 0; y < s; y++) for (let xx = 0; xx < s; xx++) for (let k = 0; k < c; k++) {
    out[((i * c + k) * s + y) * s + xx] = x[((i * s + y) * s + xx) * c + k];
  }
  return out;
}

const f32 = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('Python package and ONNX export agree with tfjs', () => {
  let py: TorchPython | null;
  let dir: string;
  let cases: ParityManifestEntry[];

  beforeAll(async () => {
    py = await findTorchPython();
    if (!py) {
      console.log('skipping the PyTorch/ONNX parity tests: no Python here imports torch (Debian: apt-get install python3-torch python3-pytest)');
      return;
    }
    await useCpu();
    dir = mkdtempSync(join(tmpdir(), 'glimpse-parity-'));
    cases = writeParityFixture(dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pytest python/tests passes: PyTorch embeddings = tfjs within 1e-4, valid safetensors, pip-installable', async (ctx) => {
    if (!py) return ctx.skip('no Python with torch');
    const r = await runProcess(py.command, ['-m', 'pytest', 'python/tests', '-q', '-rs', '-p', 'no:cacheprovider'], { ...process.env, GLIMPSE_PARITY_DIR: dir, PYTHONDONTWRITEBYTECODE: '1' }, 300_000);
    expect(r.status, r.output).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'pytorch-report.json'), 'utf8')) as Record<string, { maxAbsDiff: number }>;
    console.log(`PyTorch ${py.torchVersion} vs tfjs, max |Δ| per case: ${Object.entries(report).map(([k, v]) => `${k} ${v.maxAbsDiff.toExponential(2)}`).join(', ')}`);
    expect(Object.keys(report).sort()).toEqual(cases.map((c) => c.name).sort());
  });

  it('the ONNX export runs in onnxruntime-node and embeds like tfjs', async (ctx) => {
    if (!py) return ctx.skip('no Python with torch');
    // The server's export path (a Python child) for the default encoder; pytest above exported
    // every case in-process (<case>.onnx), which spares a Python start per case.
    const t0 = performance.now();
    const served = await exportOnnx(readFileSync(join(dir, `${cases[0].name}.safetensors`)));
    const exportMs = performance.now() - t0;
    const lines = [`server export of '${cases[0].name}' ${(exportMs / 1000).toFixed(1)} s, ${(served.byteLength / 1024).toFixed(0)} KiB`];
    const runs = [{ c: cases[0], label: `${cases[0].name} (server export)`, onnx: served }, ...cases.map((c) => ({ c, label: c.name, onnx: new Uint8Array(readFileSync(join(dir, `${c.name}.onnx`))) }))];
    for (const { c, label, onnx } of runs) {
      const { inputSize: s, channels: ch } = c.encoder;
      const session = await ort.InferenceSession.create(onnx);
      try {
        expect(session.inputNames).toEqual(['images']);
        const images = toNchw(f32(join(dir, `${c.name}.images.f32`)), c.count, s, ch);
        const expected = f32(join(dir, `${c.name}.embeddings.f32`));
        const out = await session.run({ images: new ort.Tensor('float32', images, [c.count, ch, s, s]) });
        expect(out.embedding.dims).toEqual([c.count, c.dim]);
        const data = out.embedding.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - expected[i]));
        expect(maxDiff, label).toBeLessThan(TOLERANCE);
        // The batch axis is dynamic: one image alone embeds the same.
        const one = await session.run({ images: new ort.Tensor('float32', images.subarray(0, ch * s * s), [1, ch, s, s]) });
        expect(Math.max(...Array.from(one.embedding.data as Float32Array, (v, i) => Math.abs(v - expected[i])))).toBeLessThan(TOLERANCE);
        lines.push(`${label} max |Δ| ${maxDiff.toExponential(2)}`);
      } finally {
        await session.release();
      }
    }
    console.log(`ONNX Runtime ${ort.env.versions.node ?? ''} vs tfjs: ${lines.join('; ')}`);
  });
});
