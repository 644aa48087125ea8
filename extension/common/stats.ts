/**
 * What the popup shows, written by the background from the trainer's reports, and the reasons
 * the trainer can be waiting for, as stable codes (the popup turns them into words).
 */
import * as z from 'zod/mini';

export { STATS_KEY } from './keys';

/** Why the trainer is not training right now. */
export const WAIT_CODES = [
  'starting',
  // refused by the policy (../common/policy.ts)
  'not-opted-in', 'paused', 'no-server', 'budget-used', 'idle-only', 'on-battery', 'data-saver',
  // the trainer's own
  'collecting', 'server-down', 'origin-refused', 'token-refused', 'incompatible', 'error',
] as const;
export type WaitCode = (typeof WAIT_CODES)[number];

export const waitingSchema = z.object({ code: z.enum(WAIT_CODES), text: z.string().check(z.maxLength(200)) });
export type Waiting = z.output<typeof waitingSchema>;

/** Today's contribution, for "Contributed 37 updates today · 4.2 MB sent". A new local day starts from zero. */
export const todaySchema = z.object({
  day: z.string(),
  /** Updates the server accepted today. */
  updates: z.int().check(z.minimum(0)),
  /** Bytes of updates sent today (GLWT deltas as uploaded). */
  bytesSent: z.int().check(z.minimum(0)),
  /** Bytes of global weights downloaded today. */
  bytesReceived: z.int().check(z.minimum(0)),
});
export type Today = z.output<typeof todaySchema>;

export const statsSchema = z.object({
  connected: z.boolean(),
  server: z.string(),
  modelVersion: z.nullable(z.int()),
  backend: z.nullable(z.string()),
  /** On wasm: the kernels' threads, and why not more (see TrainerReport.threads). */
  threads: z.optional(z.nullable(z.string())),
  buffered: z.int().check(z.minimum(0)),
  steps: z.int().check(z.minimum(0)),
  updatesSubmitted: z.int().check(z.minimum(0)),
  updatesAccepted: z.int().check(z.minimum(0)),
  /** Most recent losses, oldest first (at most {@link MAX_LOSSES}). */
  losses: z.array(z.number()),
  stepMs: z.nullable(z.number()),
  /** Why training is not running right now, or null while it is. */
  waiting: z.nullable(waitingSchema),
  lastError: z.nullable(z.string()),
  today: todaySchema,
  updatedAt: z.number(),
});
export type Stats = z.output<typeof statsSchema>;
export const MAX_LOSSES = 60;

export const EMPTY_STATS: Stats = {
  connected: false,
  server: '',
  modelVersion: null,
  backend: null,
  buffered: 0,
  steps: 0,
  updatesSubmitted: 0,
  updatesAccepted: 0,
  losses: [],
  stepMs: null,
  waiting: { code: 'starting', text: 'starting' },
  lastError: null,
  today: { day: '', updates: 0, bytesSent: 0, bytesReceived: 0 },
  updatedAt: 0,
};

export function parseStats(raw: unknown): Stats {
  const r = statsSchema.safeParse(raw);
  return r.success ? r.data : structuredClone(EMPTY_STATS);
}

/** Today's counters on `day`, yesterday's dropped. */
export function todayOn(t: Today, day: string): Today {
  return t.day === day ? t : { day, updates: 0, bytesSent: 0, bytesReceived: 0 };
}
