/**
 * Checkpoints of the full server state in one GLWT file (the shared codec; its header and payload
 * CRC-32s are the checksum verified at load):
 *
 *   tensors  o/<name>            online weights
 *            t/<name>            target weights (names keep their `target/` prefix: t/target/…)
 *            opt/<slot>/<name>   server optimizer slots
 *            buf/<i>/<name>      deltas of the pending buffer, entry i
 *   meta     state: JSON of {@link CheckpointMeta}
 *
 * Files are `ckpt-<version, 10 digits>.glwt`, written atomically; the newest N are kept. Loading
 * walks from the newest down and takes the first file that decodes with valid checksums.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { MomentumPair } from '../../shared/ssl/method';
import { toBytes } from '../../shared/protocol/messages';
import { decodeWeights, encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { BufferedUpdate, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { ServerOptimizerConfig } from '../aggregation/server-optimizer';
import { TMP_SUFFIX, writeFileAtomic } from './atomic-file';
import { failpoint } from './failpoints';

export const CHECKPOINT_FORMAT = 1;

/** Everything but tensors. */
export interface CheckpointMeta {
  format: number;
  runId: string;
  version: number;
  method: string;
  methodConfig: Record<string, unknown>;
  momentumPairs: MomentumPair[];
  serverOptimizer: ServerOptimizerConfig;
  optimizerStep: number;
  /** Online weight names in canonical order (the order of specs and payloads). */
  onlineNames: string[];
  targetNames: string[];
  /** The old norm guard's single window (checkpoints before per-contributor statistics); written empty now. */
  recentNorms: number[];
  /** The norm guard's per-contributor statistics (aggregation/norm-stats.ts). */
  normStats?: Array<[string, number[]]>;
  /** The DP privacy ledger (aggregation/rdp-accountant.ts), when DP ever ran. */
  privacy?: { steps: number; rdp: number[] } | null;
  /** Update ids folded into each of the last versions: lets recovery finish an interrupted commit. */
  folded: Array<{ version: number; ids: string[] }>;
  /** Summary of the step that produced this version (null for version 0). */
  lastStep: StepSummary | null;
  buffer: Array<Omit<BufferedUpdate, 'delta'>>;
  createdAt: number;
  /** Names of the product encoder's weights (model/encoder-export.ts): what downloads and the evaluator serve. */
  encoderNames: string[];
  /** The method's preferred target EMA momentum, when it has one (core/run.ts). */
  serverMomentum?: number;
  /**
   * Informational only, never read back: the settings of the start that wrote the checkpoint.
   * (Checkpoints written before encoderNames/serverMomentum had fields kept them here; decoding
   * moves them to their fields.)
   */
  extra: Record<string, unknown>;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  state: GlobalState;
  buffer: BufferedUpdate[];
}

export function checkpointName(version: number): string {
  return `ckpt-${String(version).padStart(10, '0')}.glwt`;
}

const NAME_RE = /^ckpt-(\d{10})\.glwt$/;

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const map: WeightMap = new Map();
  for (const name of c.meta.onlineNames) map.set(`o/${name}`, c.state.online.get(name)!);
  for (const name of c.meta.targetNames) map.set(`t/${name}`, c.state.target.get(name)!);
  for (const [slot, slotMap] of Object.entries(c.state.optimizer.slots)) {
    for (const name of c.meta.onlineNames) map.set(`opt/${slot}/${name}`, slotMap.get(name)!);
  }
  c.buffer.forEach((u, i) => {
    for (const name of c.meta.onlineNames) map.set(`buf/${i}/${name}`, u.delta.get(name)!);
  });
  // zlib's native CRC-32: the checksum of a whole state is most of the encoding's time on the event loop.
  return encodeWeights(map, { meta: { kind: 'glimpse-checkpoint', state: JSON.stringify({ ...c.meta, buffer: c.buffer.map(stripDelta) }) }, crc32: (b) => crc32(b) >>> 0 });
}

function stripDelta(u: BufferedUpdate): Omit<BufferedUpdate, 'delta'> {
  const { delta: _delta, ...rest } = u;
  return rest;
}

