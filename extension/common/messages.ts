/**
 * Every runtime message of the extension: one discriminated union per direction, validated with
 * zod on arrival (types never replace runtime validation: a page can talk to a content script,
 * and a compromised renderer can send anything). `runtime.sendMessage` reaches every extension
 * context, so each message names its recipient in `to`; a context ignores messages for others.
 *
 *   content script / popup / options / offscreen ──► background  (ToBackground)
 *   background ──► offscreen document                              (ToOffscreen)
 */
import * as z from 'zod/mini';
import { backendBenchSchema, type BackendBench } from './backend-bench';
import type { WaitCode } from './stats';
import { settingsPatchSchema, type BackendPreference, type Settings } from './settings';
import { waitingSchema, type Stats } from './stats';

/** Longest data: URL accepted from a page (a 1 MB data URL is already a big inline image). */
export const MAX_DATA_URL = 1_000_000;
export const MAX_HTTP_URL = 4096;
/** Most image URLs in one `images:seen` batch. */
export const MAX_BATCH_URLS = 64;

const RASTER_DATA_URL = /^data:image\/(png|jpeg|jpg|webp|gif|avif|bmp);/i;

/** An image URL the extension may fetch: http(s), or a raster `data:image/…` URL (no SVG). */
export const imageUrlSchema = z.string().check(
  z.refine(
    (u) => (RASTER_DATA_URL.test(u) ? u.length <= MAX_DATA_URL : /^https?:\/\//i.test(u) && u.length <= MAX_HTTP_URL && URL.canParse(u)),
    'an http(s) or raster data: image URL',
  ),
);
const imageUrls = z.array(imageUrlSchema).check(z.minLength(1), z.maxLength(MAX_BATCH_URLS));
const count = z.int().check(z.minimum(0));

/** What the trainer (offscreen document, or the Firefox background page) reports after each step of its loop. */
export const trainerReportSchema = z.object({
  connected: z.boolean(),
  server: z.string().check(z.maxLength(2048)),
  modelVersion: z.nullable(z.int()),
  backend: z.nullable(z.string().check(z.maxLength(32))),
  /** What the wasm kernels run on, e.g. "2 threads", or "1 thread (why not more)"; absent: unchanged. */
  threads: z.optional(z.nullable(z.string().check(z.maxLength(300)))),
  buffered: count,
  /** Why it is not training now; null while it trains. */
  waiting: z.nullable(waitingSchema),
  lastError: z.nullable(z.string().check(z.maxLength(500))),
  /** Present when a local round finished. */
  round: z.optional(
    z.object({
      steps: count,
      computeMs: z.number().check(z.minimum(0)),
      losses: z.array(z.number()).check(z.maxLength(1000)),
      stepMs: z.number().check(z.minimum(0)),
      submitted: z.boolean(),
      accepted: z.boolean(),
      /** Bytes of the delta uploaded, and of global weights downloaded for this round. */
      bytesSent: count,
      bytesReceived: count,
    }),
  ),
});
export type TrainerReport = z.output<typeof trainerReportSchema>;

/**
 * What the trainer's page knows about the device that the service worker cannot see
 * (navigator.getBattery and navigator.connection exist only in windows); null = not exposed.
 */
export const deviceSchema = z.object({ onBattery: z.nullable(z.boolean()), saveData: z.nullable(z.boolean()) });
export type DeviceConditions = z.output<typeof deviceSchema>;

const bg = z.literal('background');
export const toBackgroundSchema = z.discriminatedUnion('type', [
  /** Content script, at start: may I watch this page? */
  z.object({ to: bg, type: z.literal('page:query') }),
  /** Content script: these images were visible for a while. */
  z.object({ to: bg, type: z.literal('images:seen'), urls: imageUrls }),
  /** Popup / options: settings and stats. */
  z.object({ to: bg, type: z.literal('status:get') }),
  z.object({ to: bg, type: z.literal('settings:update'), patch: settingsPatchSchema }),
  /** Options: delete the buffered images (the trainer may be running). */
  z.object({ to: bg, type: z.literal('buffer:clear') }),
  /** Trainer: may I run a round now, and against which server? */
  z.object({ to: bg, type: z.literal('trainer:lease'), device: z.optional(deviceSchema) }),
  z.object({ to: bg, type: z.literal('trainer:report'), report: trainerReportSchema }),
  /** Trainer: the Automatic choice's backend timings, to remember (common/backend-bench.ts). */
  z.object({ to: bg, type: z.literal('trainer:bench'), bench: backendBenchSchema }),
  /** Options: forget the timings, so the trainer measures again before its next round. */
  z.object({ to: bg, type: z.literal('bench:reset') }),
]);
export type ToBackground = z.output<typeof toBackgroundSchema>;

const off = z.literal('offscreen');
export const toOffscreenSchema = z.discriminatedUnion('type', [
  /** Fetch, decode and buffer these images. */
  z.object({ to: off, type: z.literal('offscreen:ingest'), urls: imageUrls }),
  /** Policy or settings changed: ask for a lease now instead of after the back-off. */
  z.object({ to: off, type: z.literal('offscreen:wake') }),
  /** Delete every buffered image and queued URL. */
  z.object({ to: off, type: z.literal('offscreen:clear') }),
]);
export type ToOffscreen = z.output<typeof toOffscreenSchema>;

/** The answer to a `trainer:lease`. */
export type Lease =
  | {
      ok: true; serverUrl: string; token: string; budgetMs: number; backend: BackendPreference;
      /** The CPU cap (duty cycle, %); absent = none. */
      cpuPercent?: number;
      /** Cores the trainer may use. */
      cores?: number;
      /** The remembered backend timings (with backend 'auto'); stale or absent = measure first. */
      bench?: BackendBench | null;
    }
  | { ok: false; code: WaitCode; reason: string };

/** Response type of each message, by `type`. */
export interface Responses {
  'page:query': { observe: boolean; reason?: string };
  'images:seen': { forwarded: number };
  'status:get': { settings: Settings; stats: Stats; budgetLeftMs: number; bench: BackendBench | null };
  'settings:update': { settings: Settings };
  'buffer:clear': { buffered: number };
  'trainer:lease': Lease;
  'trainer:report': { ok: true };
  'trainer:bench': { ok: true };
  'bench:reset': { ok: true };
  'offscreen:ingest': { stored: number };
  'offscreen:wake': { ok: true };
  'offscreen:clear': { buffered: number };
}

type AnyMessage = ToBackground | ToOffscreen;
export type MessageOf<T extends AnyMessage['type']> = Extract<AnyMessage, { type: T }>;
export type ResponseOf<T extends AnyMessage['type']> = Responses[T];

/** Who sent a message, as far as the browser vouches for it. */
export type SenderKind = 'content' | 'extension-page';

/**
 * Handlers by message type: each says which senders may use it. A message from any other sender
 * is dropped, so a web page cannot change settings through the content script.
 */
export type HandlerMap<M extends AnyMessage> = {
  [T in M['type']]: {
    from: readonly SenderKind[];
    handle: (msg: Extract<M, { type: T }>, sender: { kind: SenderKind; url?: string; tabId?: number; incognito: boolean }) => Promise<ResponseOf<T>> | ResponseOf<T>;
  };
};

/** Classifies a runtime.MessageSender: extension pages have our origin; content scripts run in tabs. */
export function senderKind(sender: { url?: string; tab?: unknown; id?: string }, extensionId: string, extensionOrigin: string): SenderKind | null {
  if (sender.id !== extensionId) return null;
  if (sender.url?.startsWith(extensionOrigin)) return 'extension-page';
  if (sender.tab) return 'content';
  return null;
}

/**
 * Validates `raw` against `schema` and runs its handler if the sender may use it. Returns
 * undefined for messages addressed to another context (so that context can answer) and throws
 * on invalid messages or disallowed senders.
 */
export async function dispatch<M extends AnyMessage>(
  schema: z.ZodMiniType<M>,
  recipient: M['to'],
  handlers: HandlerMap<M>,
  raw: unknown,
  sender: { kind: SenderKind | null; url?: string; tabId?: number; incognito: boolean },
): Promise<unknown> {
  if (typeof raw !== 'object' || raw === null || (raw as { to?: unknown }).to !== recipient) return undefined;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid message: ${z.prettifyError(parsed.error).slice(0, 300)}`);
  const msg = parsed.data;
  const h = (handlers as unknown as Record<string, { from: readonly SenderKind[]; handle: unknown }>)[msg.type];
  if (!sender.kind || !h.from.includes(sender.kind)) throw new Error(`'${msg.type}' is not accepted from ${sender.kind ?? 'an unknown sender'}`);
  return (h.handle as (m: M, s: unknown) => unknown)(msg, { ...sender, kind: sender.kind });
}
