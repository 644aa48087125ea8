/**
 * A Socket.IO parser (the server's `parser` option) whose decoder judges each packet before
 * socket.io-parser parses it (payload-budget.ts): unknown events and their attachments are dropped
 * unparsed; an event over its budget reaches its handler as an {@link OverBudget} (answered
 * bad_request, nothing parsed); a message whose text and binary attachments together exceed
 * maxMessageBytes closes the connection, as docs/protocol.md says — Engine.IO's
 * maxHttpBufferSize bounds each frame, and a binary event is one text frame plus one frame per
 * attachment, so without this count ten attachments of just under the limit were buffered whole.
 * Throwing from `add` is how socket.io closes a connection on a protocol violation.
 */
import { Decoder as BaseDecoder, Encoder } from 'socket.io-parser';
import { EVENT_BUDGETS, OverBudget, PACKET, judgePacket } from './payload-budget';

export interface BoundedParserOptions {
  /** Text plus binary attachments of one message, in bytes (characters for the text). */
  maxMessageBytes: number;
  budgets?: typeof EVENT_BUDGETS;
}

/** socket.io's own cap (socket.io-parser's default); no event here takes more than one. */
const MAX_ATTACHMENTS = 10;

export function boundedParser(o: BoundedParserOptions): { Encoder: typeof Encoder; Decoder: typeof BaseDecoder } {
  const budgets = o.budgets ?? EVENT_BUDGETS;

  class BoundedDecoder extends BaseDecoder {
    /** Binary frames the current message still announces. */
    private awaiting = 0;
    /** Whether they are skipped (a dropped or refused packet) rather than passed on. */
    private skipping = false;
    /** Bytes of the current message so far. */
    private bytes = 0;
    /** A refusal to deliver once the refused packet's attachments have been skipped. */
    private refusal: (() => void) | null = null;

    constructor() {
      super({ maxAttachments: MAX_ATTACHMENTS });
    }

    override add(obj: unknown): void {
      if (typeof obj === 'string') return this.addText(obj);
      const size = (obj as { byteLength?: number } | null)?.byteLength ?? 0;
      if (this.awaiting === 0) return super.add(obj); // socket.io-parser refuses stray binary
      this.bytes += size;
      if (this.bytes > o.maxMessageBytes) throw new Error(`message over ${o.maxMessageBytes} bytes (text and attachments together)`);
      this.awaiting--;
      if (!this.skipping) return super.add(obj);
      if (this.awaiting === 0) {
        const deliver = this.refusal;
        this.refusal = null;
        this.skipping = false;
        deliver?.();
      }
    }

    private addText(str: string): void {
      if (this.awaiting > 0) throw new Error('got plaintext data when reconstructing a packet');
      this.bytes = str.length;
      const v = judgePacket(str, budgets);
      if (v.action === 'pass') {
        super.add(str); // throws on what socket.io-parser refuses (more than MAX_ATTACHMENTS included)
        this.awaiting = v.attachments;
        return;
      }
      if (v.action === 'close') throw new Error(v.reason);
      const attachments = v.action === 'drop' ? v.attachments : v.head.attachments;
      if (attachments > MAX_ATTACHMENTS) throw new Error('too many attachments');
      let deliver: (() => void) | null = null;
      if (v.action === 'refuse' && v.head.id !== undefined) {
        const { head, event, reason } = v;
        deliver = () => this.emitReserved('decoded', { type: PACKET.EVENT, nsp: head.nsp, id: head.id, data: [event, new OverBudget(reason)] });
      }
      if (attachments === 0) return deliver?.();
      this.awaiting = attachments;
      this.skipping = true;
      this.refusal = deliver;
    }

    override destroy(): void {
      this.awaiting = 0;
      this.skipping = false;
      this.refusal = null;
      super.destroy();
    }
  }

  return { Encoder, Decoder: BoundedDecoder };
}
