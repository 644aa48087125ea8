/**
 * At most `max` Engine.IO connections per remote address (open servers, issue 13): each costs a
 * socket, buffers and a pending hello deadline, and an open server has no token to count by.
 * Counted when the connection opens and released when it closes; a connection over the cap is
 * refused at the handshake (allowRequest) and, should two handshakes race past that check,
 * closed as soon as it opens.
 */
import type { IncomingMessage } from 'node:http';

interface EngineLike {
  on(event: 'connection', fn: (conn: { remoteAddress: string; close(): void; once(event: 'close', fn: () => void): void }) => void): void;
}

export interface AddressCap {
  /** Whether a new connection from this request's address is allowed now. */
  admits(req: IncomingMessage): boolean;
  /** Starts counting the engine's connections. */
  track(engine: EngineLike): void;
  /** Open connections of one address (tests, metrics). */
  count(address: string): number;
}

export function addressCap(max: number): AddressCap {
  const open = new Map<string, number>();
  return {
    admits: (req) => (open.get(req.socket.remoteAddress ?? '') ?? 0) < max,
    track(engine) {
      engine.on('connection', (conn) => {
        const addr = conn.remoteAddress ?? '';
        const n = (open.get(addr) ?? 0) + 1;
        open.set(addr, n);
        conn.once('close', () => {
          const left = (open.get(addr) ?? 1) - 1;
          if (left > 0) open.set(addr, left);
          else open.delete(addr);
        });
        if (n > max) conn.close();
      });
    },
    count: (address) => open.get(address) ?? 0,
  };
}
