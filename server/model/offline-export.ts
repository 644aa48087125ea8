/**
 * `glimpse export`: the files a running server offers for one encoder version — model.json +
 * weights, encoder.safetensors, encoder.onnx (where Python with torch exists) and MODEL_CARD.md —
 * written to a folder from a stopped run's data directory: the checkpoint file and the SQLite
 * history are read directly (the history read-only), no server is started. The bytes of
 * model.json, the weights and the safetensors file are those the server would serve.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CheckpointStore, type Checkpoint } from '../store/checkpoint';
import { openDatabase, type Db } from '../store/db';
import { productEncoderWeights } from './encoder-export';
import { buildEncoderFiles, encoderConfigOf, type RunIdentity } from './encoder-files';
import { exportFiles, modelCardOf, type ExportFile } from './export-bundle';
import { loadTf } from './method-info';
import { exportOnnx } from './python';

export interface OfflineExportOptions {
  dataDir: string;
  /** Default: the newest checkpoint that reads cleanly. */
  version?: number;
  out: string;
  /** 'auto': ONNX where Python with torch is available; 'require': fail without it; 'skip'. */
  onnx: 'auto' | 'require' | 'skip';
  /** Licence of the weights for the model card (default $GLIMPSE_MODEL_LICENSE). */
  license?: string;
}

export interface OfflineExportResult {
  version: number;
  source: string;
  files: Array<Omit<ExportFile, 'data'>>;
  /** Why there is no encoder.onnx, when there is none. */
  onnxNote: string | null;
  onnxMs: number | null;
}

/** A one-line error for the command line (bad data dir, missing version). */
export class ExportError extends Error {
  override name = 'ExportError';
}

async function readCheckpoint(dataDir: string, version: number | undefined): Promise<Checkpoint> {
  const store = new CheckpointStore(join(dataDir, 'checkpoints'), Number.POSITIVE_INFINITY);
  const versions = await store.versions();
  if (!versions.length) throw new ExportError(`no checkpoints in ${join(dataDir, 'checkpoints')}: is ${dataDir} a Glimpse data directory (npm start uses .glimpse/demo)?`);
  if (version === undefined) {
    const { checkpoint, skipped } = await store.loadLatest();
    if (!checkpoint) throw new ExportError(`no readable checkpoint in ${dataDir}: ${skipped.join('; ')}`);
    return checkpoint;
  }
  if (!versions.includes(version)) throw new ExportError(`no checkpoint of version ${version} in ${dataDir} (kept: ${[...versions].reverse().join(', ')})`);
  try {
    return await store.read(version);
  } catch (e) {
    throw new ExportError(`checkpoint of version ${version} is unreadable: ${(e as Error).message}`);
  }
}

/** The run's history read-only (a stopped run is not modified); an empty one if there is none. */
function openHistory(dataDir: string): Db {
  const path = join(dataDir, 'glimpse.db');
  return existsSync(path) ? new Database(path, { readonly: true, fileMustExist: true }) : openDatabase(':memory:');
}

/** Encoder weight names: recorded in the checkpoint; built from the config if a checkpoint lacks them. */
async function encoderNamesOf(c: Checkpoint, run: RunIdentity): Promise<string[]> {
  if (c.meta.encoderNames.length) return c.meta.encoderNames;
  await loadTf();
  const { buildEncoder } = await import('../../shared/models/encoder');
  const encoder = buildEncoder(await encoderConfigOf(run));
  try {
    return encoder.weights.map((w) => w.originalName);
  } finally {
    encoder.dispose();
  }
}

export async function exportOffline(o: OfflineExportOptions): Promise<OfflineExportResult> {
  const c = await readCheckpoint(o.dataDir, o.version);
  const run: RunIdentity = { runId: c.meta.runId, method: c.meta.method, methodConfig: c.meta.methodConfig };
  const product = productEncoderWeights(c.state.online, await encoderNamesOf(c, run));
  const files = await buildEncoderFiles(run, { version: c.meta.version, ...product });
  let onnx: Uint8Array | null = null;
  let onnxNote: string | null = o.onnx === 'skip' ? 'not requested (--no-onnx)' : null;
  let onnxMs: number | null = null;
  if (o.onnx !== 'skip') {
    const t0 = performance.now();
    try {
      onnx = await exportOnnx(files.safetensors);
      onnxMs = performance.now() - t0;
    } catch (e) {
      if (o.onnx === 'require') throw new ExportError((e as Error).message);
      onnxNote = (e as Error).message;
    }
  }
  const db = openHistory(o.dataDir);
  let card: string;
  try {
    card = await modelCardOf({ db, run, files, onnx, parameters: files.weights.byteLength / 4, dp: c.meta.extra.dp ?? null, license: o.license });
  } finally {
    db.close();
  }
  const list = exportFiles(files, onnx);
  await mkdir(o.out, { recursive: true });
  for (const f of list) await writeFile(join(o.out, f.name), f.data);
  await writeFile(join(o.out, 'MODEL_CARD.md'), card);
  return { version: files.version, source: files.source, files: list.map(({ data: _d, ...f }) => f), onnxNote, onnxMs };
}
