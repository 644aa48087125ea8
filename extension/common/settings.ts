/**
 * The person's settings and the extension's running statistics, with their zod schemas. Settings
 * live in `storage.local` under {@link SETTINGS_KEY}; anything stored that fails validation is
 * replaced field by field with the defaults, so a bad write can never wedge the extension.
 */
import { z } from 'zod';

export { SETTINGS_KEY, STATS_KEY, USAGE_KEY } from './keys';

/** A bare host name such as `example.com` (matches its subdomains too). */
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/, 'a domain such as example.com')
  .transform((d) => d.replace(/^\*\./, ''));

export const settingsSchema = z.object({
  /** Nothing is watched, fetched or trained until the person opts in on the options page. */
  optedIn: z.boolean().default(false),
  paused: z.boolean().default(false),
  serverUrl: z.string().url().or(z.literal('')).default(''),
  /** Contributor token issued by the Glimpse server operator. */
  token: z.string().max(512).default(''),
  /** When non-empty, images are noticed only on these domains (and their subdomains). */
  allowList: z.array(domain).max(500).default([]),
  /** Never notice images on these domains (wins over the allow list). */
  denyList: z.array(domain).max(500).default([]),
  /** Training wall-clock minutes per local day; 0 means no training at all. */
  dailyBudgetMinutes: z.number().int().min(0).max(24 * 60).default(30),
  /** Train only while chrome.idle reports 'idle' or 'locked'. */
  idleOnly: z.boolean().default(true),
  /**
   * Where to train. 'auto': a hardware GPU (WebGPU, then WebGL), else wasm, and a software-emulated
   * GPU (SwiftShader, llvmpipe: several times slower than wasm) only after wasm. A named backend
   * is tried first, emulated or not, then the 'auto' order.
   */
  backend: z.enum(['auto', 'webgpu', 'webgl', 'wasm', 'cpu']).default('auto'),
});

export type BackendPreference = Settings['backend'];

export type Settings = z.infer<typeof settingsSchema>;
export type SettingsPatch = Partial<z.input<typeof settingsSchema>>;

export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

/** Parses stored settings; invalid fields fall back to their defaults instead of throwing. */
export function parseSettings(raw: unknown): Settings {
  const whole = settingsSchema.safeParse(raw ?? {});
  if (whole.success) return whole.data;
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  for (const [key, field] of Object.entries(settingsSchema.shape)) {
    const r = (field as z.ZodType).safeParse(obj[key]);
    if (r.success) out[key] = r.data;
  }
  return out as Settings;
}

/** Compute used today, for the daily budget. `day` is the local calendar day `YYYY-MM-DD`. */
export const usageSchema = z.object({ day: z.string(), computeMs: z.number().min(0) });
export type Usage = z.infer<typeof usageSchema>;

export function localDay(now: number): string {
  const d = new Date(now);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Usage for the day of `now`: yesterday's usage resets to zero. */
export function usageToday(raw: unknown, now: number): Usage {
  const r = usageSchema.safeParse(raw);
  const day = localDay(now);
  return r.success && r.data.day === day ? r.data : { day, computeMs: 0 };
}

/** What the popup shows; written by the service worker from the trainer's reports. */
export const statsSchema = z.object({
  connected: z.boolean(),
  server: z.string(),
  modelVersion: z.number().int().nullable(),
  backend: z.string().nullable(),
  buffered: z.number().int().min(0),
  steps: z.number().int().min(0),
  updatesSubmitted: z.number().int().min(0),
  updatesAccepted: z.number().int().min(0),
  /** Most recent losses, oldest first (at most {@link MAX_LOSSES}). */
  losses: z.array(z.number()),
  stepMs: z.number().nullable(),
  /** Why training is not running right now, or null while it is. */
  waiting: z.string().nullable(),
  lastError: z.string().nullable(),
  updatedAt: z.number(),
});
export type Stats = z.infer<typeof statsSchema>;
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
  waiting: 'not started',
  lastError: null,
  updatedAt: 0,
};

export function parseStats(raw: unknown): Stats {
  const r = statsSchema.safeParse(raw);
  return r.success ? r.data : { ...EMPTY_STATS };
}
