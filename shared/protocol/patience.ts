/**
 * 'busy' and 'rate_limited' refuse an update without reading it: the same update may simply be
 * offered again later. `submitPatiently` does that — waits as long as the server said
 * (`retryAfterMs`), else 2 s, and resubmits, a few times — so a round's compute is not thrown
 * away because the server was momentarily full. Every client (Node contributors, the extension)
 * uses it.
 */
import type { FederationClient, SubmitDeltaInput } from './client';
import type { SubmitAck } from './messages';

/** True for answers after which the same update may be offered again. */
export const isRetryLater = (ack: SubmitAck): boolean => !ack.ok && (ack.code === 'busy' || ack.code === 'rate_limited');

/** How long to wait after a retry-later answer: the server's hint (0.1 s – 10 min), else 2 s. */
export const retryDelayMs = (ack: SubmitAck): number =>
  !ack.ok && ack.retryAfterMs !== undefined ? Math.min(Math.max(ack.retryAfterMs, 100), 600_000) : 2000;

export interface PatienceOptions {
  /** Resubmissions after the first answer (default 3). */
  maxResubmits?: number;
  signal?: AbortSignal;
  /** Told before each wait. */
  onWait?: (ack: SubmitAck, waitMs: number) => void;
}

export async function submitPatiently(client: Pick<FederationClient, 'submitDelta'>, input: SubmitDeltaInput, o: PatienceOptions = {}): Promise<SubmitAck> {
  let ack = await client.submitDelta(input);
  for (let i = 0; i < (o.maxResubmits ?? 3) && isRetryLater(ack) && !o.signal?.aborted; i++) {
    const wait = retryDelayMs(ack);
    o.onWait?.(ack, wait);
    await abortableSleep(wait, o.signal);
    if (o.signal?.aborted) break;
    ack = await client.submitDelta(input);
  }
  return ack;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
