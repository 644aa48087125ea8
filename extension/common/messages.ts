/**
 * Every runtime message of the extension: one discriminated union per direction, validated with
 * zod on arrival (types never replace runtime validation: a page can talk to a content script,
 * and a compromised renderer can send anything). `runtime.sendMessage` reaches every extension
 * context, so each message names its recipient in `to`; a context ignores messages for others.
 *
 *   content script / popup / options / offscreen ──► background  (ToBackground)
 *   background ──► offscreen document                              (ToOffscreen)
 */
import { z } from 'zod';
import { settingsSchema } from './settings';

/** Longest data: URL accepted from a page (a 1 MB data URL is already a big inline image). */
export const MAX_DATA_URL = 1_000_000;
export const MAX_HTTP_URL = 4096;
/** Most image URLs in one `images:seen` batch. */
export const MAX_BATCH_URLS = 64;

const RASTER_DATA_URL = /^data:image\/(png|jpeg|jpg|webp|gif|avif|bmp);/i;

/** An image URL the extension may fetch: http(s), or a raster `data:image/…` URL (no SVG). */
export const imageUrlSchema = z.string().refine(
  (u) => (RASTER_DATA_URL.test(u) ? u.length <= MAX_DATA_URL : /^https?:\/\//i.test(u) && u.length <= MAX_HTTP_URL && URL.canParse(u)),
  'an http(s) or raster data: image URL',
);

export const settingsPatchSchema = settingsSchema.partial();

/** What the trainer (offscreen document, or the Firefox background page) reports after each step of its loop. */
export const trainerReportSchema = z.object({
  connected: z.boolean(),
  server: z.string().max(2048),
  modelVersion: z.number().int().nullable(),
  backend: z.string().max(32).nullable(),
  buffered: z.number().int().min(0),
  waiting: z.string().max(200).nullable(),
  lastError: z.string().max(500).nullable(),
  /** Present when a local round finished. */
  round: z
    .object({
      steps: z.number().int().min(0),
      computeMs: z.number().min(0),
      losses: z.array(z.number()).max(1000),
      stepMs: z.number().min(0),
      submitted: z.boolean(),
      accepted: z.boolean(),
    })
    .optional(),
});
export type TrainerReport = z.infer<typeof trainerReportSchema>;

export const toBackgroundSchema = z.discriminatedUnion('type', [
  /** Content script, at start: may I watch this page? */
  z.object({ to: z.literal('background'), type: z.literal('page:query') }),
  /** Content script: these images were visible for a while. */
  z.object({ to: z.literal('background'), type: z.literal('images:seen'), urls: z.array(imageUrlSchema).min(1).max(MAX_BATCH_URLS) }),
  /** Popup / options: settings and stats. */
  z.object({ to: z.literal('background'), type: z.literal('status:get') }),
  z.object({ to: z.literal('background'), type: z.literal('settings:update'), patch: settingsPatchSchema }),
  /** Trainer: may I run a round now, and against which server? */
  z.object({ to: z.literal('background'), type: z.literal('trainer:lease') }),
  z.object({ to: z.literal('background'), type: z.literal('trainer:report'), report: trainerReportSchema }),
]);
export type ToBackground = z.infer<typeof toBackgroundSchema>;

export const toOffscreenSchema = z.discriminatedUnion('type', [
  /** Fetch, decode and buffer these images. */
  z.object({ to: z.literal('offscreen'), type: z.literal('offscreen:ingest'), urls: z.array(imageUrlSchema).min(1).max(MAX_BATCH_URLS) }),
  /** Policy or settings changed: ask for a lease now instead of after the back-off. */
  z.object({ to: z.literal('offscreen'), type: z.literal('offscreen:wake') }),
]);
export type ToOffscreen = z.infer<typeof toOffscreenSchema>;

/** The answer to a `trainer:lease`. */
export type Lease =
  | { ok: true; serverUrl: string; token: string; budgetMs: number; backend: import('./settings').BackendPreference }
  | { ok: false; reason: string };

/** Response type of each message, by `type`. */
export interface Responses {
  'page:query': { observe: boolean; reason?: string };
  'images:seen': { forwarded: number };
  'status:get': { settings: z.infer<typeof settingsSchema>; stats: import('./settings').Stats; budgetLeftMs: number };
  'settings:update': { settings: z.infer<typeof settingsSchema> };
  'trainer:lease': Lease;
  'trainer:report': { ok: true };
  'offscreen:ingest': { stored: number };
  'offscreen:wake': { ok: true };
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
  schema: z.ZodType<M>,
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
