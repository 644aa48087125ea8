/**
 * The server's optional Python side: a Python with PyTorch, found once per process, runs
 * `python -m glimpse_encoder export-onnx` from the repository's python/ package (no install
 * needed: it goes on PYTHONPATH). Without one, the ONNX download says so and everything else works.
 *
 * Which Python: $GLIMPSE_PYTHON if set, else the first of `python3` and `/usr/bin/python3` that
 * imports torch (a pyenv `python3` on PATH often lacks Debian's `python3-torch`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON_PACKAGE_DIR = fileURLToPath(new URL('../../python', import.meta.url));

export interface TorchPython {
  command: string;
  torchVersion: string;
}

function run(command: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  const env = { ...process.env, PYTHONPATH: [PYTHON_PACKAGE_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter) };
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, signal, maxBuffer: 4 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${tail || err.message}`));
      } else resolve({ stdout, stderr });
    });
  });
}

const found = new Map<string, Promise<TorchPython | null>>();
const known = new Map<string, TorchPython | null>();

const candidates = (): string[] => (process.env.GLIMPSE_PYTHON ? [process.env.GLIMPSE_PYTHON] : ['python3', '/usr/bin/python3']);

/**
 * The Python to use, or null (with no error) when none here imports torch. Cached per process
 * (per $GLIMPSE_PYTHON value).
 */
export function findTorchPython(): Promise<TorchPython | null> {
  const list = candidates();
  const key = list.join(delimiter);
  let p = found.get(key);
  if (!p) {
    p = (async () => {
      for (const command of list) {
        try {
          const { stdout } = await run(command, ['-c', 'import torch; print(torch.__version__)'], 60_000);
          return { command, torchVersion: stdout.trim() };
        } catch {
          // not this one
        }
      }
      return null;
    })().then((py) => {
      known.set(key, py);
      return py;
    });
    found.set(key, p);
  }
  return p;
}

/**
 * What {@link findTorchPython} found, without waiting: undefined while it is still looking (and
 * starts it looking). For pages that must not wait seconds for `import torch`.
 */
export function torchPythonIfKnown(): TorchPython | null | undefined {
  void findTorchPython();
  return known.get(candidates().join(delimiter));
}

/** Why ONNX is unavailable, for error messages and the model card. */
export const NO_TORCH = 'ONNX export needs Python with PyTorch on this machine (Debian: apt-get install python3-torch; or set GLIMPSE_PYTHON)';

/**
 * ONNX bytes of an encoder.safetensors (python/glimpse_encoder/onnx_export.py: `images` [batch,
 * channels, size, size] NCHW in [0, 1] → `embedding` [batch, dim]). Throws when no Python with
 * torch is available or the export fails; `signal` kills the Python child (server shutdown).
 */
export async function exportOnnx(safetensors: Uint8Array, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const py = await findTorchPython();
  if (!py) throw new Error(NO_TORCH);
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-onnx-'));
  try {
    const input = join(dir, 'encoder.safetensors');
    const output = join(dir, 'encoder.onnx');
    await writeFile(input, safetensors);
    await run(py.command, ['-m', 'glimpse_encoder', 'export-onnx', input, output], o.timeoutMs ?? 180_000, o.signal);
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
