/**
 * What a connection may do before `session:hello` (issue 13): say hello within a deadline, else
 * be closed (500 idle sockets used to stay open forever), and send events at a bounded rate —
 * the ones over it are answered 'rate_limited' without reaching a handler (nothing parsed by
 * zod, nothing logged), so one socket cannot make the server validate junk at wire speed.
 * After hello, the per-contributor limits (core/rate-limit.ts, the intake stages) take over.
 */
import type { Socket } from 'socket.io';

export interface PreHelloLimits {
  /** A connection that has not said hello after this many ms is closed. */
  helloTimeoutMs: number;
  /** Events a connection may send back to back before hello… */
  burst: number;
  /** …and per second after that, until hello. */
  eventsPerSecond: number;
}

export const DEFAULT_PRE_HELLO: PreHelloLimits = { helloTimeoutMs: 10_000, burst: 16, eventsPerSecond: 4 };

export interface PreHelloGate {
  /** The connection said hello: no deadline, no pre-hello rate any more. */
  greeted(): void;
  close(): void;
}

export function preHelloGate(socket: Socket, limits: Partial<PreHelloLimits> | undefined, log: (line: string) => void): PreHelloGate {
  const l = { ...DEFAULT_PRE_HELLO, ...limits };
  let greeted = false;
  const timer = setTimeout(() => {
    if (greeted || !socket.connected) return;
    log(`${socket.id}: no session:hello within ${l.helloTimeoutMs} ms; disconnected`);
    socket.disconnect(true);
  }, l.helloTimeoutMs);
  timer.unref();
  let tokens = l.burst;
  let at = Date.now();
  socket.use((packet, next) => {
    if (greeted) return next();
    const t = Date.now();
    tokens = Math.min(l.burst, tokens + ((t - at) * l.eventsPerSecond) / 1000);
    at = t;
    if (tokens >= 1) {
      tokens -= 1;
      return next();
    }
    const ack = packet[packet.length - 1];
    const retryAfterMs = Math.ceil(((1 - tokens) * 1000) / l.eventsPerSecond);
    if (typeof ack === 'function') ack({ ok: false, code: 'rate_limited', reason: `more than ${l.burst} events before session:hello; say hello first`, retryAfterMs });
  });
  return {
    greeted() {
      greeted = true;
      clearTimeout(timer);
    },
    close: () => clearTimeout(timer),
  };
}
