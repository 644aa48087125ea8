/**
 * The Glimpse federation protocol: every message that crosses the Socket.IO connection, as zod
 * schemas (runtime validation — types are not validation) plus the TypeScript types derived from
 * them. docs/protocol.md describes the same wire format for authors of other-language clients.
 *
 * Events are named `domain:verb`. Client → server requests carry an acknowledgement callback as
 * their last argument; every ack is `{ ok: true, … } | { ok: false, code, reason }`.
 */
import { z } from 'zod';

/** Bumped on any incompatible change to events, payloads or the weight codec. */
export const PROTOCOL_VERSION = 1;

/** Why the server refused a request. Stable strings: clients may branch on them. */
export const REJECT_CODES = [
  'bad_request', // payload failed schema validation
  'unsupported_protocol', // hello with a protocol version the server does not speak
  'no_hello', // a request before `session:hello`
  'bad_encoding', // delta bytes are not a valid GLWT buffer (garbage, truncated, checksum)
  'wrong_weights', // names/shapes differ from the online weights of the plan's method
  'not_finite', // NaN or ±Inf in the delta
  'norm_too_large', // L2 norm above the server's bound
  'unknown_version', // base version the server never published (e.g. from the future)
  'too_stale', // base version more than maxStaleness versions old
  'bad_examples', // examples ≤ 0 or above the plan's maximum
  'busy', // the server's buffer is full; retry later
  'rate_limited', // this contributor submitted faster than the server's limit; retry after retryAfterMs
  'version_unavailable', // weights for that version are no longer kept
  'internal', // a server-side failure; the update was not accepted
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export type Failure = { ok: false; code: RejectCode; reason: string };

export const ClientKind = z.enum(['node', 'browser', 'extension', 'other']);
export type ClientKind = z.infer<typeof ClientKind>;

/** Handshake `auth` object (Socket.IO `io(url, { auth })`). */
export const HandshakeAuth = z.object({
  token: z.string().max(512).optional(),
});
export type HandshakeAuth = z.infer<typeof HandshakeAuth>;

/** Keys of `session:hello`'s capabilities. */
export const MAX_CAPABILITIES = 32;

export const Hello = z.object({
  protocol: z.number().int(),
  /** A stable random id the client keeps across sessions (pseudonymous contributor id). */
  clientId: z.string().min(1).max(128).regex(/^[\w.:-]+$/).optional(),
  clientKind: ClientKind,
  /** tfjs backend that will train: 'webgl', 'webgpu', 'wasm', 'cpu', 'tensorflow', … */
  backend: z.string().max(64),
  /** Free-form capabilities (e.g. { cores: 8, memoryGb: 16 }); logged, never trusted. At most {@link MAX_CAPABILITIES} keys. */
  capabilities: z
    .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
    .refine((o) => Object.keys(o).length <= MAX_CAPABILITIES, { message: `at most ${MAX_CAPABILITIES} keys` })
    .optional(),
});
export type Hello = z.infer<typeof Hello>;

export const OptimizerPlan = z.object({
  kind: z.enum(['adam', 'sgd', 'momentum']),
  learningRate: z.number().positive(),
  weightDecay: z.number().nonnegative().optional(),
});

/** What a contributor must do; sent in the hello ack and on `plan:update`. */
export const Plan = z.object({
  protocol: z.number().int(),
  runId: z.string(),
  /** SSL method name from shared/ssl/registry.ts. */
  method: z.string(),
  /** Overrides passed to createMethod(method, overrides): encoder widths, projector dims, temperature, … */
  methodConfig: z.record(z.string(), z.unknown()),
  /** Client-side optimizer of the local round. */
  optimizer: OptimizerPlan,
  localSteps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  /** Current global model version. */
  version: z.number().int().nonnegative(),
  /** Deltas based on versions older than version − maxStaleness are rejected. */
  maxStaleness: z.number().int().nonnegative(),
  /** Largest accepted `examples` in one update. */
  maxExamples: z.number().int().positive(),
  /** Largest Socket.IO message the server accepts, in bytes; bigger ones close the connection. */
  maxMessageBytes: z.number().int().positive(),
  /** Deltas folded per server step (FedBuff's K). */
  bufferSize: z.number().int().positive(),
  /** Whether pulled weights include the target/momentum network (`target/…` names). */
  hasTarget: z.boolean(),
});
export type Plan = z.infer<typeof Plan>;

export type HelloAck = { ok: true; plan: Plan; serverTime: number; contributorId: string } | Failure;

/** A binary payload: Buffer/Uint8Array in Node, ArrayBuffer in browsers. */
export const Binary = z.custom<Uint8Array | ArrayBuffer>(
  (v) => v instanceof Uint8Array || v instanceof ArrayBuffer,
  { message: 'expected binary data' },
);

/**
 * A plain Uint8Array over the same memory. Node Buffers are normalised because Buffer#slice does
 * not copy (the codec copies misaligned payloads with .slice and needs a real copy).
 */
export function toBytes(v: Uint8Array | ArrayBuffer): Uint8Array {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export const PullRequest = z.object({
  /** A version number, or 'latest'. */
  version: z.union([z.number().int().nonnegative(), z.literal('latest')]),
});
export type PullRequest = z.infer<typeof PullRequest>;

/** `weights`: GLWT bytes with every online and (when plan.hasTarget) `target/…` weight. */
export type PullAck = { ok: true; version: number; weights: Uint8Array | ArrayBuffer } | Failure;

export const LocalMetrics = z.object({
  /** Mean local loss over the round. */
  loss: z.number().finite().optional(),
  steps: z.number().int().nonnegative().optional(),
  msPerStep: z.number().nonnegative().optional(),
  backend: z.string().max(64).optional(),
});
export type LocalMetrics = z.infer<typeof LocalMetrics>;

export const SubmitRequest = z.object({
  /** Client-chosen unique id (e.g. a UUID). Resubmitting the same id is safe: it counts once. */
  updateId: z.string().min(1).max(128).regex(/^[\w.:-]+$/),
  baseVersion: z.number().int().nonnegative(),
  examples: z.number().int(),
  /** Optional: what the round measured (logged; the loss feeds the dashboard). */
  metrics: LocalMetrics.optional(),
  /** GLWT bytes: exactly the online weight names and shapes, values = local − global. */
  delta: Binary,
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;

export type SubmitAck =
  | {
      ok: true;
      /** 'accepted' the first time, 'duplicate' when this updateId was already accepted (counted once). */
      status: 'accepted' | 'duplicate';
      updateId: string;
      /** Current global version when the ack was sent. */
      version: number;
      bufferFill: number;
      bufferSize: number;
      /** True when the server clipped the delta's norm to its bound. */
      clipped: boolean;
    }
  | (Failure & { version: number; /** With 'rate_limited': ms until a submission is admitted again. */ retryAfterMs?: number });

export interface VersionEvent {
  version: number;
  /** Epoch ms of the server step. */
  at: number;
  updates: number;
}

/** Server → client events. */
export interface ServerToClientEvents {
  /** A new global version exists; pull it when the current round ends. */
  'model:version': (e: VersionEvent) => void;
  /** The plan changed (e.g. new hyperparameters); adopt it for the next round. */
  'plan:update': (plan: Plan) => void;
}

/** Client → server events; the last argument is the acknowledgement. */
export interface ClientToServerEvents {
  'session:hello': (hello: Hello, ack: (a: HelloAck) => void) => void;
  'weights:pull': (req: PullRequest, ack: (a: PullAck) => void) => void;
  'delta:submit': (req: SubmitRequest, ack: (a: SubmitAck) => void) => void;
}

/** Per-socket server data. */
export interface SocketData {
  contributorId?: string;
  clientKind?: ClientKind;
  backend?: string;
  helloAt?: number;
}

/** A readable one-line summary of a zod error (first few issues). */
export function describeZodError(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
