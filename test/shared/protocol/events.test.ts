/**
 * Type-level checks of the shared event maps (run by `tsc --noEmit`, like socket.io's
 * socket.io.test-d.ts): wrong events and payloads do not compile. The runtime part checks the
 * schemas agree with the types on a valid payload.
 */
import type { Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { Hello, Plan, SubmitRequest, type ClientToServerEvents, type ServerToClientEvents } from '../../../shared/protocol/messages';

export function typeChecks(socket: Socket<ServerToClientEvents, ClientToServerEvents>): void {
  socket.emit('weights:pull', { version: 'latest' }, () => {});
  // @ts-expect-error unknown event
  socket.emit('weights:push', { version: 1 }, () => {});
  // @ts-expect-error version must be a number or 'latest'
  socket.emit('weights:pull', { version: 'newest' }, () => {});
  socket.on('model:version', (e) => void e.version.toFixed());
  // @ts-expect-error the server never emits this
  socket.on('delta:submit', () => {});
}

describe('protocol schemas', () => {
  it('validate well-formed payloads', () => {
    expect(Hello.safeParse({ protocol: 1, clientKind: 'browser', backend: 'webgl', capabilities: { cores: 8 } }).success).toBe(true);
    expect(SubmitRequest.safeParse({ updateId: 'abc-123', baseVersion: 0, examples: 3, metrics: { loss: 0.5 }, delta: new ArrayBuffer(8) }).success).toBe(true);
    expect(Plan.safeParse({}).success).toBe(false);
  });
});
