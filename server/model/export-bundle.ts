/**
 * Everything one encoder version is offered as — the files (model.json, weights, safetensors,
 * ONNX where Python with torch exists) with their SHA-256, and the model card that lists them —
 * assembled the same way for the live server's downloads and public page and for `glimpse export`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Db } from '../store/db';
import type { EncoderFiles, RunIdentity } from './encoder-files';
import { readDp, renderModelCard, type CardFile } from './model-card';
import { evaluationsUpTo, trainingFacts } from './run-facts';

/** A file of the export with its bytes. */
export interface ExportFile extends CardFile {
  data: Uint8Array | string;
}

const hashes = new WeakMap<Uint8Array, string>();

/** Hex SHA-256; memoized per byte array (a page view hashes the same megabytes again). */
export function sha256(b: Uint8Array | string): string {
  if (typeof b === 'string') return createHash('sha256').update(b).digest('hex');
  let h = hashes.get(b);
  if (!h) hashes.set(b, (h = createHash('sha256').update(b).digest('hex')));
  return h;
}

const file = (name: string, data: Uint8Array | string, note: string): ExportFile => ({
  name, data, note, sha256: sha256(data), bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength,
});

/** The downloadable files of a version, in the order pages and cards list them. */
export function exportFiles(f: EncoderFiles, onnx: Uint8Array | null): ExportFile[] {
  return [
    file('model.json', f.modelJson, 'TensorFlow.js LayersModel (tf.loadLayersModel)'),
    file(f.weightsFile, f.weights, 'its weights, fetched by model.json'),
    file('encoder.safetensors', f.safetensors, 'the same weights as safetensors (PyTorch: python/ GlimpseEncoder; JAX, …)'),
    ...(onnx ? [file('encoder.onnx', onnx, 'ONNX graph (opset 13), NCHW input `images`, output `embedding`')] : []),
  ];
}

let software: Record<string, string> | null = null;

/** Versions of the components that made the files. */
export function softwareVersions(): Record<string, string> {
  if (!software) {
    const require = createRequire(import.meta.url);
    const version = (path: string) => (JSON.parse(readFileSync(require.resolve(path), 'utf8')) as { version: string }).version;
    software = {
      glimpse: (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
      '@tensorflow/tfjs-layers': version('@tensorflow/tfjs-layers/package.json'),
    };
  }
  return software;
}

export interface CardContext {
  db: Db;
  run: RunIdentity;
  files: EncoderFiles;
  onnx: Uint8Array | null;
  /** Numbers in the encoder's weights. */
  parameters: number;
  /** The server's or checkpoint's DP status, in whatever shape it has (see readDp). */
  dp: unknown;
  /** Licence of the weights; default $GLIMPSE_MODEL_LICENSE. */
  license?: string | null;
  /** What the evaluations were measured on (/api/status eval.split), if known. */
  split?: Record<string, unknown>;
  software?: Record<string, string>;
}

/** MODEL_CARD.md of a version (run data from SQLite as of that version). */
export async function modelCardOf(c: CardContext): Promise<string> {
  const { resolveMethodConfig } = await import('../../shared/ssl/registry');
  const v = c.files.version;
  const evals = evaluationsUpTo(c.db, v, c.split);
  const created = c.db.prepare('SELECT created_at AS at FROM versions WHERE version = ?').get(v) as { at: number } | undefined;
  return renderModelCard({
    version: v, source: c.files.source, runId: c.run.runId, method: c.run.method,
    methodConfig: resolveMethodConfig(c.run.method, c.run.methodConfig) as unknown as Record<string, unknown>,
    encoder: c.files.encoderConfig, parameters: c.parameters,
    training: trainingFacts(c.db, v),
    evaluation: evals.at(-1) ?? null, evaluations: evals.length,
    dp: readDp(c.dp),
    license: c.license === undefined ? process.env.GLIMPSE_MODEL_LICENSE || null : c.license,
    files: exportFiles(c.files, c.onnx).map(({ data: _d, ...f }) => f),
    software: c.software ?? softwareVersions(),
    createdAt: created?.at ?? null,
  });
}
