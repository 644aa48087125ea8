/**
 * What a contributor does after the server refuses its update: one table for every host, the
 * Node loop (./loop.ts) and the browser extension's (extension/offscreen/contributor.ts), so the
 * two cannot drift apart. `submitPatiently` (../protocol/patience.ts) has already offered a
 * 'busy' / 'rate_limited' update again a few times before a rejection reaches this table.
 */
import type { RejectCode, SubmitAck } from '../protocol/messages';
import { retryDelayMs } from '../protocol/patience';

export type AfterRejection =
  /** The base version is gone, unknown, or not this plan's model: pull the newest global weights before the next round. */
  | 'pull-newest'
  /** The server could not take it now (full, rate limit, a reconnect's hello in flight, its own failure): wait, then train again. */
  | 'wait'
  /** This update itself was bad: report it and train the next round from the same weights (a round always starts from the global model). */
  | 'next-round';

/** Every rejection code → what to do. A `Record` over RejectCode: a new code does not compile until it is placed here. */
export const AFTER_REJECTION: { readonly [C in RejectCode]: AfterRejection } = {
  too_stale: 'pull-newest',
  unknown_version: 'pull-newest',
  version_unavailable: 'pull-newest',
  // Names or shapes differ from the plan's model: the plan changed under this round.
  wrong_weights: 'pull-newest',
  busy: 'wait',
  rate_limited: 'wait',
  no_hello: 'wait',
  internal: 'wait',
  unsupported_protocol: 'wait',
  bad_request: 'next-round',
  bad_encoding: 'next-round',
  not_finite: 'next-round',
  norm_too_large: 'next-round',
  bad_examples: 'next-round',
};

export interface RejectionDecision {
  action: AfterRejection;
  /** Forget the loaded global version (true exactly for 'pull-newest'). */
  repull: boolean;
  /** How long to wait before the next round: the server's hint for 'wait' (else 2 s), 0 otherwise. */
  waitMs: number;
}

/** The decision for a refused submission. */
export function afterRejection(ack: Extract<SubmitAck, { ok: false }>): RejectionDecision {
  const action = AFTER_REJECTION[ack.code] ?? 'wait';
  return { action, repull: action === 'pull-newest', waitMs: action === 'wait' ? retryDelayMs(ack) : 0 };
}
