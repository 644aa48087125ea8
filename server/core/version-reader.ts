/**
 * Reads the global weights of a version — the live state, or a checkpoint still kept on disk —
 * as a contributor pulls them (GLWT bytes of online + target, cached for the last few versions:
 * a new version is pulled by every contributor at once) or as the product encoder
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

export type Pulled = { version: number; bytes: Uint8Array } | { code: RejectCode; reason: string };

export class VersionReader {
  private readonly pullCache = new Map<number, Uint8Array>();

  constructor(
    private readonly run: RunIdentity,
    private readonly checkpoints: CheckpointStore,
    /** The live global state (read-only by contract). */
    private readonly live: () => Readonly<GlobalState>,
  ) {}

  /** The global weights (online + target) of a version as GLWT bytes, cached per version. */
  async pull(version: number | 'latest'): Promise<Pulled> {
    const now = this.live();
    const v = version === 'latest' ? now.version : version;
    const cached = this.pullCache.get(v);
    if (cached) return { version: v, bytes: cached };
    if (v > now.version) return { code: 'unknown_version', reason: `version ${v} does not exist yet (current ${now.version})` };
    const s = await this.stateOf(v);
    if (!s) return { code: 'version_unavailable', reason: `version ${v} is no longer kept (current ${now.version}); pull 'latest'` };
    const map: WeightMap = new Map([...s.online, ...s.target]);
    const bytes = encodeWeights(map, { meta: { version: v, runId: this.run.runId, method: this.run.method } });
    this.pullCache.set(v, bytes);
    while (this.pullCache.size > PULL_CACHE) this.pullCache.delete(Math.min(...this.pullCache.keys()));
    return { version: v, bytes };
  }

  /** The product encoder of a version (see model/encoder-export.ts), or null if not kept. */
  async encoder(version: number | 'latest'): Promise<{ version: number; source: EncoderSource; weights: WeightMap } | null> {
    const v = version === 'latest' ? this.live().version : version;
    const s = await this.stateOf(v);
    return s && { version: v, ...productEncoderWeights(s.online, s.target, this.run.encoderNames) };
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
