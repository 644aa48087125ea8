/**
 * Cheap parsing first (issue 13): what one Socket.IO packet may cost before any JSON.parse or zod
 * runs. A 2 MB `session:hello` whose `capabilities` held 180,000 keys cost ~1.7 s of server time
 * in JSON.parse and zod, and even an unknown event of that size ~0.7 s; the message-size limit
 * alone (maxMessageBytes, sized for a delta) does not stop that. So every packet's text is first
 * judged here in O(1) by its length against its event's budget, then in one bounded linear scan
 * (no allocation) for keys, values, nesting and string lengths; only then is it parsed.
 *
 * Pure: the bounded decoder (bounded-parser.ts) applies the verdicts. The budgets are generous
 * multiples of what the schemas in shared/protocol/messages.ts can accept, so a payload near a
 * schema bound still reaches zod and gets its field named; the budgets only stop gross abuse.
 */

/** Socket.IO packet types (socket.io-parser's PacketType). */
export const PACKET = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 } as const;

export interface EventBudget {
  /** Characters of the packet's text (header and JSON). */
  maxChars: number;
  /** Object keys (`:` outside strings) in the whole payload. */
  maxKeys: number;
  /** Array elements and object members after the first (`,` outside strings). */
  maxValues: number;
  /** Nesting of arrays and objects, the event's argument array included. */
  maxDepth: number;
  /** Characters of the longest string (key or value), escapes counted as written. */
  maxString: number;
  /** Binary attachments (Socket.IO sends each as its own frame after the text). */
  maxAttachments: number;
}

/** Budgets per namespace and event. An event not listed is dropped unparsed. */
export const EVENT_BUDGETS: Readonly<Record<string, Readonly<Record<string, EventBudget>>>> = {
  '/': {
    // protocol, clientId, clientKind, backend, capabilities (≤ 32 keys of ≤ 64 chars, values ≤ 256 chars).
    'session:hello': { maxChars: 16_384, maxKeys: 64, maxValues: 64, maxDepth: 3, maxString: 1024, maxAttachments: 0 },
    'weights:pull': { maxChars: 512, maxKeys: 8, maxValues: 8, maxDepth: 2, maxString: 256, maxAttachments: 0 },
    // updateId, baseVersion, examples, metrics (4 fields), delta (one attachment placeholder).
    'delta:submit': { maxChars: 4096, maxKeys: 32, maxValues: 32, maxDepth: 3, maxString: 1024, maxAttachments: 1 },
  },
  '/admin': {
    'admin:action': { maxChars: 4096, maxKeys: 16, maxValues: 16, maxDepth: 3, maxString: 1024, maxAttachments: 0 },
  },
};

/** CONNECT packets carry the handshake `auth` ({ token ≤ 512 chars }); ACKs from clients are never asked for. */
export const CONNECT_MAX_CHARS = 2048;
export const ACK_MAX_CHARS = 1024;

/** A packet's header, parsed exactly as socket.io-parser 4.2 parses it (so both agree on namespace and id). */
export interface PacketHead {
  type: number;
  attachments: number;
  nsp: string;
  id: number | undefined;
  /** Index of the JSON payload's first character (= text length when there is none). */
  body: number;
}

export function readHead(str: string): PacketHead | null {
  const type = Number(str.charAt(0));
  if (!(type >= 0 && type <= 6 && Number.isInteger(type))) return null;
  let i = 0;
  let attachments = 0;
  if (type === PACKET.BINARY_EVENT || type === PACKET.BINARY_ACK) {
    const start = i + 1;
    while (str.charAt(++i) !== '-' && i !== str.length) { /* digits */ }
    const n = Number(str.substring(start, i));
    if (str.charAt(i) !== '-' || !Number.isInteger(n) || n < 1) return null;
    attachments = n;
  }
  let nsp = '/';
  if (str.charAt(i + 1) === '/') {
    const start = i + 1;
    while (++i) {
      if (str.charAt(i) === ',' || i === str.length) break;
    }
    nsp = str.substring(start, i);
  }
  let id: number | undefined;
  const next = str.charAt(i + 1);
  if (next !== '' && Number(next) == (next as unknown as number)) {
    const start = i + 1;
    while (++i) {
      const c = str.charAt(i);
      if (Number(c) != (c as unknown as number)) {
        --i;
        break;
      }
      if (i === str.length) break;
    }
    id = Number(str.substring(start, i + 1));
  }
  return { type, attachments, nsp, id, body: i + 1 };
}

