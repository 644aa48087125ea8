/**
 * Per-contributor submission rate limit: one token bucket per key (a contributor token's
 * fingerprint on a token server, else the connection's address). A bucket holds `burst`
 * submissions and refills at `perMinute`; a submission that finds it empty is refused with
 * 'rate_limited' and the time until the next token, so an honest client can wait exactly that
 * long. Pure apart from the clock, which is injected.
 */
export interface RateLimitConfig {
  /** Sustained submissions per minute per key. */
  perMinute: number;
  /** Submissions a key may make back to back before the rate applies. Default max(1, ⌈perMinute / 6⌉). */
  burst?: number;
}

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  /** Takes one submission's token for `key` if it has one. */
  take(key: string): Admission;
  /** Keys currently tracked (full buckets are forgotten). */
  size(): number;
}

export function resolveBurst(c: RateLimitConfig): number {
  return c.burst ?? Math.max(1, Math.ceil(c.perMinute / 6));
}

export function createRateLimiter(c: RateLimitConfig, now: () => number = Date.now): RateLimiter {
  const burst = resolveBurst(c);
  const perMs = c.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sinceSweep = 0;

  const refill = (b: { tokens: number; at: number }, t: number) => {
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * perMs);
    b.at = t;
  };
  // Memory stays bounded by the keys active in the last burst/perMinute minutes: a bucket that
  // has refilled to full is the same as no bucket.
  const sweep = (t: number) => {
    for (const [k, b] of buckets) {
      refill(b, t);
      if (b.tokens >= burst) buckets.delete(k);
    }
  };

  return {
    take(key) {
      const t = now();
      if (++sinceSweep >= 1024) {
        sinceSweep = 0;
        sweep(t);
      }
      let b = buckets.get(key);
      if (!b) {
        b = { tokens: burst, at: t };
        buckets.set(key, b);
      } else {
        refill(b, t);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / perMs) };
    },
    size: () => buckets.size,
  };
}
