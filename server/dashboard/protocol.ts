/**
 * The admin namespace's wire types (Socket.IO namespace `/admin` on the server's io), shared by
 * the server side (namespace.ts) and the browser app (client/app.ts). Nothing here is secret-free
 * by accident: contributor tokens only ever appear as the first 12 hex digits of their SHA-256.
 *
 * On connect the server sends one `dash:snapshot` (the whole run from SQLite), then a `dash:tick`
 * per second with only what is new. Actions are `admin:action` requests with an acknowledgement.
 */
import type { Plan } from '../../shared/protocol/messages';
import type { VersionRow } from '../store/history';

/** A server step, as the dashboard charts it: the run history's row, one type for both sides. */
export type VersionPoint = VersionRow;

export interface EvalPoint {
  version: number;
  metric: string;
  value: number;
  at: number;
}

export interface Rejection {
  at: number;
  contributorId: string | null;
  code: string;
  reason: string;
}

export interface Sample {
  at: number;
  cpu: number;
  rssBytes: number;
  heapBytes: number;
  lagMeanMs: number;
  lagP99Ms: number;
  lagMaxMs: number;
  bytesIn: number;
  bytesOut: number;
  contributors: number;
}

export interface AdminAction {
  id: number;
  at: number;
  action: string;
  target: string | null;
  actor: string;
  ok: boolean;
  detail: string | null;
}

/** A contributor connected now (said hello). */
export interface ContributorNow {
  socketId: string;
  contributorId: string;
  clientKind: string;
  backend: string;
  connectedAt: number;
  /** The global version it last pulled, i.e. trains on; null before its first pull. */
  trainingOn: number | null;
  accepted: number;
  rejected: number;
  lastSubmitAt: number | null;
  /** First 12 hex digits of the token's SHA-256, or null on an open server. */
  token: string | null;
  /** Why robust aggregation flags it (repeatedly clipped or outvoted, store/accountability.ts), or null. */
  flag?: string | null;
  /** Its updates are folded with weight 0 (POST /api/admin/quarantine). */
  quarantined?: boolean;
}

export interface DashState {
  version: number;
  bufferFill: number;
  bufferSize: number;
  /** Epoch ms since when aggregation is paused, or null. */
  pausedAt: number | null;
  aggregating: boolean;
  totals: { accepted: number; applied: number; pending: number; rejected: number; versions: number };
  /** Contributor tokens are required (revocation applies). */
  tokensRequired: boolean;
  revokedTokens: number;
  startedAt: number;
  now: number;
}

export interface Snapshot {
  run: { runId: string; method: string; methodConfig: Record<string, unknown> };
  plan: Plan;
  state: DashState;
  versions: VersionPoint[];
  evals: EvalPoint[];
  rejectionCounts: Record<string, number>;
  /** Newest first. */
  rejections: Rejection[];
  /** [τ, count] ascending. */
  staleness: Array<[number, number]>;
  /** [normBucket, count] ascending. */
  norms: Array<[number, number]>;
  samples: Sample[];
  /** Newest first. */
  actions: AdminAction[];
  contributors: ContributorNow[];
  sampleMs: number;
}

/** What changed since the previous tick; histogram entries are increments. */
export interface Tick {
  state: DashState;
  versions: VersionPoint[];
  evals: EvalPoint[];
  rejections: Rejection[];
  staleness: Array<[number, number]>;
  norms: Array<[number, number]>;
  samples: Sample[];
  actions: AdminAction[];
  /** The full list, when it changed. */
  contributors?: ContributorNow[];
}

export type ActionRequest =
  | { action: 'pause' | 'resume' | 'checkpoint' | 'flush' }
  /** Revoke the token a connected contributor used (socketId) or a pasted token. */
  | { action: 'revoke'; socketId?: string; token?: string };

/** `version`: the model version a checkpoint or flush left (absent for other actions). */
export type ActionResult = { ok: true; message: string; version?: number } | { ok: false; message: string };

export interface AdminServerEvents {
  'dash:snapshot': (s: Snapshot) => void;
  'dash:tick': (t: Tick) => void;
}

export interface AdminClientEvents {
  'admin:action': (req: ActionRequest, ack: (r: ActionResult) => void) => void;
}

/** Log-spaced buckets of update norms: 4 per decade, bucket b covers [10^(b/4), 10^((b+1)/4)). */
export const NORM_BUCKETS_PER_DECADE = 4;

export function normBucket(norm: number): number {
  return norm > 0 && Number.isFinite(norm) ? Math.floor(Math.log10(norm) * NORM_BUCKETS_PER_DECADE) : Number.NEGATIVE_INFINITY;
}

/** Lower edge of a norm bucket. */
export function bucketStart(b: number): number {
  return 10 ** (b / NORM_BUCKETS_PER_DECADE);
}
