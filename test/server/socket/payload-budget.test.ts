/** The packet judge of the bounded parser: header reading as socket.io-parser does it, budgets, verdicts. */
import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it, vi } from 'vitest';
import { boundedParser } from '../../../server/socket/bounded-parser';
import { EVENT_BUDGETS, OverBudget, judgePacket, overBudget, readHead } from '../../../server/socket/payload-budget';

/** As socket.io-client encodes it: an EVENT with binary data goes out as a BINARY_EVENT and its attachments. */
const encode = (packet: Record<string, unknown>) =>
  new Encoder().encode({ nsp: '/', ...packet, type: packet.type === PacketType.BINARY_EVENT ? PacketType.EVENT : packet.type } as never) as Array<string | Uint8Array>;

describe('readHead', () => {
  it('reads type, attachments, namespace and ack id as socket.io-parser does', () => {
    for (const p of [
      { type: PacketType.EVENT, data: ['session:hello', { a: 1 }], id: 7 },
      { type: PacketType.EVENT, nsp: '/admin', data: ['admin:action', {}], id: 12 },
      { type: PacketType.BINARY_EVENT, data: ['delta:submit', { delta: new Uint8Array(4) }], id: 3 },
      { type: PacketType.EVENT, data: ['x'] },
      { type: PacketType.CONNECT, data: { token: 't' } },
    ]) {
      const [text] = encode(p);
      const decoded: Array<{ nsp: string; id?: number; type: number }> = [];
      const d = new Decoder();
      d.on('decoded', (x) => decoded.push(x));
      for (const part of encode(p)) d.add(part);
      const head = readHead(text as string)!;
      expect({ nsp: head.nsp, id: head.id, type: head.type === 5 ? 2 : head.type }).toEqual({ nsp: decoded[0].nsp, id: decoded[0].id, type: decoded[0].type });
      expect(head.attachments).toBe(p.type === PacketType.BINARY_EVENT ? 1 : 0);
    }
  });
});

describe('overBudget', () => {
  const b = { maxChars: 1e6, maxKeys: 3, maxValues: 4, maxDepth: 2, maxString: 5, maxAttachments: 0 };
  it('counts keys, values, depth and string length outside strings only', () => {
    expect(overBudget('["e",{"a":1,"b":"x:,{["}]', 0, b)).toBeNull();
    expect(overBudget('["e",{"a":1,"b":2,"c":3,"d":4}]', 0, b)).toBe('more than 3 keys');
    expect(overBudget('["e",[1,2,3,4,5]]', 0, b)).toBe('more than 4 values');
    expect(overBudget('["e",{"a":[1]}]', 0, b)).toBe('nesting deeper than 2');
    expect(overBudget('["e","abcdef"]', 0, b)).toBe('a string longer than 5 characters');
    expect(overBudget('["e","a\\"b\\"c"]', 0, b)).toBe('a string longer than 5 characters');
    expect(overBudget('["e","ab\\"c"]', 0, b)).toBeNull();
  });
});

describe('judgePacket', () => {
  it('drops unknown events and events of another namespace, with their attachments', () => {
    expect(judgePacket('2["no:such:event",{}]')).toEqual({ action: 'drop', attachments: 0 });
    expect(judgePacket('52-["no:such",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')).toEqual({ action: 'drop', attachments: 2 });
    expect(judgePacket('2/admin,1["session:hello",{}]')).toMatchObject({ action: 'drop' });
    expect(judgePacket('2[7,{}]')).toMatchObject({ action: 'drop' });
  });
  it('refuses an over-budget known event by its length before scanning, naming the budget', () => {
    const v = judgePacket(`24["session:hello",{"x":"${'y'.repeat(20_000)}"}]`);
    expect(v).toMatchObject({ action: 'refuse', event: 'session:hello', head: { id: 4 } });
    expect(v.action === 'refuse' && v.reason).toMatch(/^session:hello payload over its budget: \d+ characters \(at most 16384\)$/);
  });
  it('closes on an oversized CONNECT; passes well-formed packets', () => {
    expect(judgePacket(`0{"token":"${'t'.repeat(3000)}"}`)).toMatchObject({ action: 'close' });
    expect(judgePacket('0{"token":"abc"}')).toEqual({ action: 'pass', attachments: 0 });
    expect(judgePacket('51-1["delta:submit",{"delta":{"_placeholder":true,"num":0}}]')).toEqual({ action: 'pass', attachments: 1 });
  });
});

describe('the bounded decoder', () => {
  const { Decoder: Bounded } = boundedParser({ maxMessageBytes: 1000, budgets: EVENT_BUDGETS });

  it('never calls JSON.parse for an unknown event, and skips its attachments', () => {
    const d = new Bounded();
    const out: unknown[] = [];
    d.on('decoded', (p) => out.push(p));
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const huge = `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(',')}}`;
      d.add(`2["no:such:event",${huge}]`);
      for (const part of encode({ type: PacketType.BINARY_EVENT, data: ['no:such', new Uint8Array(10), new Uint8Array(10)] })) d.add(part);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    expect(out).toEqual([]);
    // The stream is in step: the next known packet decodes.
    d.add('21["weights:pull",{"version":"latest"}]');
    expect(out).toEqual([{ type: PacketType.EVENT, nsp: '/', id: 1, data: ['weights:pull', { version: 'latest' }] }]);
  });

  it('delivers a refused event as OverBudget after skipping its attachments; throws when the message outgrows maxMessageBytes', () => {
    const d = new Bounded();
    const out: Array<{ data?: unknown[] }> = [];
    d.on('decoded', (p) => out.push(p));
    const parts = encode({ type: PacketType.BINARY_EVENT, id: 9, data: ['session:hello', { a: new Uint8Array(8) }] });
    d.add(parts[0]);
    expect(out).toEqual([]);
    d.add(parts[1]);
    expect(out[0].data?.[0]).toBe('session:hello');
    expect(out[0].data?.[1]).toBeInstanceOf(OverBudget);
    const big = encode({ type: PacketType.BINARY_EVENT, id: 10, data: ['delta:submit', { delta: new Uint8Array(600) }] });
    d.add(big[0]);
    d.add(big[1]);
    expect(out).toHaveLength(2);
    const two = encode({ type: PacketType.BINARY_EVENT, id: 11, data: ['no:such', new Uint8Array(600), new Uint8Array(600)] });
    d.add(two[0]);
    d.add(two[1]);
    expect(() => d.add(two[2])).toThrow(/message over 1000 bytes/);
  });
});