/** The event name of an event packet's payload `["name", …]`, read without parsing; null if not a plain string. */
export function eventName(str: string, body: number): string | null {
  if (str.charCodeAt(body) !== 0x5b || str.charCodeAt(body + 1) !== 0x22) return null;
  const end = str.indexOf('"', body + 2);
  // Every event this server knows is short and has no escapes: anything else is unknown.
  if (end < 0 || end - body > 66) return null;
  const name = str.substring(body + 2, end);
  return name.includes('\\') ? null : name;
}

/**
 * One pass over JSON text from `start`: the first budget it exceeds, or null. Counts structure
 * only; malformed JSON is left to JSON.parse (which then runs on bounded text).
 */
export function overBudget(text: string, start: number, b: EventBudget): string | null {
  let depth = 0;
  let keys = 0;
  let values = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const from = i;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
      if (i - from - 1 > b.maxString) return `a string longer than ${b.maxString} characters`;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > b.maxDepth) return `nesting deeper than ${b.maxDepth}`;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x3a) {
      if (++keys > b.maxKeys) return `more than ${b.maxKeys} keys`;
    } else if (c === 0x2c) {
      if (++values > b.maxValues) return `more than ${b.maxValues} values`;
    }
  }
  return null;
}

/** What to do with a packet's text (and the binary frames it announces). */
export type Verdict =
  | { action: 'pass'; attachments: number }
  /** Not parsed, not answered: unknown events, oversized ACKs. Its attachments are skipped. */
  | { action: 'drop'; attachments: number }
  /** Not parsed; answered bad_request through the event's handler (when it asked for an ack). */
  | { action: 'refuse'; head: PacketHead; event: string; reason: string }
  /** A protocol violation: the connection is closed. */
  | { action: 'close'; reason: string };

export function judgePacket(str: string, budgets: typeof EVENT_BUDGETS = EVENT_BUDGETS): Verdict {
  const head = readHead(str);
  // Let socket.io-parser reject what it cannot read: it throws, which closes the connection.
  if (!head) return { action: 'pass', attachments: 0 };
  const pass: Verdict = { action: 'pass', attachments: head.attachments };
  if (head.type === PACKET.CONNECT) {
    return str.length > CONNECT_MAX_CHARS ? { action: 'close', reason: `a CONNECT packet of ${str.length} characters (at most ${CONNECT_MAX_CHARS})` } : pass;
  }
  if (head.type === PACKET.ACK || head.type === PACKET.BINARY_ACK) {
    return str.length > ACK_MAX_CHARS || head.attachments > 0 ? { action: 'drop', attachments: head.attachments } : pass;
  }
  if (head.type !== PACKET.EVENT && head.type !== PACKET.BINARY_EVENT) return pass;
  const event = eventName(str, head.body);
  const budget = event === null ? undefined : budgets[head.nsp]?.[event];
  if (!budget || event === null) return { action: 'drop', attachments: head.attachments };
  const refuse = (reason: string): Verdict => ({ action: 'refuse', head, event, reason: `${event} payload over its budget: ${reason}` });
  if (str.length > budget.maxChars) return refuse(`${str.length} characters (at most ${budget.maxChars})`);
  if (head.attachments > budget.maxAttachments) return refuse(`${head.attachments} binary attachments (at most ${budget.maxAttachments})`);
  const over = overBudget(str, head.body, budget);
  return over ? refuse(over) : pass;
}

/**
 * Stands in for the arguments of a refused event: the handler sees it instead of the payload and
 * answers bad_request with `reason` (socket/federation.ts), without parsing anything.
 */
export class OverBudget {
  constructor(readonly reason: string) {}
}
