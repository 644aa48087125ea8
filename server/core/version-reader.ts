/**
 * Reads the global weights of a version — the live state, or a checkpoint still kept on disk —
 * as a contributor pulls them (GLWT bytes of online + target, cached for the last few versions:
 * a new version is pulled by every contributor at once; float32 or float16, whole or as the
 * difference from an older version the client holds, shared/protocol/compression.ts) or as the product encoder
 * (model/encoder-export.ts) for downloads and the evaluator.
 */
import type { RejectCode } from '../../shared/protocol/messages';
import { encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { GlobalState } from '../aggregation/fedbuff';
import { productEncoderWeights, type EncoderSource } from '../model/encoder-export';
import type { CheckpointStore } from '../store/checkpoint';

/** Versions of the global payload kept encoded in memory for pulls. */
const PULL_CACHE = 3;

export interface RunIdentity {
  runId: string;
  method: string;
  encoderNames: readonly string[];
}

export type Pulled = { version: number; bytes: Uint8Array; since?: number } | { code: RejectCode; reason: string };

export interface PullForm {
  dtype?: 'float32' | 'float16';
  since?: number;
}

export class VersionReader {
  /** Keyed by version, then by form ("float32", "float16:since=7", …). */
  private readonly pullCache = new Map<number, Map<string, Uint8Array>>();

  constructor(
    private readonly run: RunIdentity,
    private readonly checkpoints: CheckpointStore,
    /** The live global state (read-only by contract). */
    private readonly live: () => Readonly<GlobalState>,
  ) {}

  /** The global weights (online + target) of a version as GLWT bytes, cached per version. */
  async pull(version: number | 'latest', form: PullForm = {}): Promise<Pulled> {
    const now = this.live();
    const v = version === 'latest' ? now.version : version;
    const dtype = form.dtype ?? 'float32';
    // A difference from the same or a newer version is no difference: send the weights whole.
    const since = form.since !== undefined && form.since < v ? form.since : undefined;
    const key = since === undefined ? dtype : `${dtype}:since=${since}`;
    const cached = this.pullCache.get(v)?.get(key);
    if (cached) return { version: v, bytes: cached, ...(since === undefined ? {} : { since }) };
    if (v > now.version) return { code: 'unknown_version', reason: `version ${v} does not exist yet (current ${now.version})` };
    const s = await this.stateOf(v);
    if (!s) return { code: 'version_unavailable', reason: `version ${v} is no longer kept (current ${now.version}); pull 'latest'` };
    let map: WeightMap = new Map([...s.online, ...s.target]);
    if (since !== undefined) {
      const b = await this.stateOf(since);
      // The base is gone: answer with whole weights (the ack says so by carrying no `since`).
      if (!b) return this.pull(v, { dtype });
      map = difference(map, new Map([...b.online, ...b.target]));
    }
    const meta = { version: v, runId: this.run.runId, method: this.run.method, ...(since === undefined ? {} : { since }) };
    const bytes = encodeWeights(map, { meta, ...(dtype === 'float16' ? { pack: { dtype } } : {}) });
    const forms = this.pullCache.get(v) ?? new Map<string, Uint8Array>();
    forms.set(key, bytes);
    this.pullCache.set(v, forms);
    while (this.pullCache.size > PULL_CACHE) this.pullCache.delete(Math.min(...this.pullCache.keys()));
    return { version: v, bytes, ...(since === undefined ? {} : { since }) };
  }

  /** The product encoder of a version (see model/encoder-export.ts), or null if not kept. */
  async encoder(version: number | 'latest'): Promise<{ version: number; source: EncoderSource; weights: WeightMap } | null> {
    const v = version === 'latest' ? this.live().version : version;
    const s = await this.stateOf(v);
    return s && { version: v, ...productEncoderWeights(s.online, this.run.encoderNames) };
  }

  /** The live state for the current version, else the version's checkpoint; null when not kept. */
  private async stateOf(v: number): Promise<Readonly<GlobalState> | null> {
    const now = this.live();
    if (v === now.version) return now;
    if (v > now.version) return null;
    try {
      return (await this.checkpoints.read(v)).state;
    } catch {
      return null;
    }
  }
}

/** a − b per weight (same names and shapes: two versions of one run). */
function difference(a: WeightMap, b: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of a) {
    const o = b.get(name)!.data;
    const d = new Float32Array(t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = t.data[i] - o[i];
    out.set(name, { shape: t.shape, data: d });
  }
  return out;
}
