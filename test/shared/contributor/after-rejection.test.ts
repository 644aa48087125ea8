/**
 * The one table both contributor loops follow after a refused update (the Node loop's use of it
 * is checked in loop.test.ts, the extension's in test/extension/contributor.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { AFTER_REJECTION, afterRejection } from '../../../shared/contributor/after-rejection';
import { REJECT_CODES } from '../../../shared/protocol/messages';

describe('afterRejection', () => {
  it('places every RejectCode', () => {
    expect(AFTER_REJECTION).toEqual({
      too_stale: 'pull-newest',
      unknown_version: 'pull-newest',
      version_unavailable: 'pull-newest',
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
    });
    expect(Object.keys(AFTER_REJECTION).sort()).toEqual([...REJECT_CODES].sort());
  });

  it('re-pulls exactly for pull-newest, waits the server hint (else 2 s) exactly for wait', () => {
    for (const code of REJECT_CODES) {
      const d = afterRejection({ ok: false, code, reason: 'x', version: 3, retryAfterMs: 750 });
      expect(d.repull, code).toBe(AFTER_REJECTION[code] === 'pull-newest');
      expect(d.waitMs, code).toBe(AFTER_REJECTION[code] === 'wait' ? 750 : 0);
    }
    expect(afterRejection({ ok: false, code: 'internal', reason: 'x', version: 3 }).waitMs).toBe(2000);
    expect(afterRejection({ ok: false, code: 'rate_limited', reason: 'x', version: 3, retryAfterMs: 1 }).waitMs).toBe(100); // clamped
  });
});