/** Decodes and checks a checkpoint; throws on any corruption. Arrays are copies (safe to keep). */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  // A plain Uint8Array: Node's Buffer#slice would not copy (see toBytes).
  const { weights, meta } = decodeWeights(toBytes(bytes), { copy: true, crc32: (b) => crc32(b) >>> 0 });
  if (meta.kind !== 'glimpse-checkpoint' || typeof meta.state !== 'string') throw new Error('not a Glimpse checkpoint');
  const m = withTypedRunFields(JSON.parse(meta.state) as CheckpointMeta);
  if (m.format !== CHECKPOINT_FORMAT) throw new Error(`unsupported checkpoint format ${m.format}`);
  const take = (key: string) => {
    const t = weights.get(key);
    if (!t) throw new Error(`checkpoint lacks tensor '${key}'`);
    return t;
  };
  const online: WeightMap = new Map(m.onlineNames.map((n) => [n, take(`o/${n}`)]));
  const target: WeightMap = new Map(m.targetNames.map((n) => [n, take(`t/${n}`)]));
  const slots: Record<string, WeightMap> = {};
  for (const key of weights.keys()) {
    const match = /^opt\/([^/]+)\//.exec(key);
    if (match && !slots[match[1]]) slots[match[1]] = new Map(m.onlineNames.map((n) => [n, take(`opt/${match[1]}/${n}`)]));
  }
  const buffer: BufferedUpdate[] = m.buffer.map((u, i) => ({ ...u, delta: new Map(m.onlineNames.map((n) => [n, take(`buf/${i}/${n}`)])) }));
  return { meta: m, state: { version: m.version, online, target, optimizer: { step: m.optimizerStep, slots } }, buffer };
}

/** Older checkpoints kept `encoderNames` and `serverMomentum` in `extra`: read them from there. */
function withTypedRunFields(m: CheckpointMeta): CheckpointMeta {
  const extra = m.extra ?? {};
  const encoderNames = m.encoderNames ?? (Array.isArray(extra.encoderNames) ? (extra.encoderNames as string[]) : []);
  const serverMomentum = m.serverMomentum ?? (typeof extra.serverMomentum === 'number' ? extra.serverMomentum : undefined);
  return { ...m, extra, encoderNames, serverMomentum };
}

export class CheckpointStore {
  constructor(readonly dir: string, readonly keep: number) {}

  /** Versions present on disk, newest first (valid or not). */
  async versions(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.map((n) => NAME_RE.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => b - a);
  }

  async write(c: Checkpoint): Promise<number> {
    return this.writeEncoded(c.meta.version, encodeCheckpoint(c));
  }

  /** Writes the checkpoint of `version` encoded elsewhere (encodeCheckpoint; the fold worker encodes step checkpoints). */
  async writeEncoded(version: number, bytes: Uint8Array): Promise<number> {
    failpoint('checkpoint:before-write');
    await writeFileAtomic(join(this.dir, checkpointName(version)), bytes);
    failpoint('checkpoint:after-write');
    return bytes.length;
  }

  async read(version: number): Promise<Checkpoint> {
    return decodeCheckpoint(await readFile(join(this.dir, checkpointName(version))));
  }

  /** The newest checkpoint that decodes cleanly, plus the problems met on the way. */
  async loadLatest(): Promise<{ checkpoint: Checkpoint | null; skipped: string[] }> {
    const skipped: string[] = [];
    for (const v of await this.versions()) {
      try {
        return { checkpoint: await this.read(v), skipped };
      } catch (e) {
        skipped.push(`${checkpointName(v)}: ${(e as Error).message}`);
      }
    }
    return { checkpoint: null, skipped };
  }

  /** Deletes all but the newest `keep` checkpoints. Never run concurrently with write(). */
  async prune(): Promise<void> {
    const versions = await this.versions();
    for (const v of versions.slice(this.keep)) await rm(join(this.dir, checkpointName(v)), { force: true });
  }

  /** Deletes temp files of writes a crash interrupted. Call at startup, before any write. */
  async removeTempFiles(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const n of names) if (n.endsWith(TMP_SUFFIX)) await rm(join(this.dir, n), { force: true });
  }
}
