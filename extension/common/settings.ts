/**
 * The person's settings and today's compute usage, with their schemas. Settings live in
 * `storage.local` under {@link SETTINGS_KEY}; anything stored that fails validation is replaced
 * field by field with the defaults, so a bad write can never wedge the extension.
 *
 * The fields carry no `.default()`: a patch (`settings:update`) names only what it changes and
 * must not come back filled with defaults (under zod, `.partial()` of a schema with defaults
 * still fills them, which once turned a Pause click into a reset of every setting). Defaults are
 * one plain object, {@link DEFAULT_SETTINGS}. zod/mini keeps the service worker small.
 */
import * as z from 'zod/mini';
import { localDay } from './day';

export { SETTINGS_KEY, USAGE_KEY } from './keys';
export { localDay } from './day';

/** A bare host name such as `example.com` (matches its subdomains too); `*.` is dropped. */
const domain = z.pipe(
  z.string().check(z.trim(), z.toLowerCase(), z.regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/, 'a domain such as example.com')),
  z.transform((d: string) => d.replace(/^\*\./, '')),
);

export const BACKEND_PREFERENCES = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** Each setting's type and bounds. */
export const settingFields = {
  /** Nothing is watched, fetched or trained until the person opts in. */
  optedIn: z.boolean(),
  paused: z.boolean(),
  serverUrl: z.union([z.url({ protocol: /^https?$/ }), z.literal('')]),
  /** Contributor token issued by the Glimpse server operator. */
  token: z.string().check(z.maxLength(512)),
  /** When non-empty, images are noticed only on these domains (and their subdomains). */
  allowList: z.array(domain).check(z.maxLength(500)),
  /** Never notice images on these domains (wins over the allow list). */
  denyList: z.array(domain).check(z.maxLength(500)),
  /** Training wall-clock minutes per local day; 0 means no training at all. */
  dailyBudgetMinutes: z.int().check(z.minimum(0), z.maximum(24 * 60)),
  /** Train only while chrome.idle reports 'idle' or 'locked'. */
  idleOnly: z.boolean(),
  /**
   * Where to train. 'auto': a hardware GPU (WebGPU, then WebGL), else wasm, and a software-emulated
   * GPU (SwiftShader, llvmpipe: several times slower than wasm) only after wasm. A named backend
   * is tried first, emulated or not, then the 'auto' order.
   */
  backend: z.enum(BACKEND_PREFERENCES),
  /** Duty cycle: the trainer rests between steps so it computes at most this share of the time. */
  cpuPercent: z.int().check(z.minimum(10), z.maximum(100)),
  /** Most CPU cores training may use; 0 = half of them (the wasm kernels' thread pool, where the page is cross-origin isolated). */
  maxCores: z.int().check(z.minimum(0), z.maximum(256)),
  /** Rest while the device runs on battery (where the browser tells: Chrome's navigator.getBattery). */
  pauseOnBattery: z.boolean(),
};

export const settingsSchema = z.object(settingFields);
export type Settings = z.output<typeof settingsSchema>;
export type BackendPreference = Settings['backend'];

/** A change to some settings: only the named fields, each validated, nothing filled in. */
export const settingsPatchSchema = z.partial(z.strictObject(settingFields));
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

export const DEFAULT_SETTINGS: Readonly<Settings> = {
  optedIn: false,
  paused: false,
  serverUrl: '',
  token: '',
  allowList: [],
  denyList: [],
  dailyBudgetMinutes: 30,
  idleOnly: true,
  backend: 'auto',
  cpuPercent: 50,
  maxCores: 0,
  pauseOnBattery: true,
};

/** Parses stored settings; invalid or missing fields fall back to their defaults instead of throwing. */
export function parseSettings(raw: unknown): Settings {
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(settingFields)) {
    const r = (field as z.ZodMiniType).safeParse(obj[key]);
    out[key] = r.success ? r.data : structuredClone(DEFAULT_SETTINGS[key as keyof Settings]);
  }
  return out as Settings;
}

/** `current` with `patch` applied; throws (a zod error naming the field) when a patched field is invalid. */
export function applyPatch(current: Settings, patch: unknown): Settings {
  return settingsSchema.parse({ ...current, ...settingsPatchSchema.parse(patch) });
}

/** Cores the trainer may use: the setting, or half of the device's (at least one). */
export function coresAllowed(s: Pick<Settings, 'maxCores'>, hardwareConcurrency: number): number {
  const all = Math.max(1, Math.floor(hardwareConcurrency) || 1);
  return s.maxCores > 0 ? Math.min(s.maxCores, all) : Math.max(1, Math.floor(all / 2));
}

/** Compute used today, for the daily budget. `day` is the local calendar day `YYYY-MM-DD`. */
export const usageSchema = z.object({ day: z.string(), computeMs: z.number().check(z.minimum(0)) });
export type Usage = z.output<typeof usageSchema>;

/** Usage for the day of `now`: yesterday's usage resets to zero. */
export function usageToday(raw: unknown, now: number): Usage {
  const r = usageSchema.safeParse(raw);
  const day = localDay(now);
  return r.success && r.data.day === day ? r.data : { day, computeMs: 0 };
}
