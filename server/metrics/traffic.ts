/**
 * Bytes in/out of the whole server (HTTP, WebSocket frames, headers — everything on its TCP
 * sockets), counted exactly from `socket.bytesRead` / `bytesWritten`: closed sockets are summed
 * when they close, open ones are read at query time. Costs nothing per message.
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

export interface TrafficTotals {
  /** Bytes received since the server started. */
  bytesIn: number;
  /** Bytes sent since the server started. */
  bytesOut: number;
  /** Open TCP connections. */
  connections: number;
}

export interface TrafficCounter {
  totals(): TrafficTotals;
}

export function trackTraffic(http: HttpServer): TrafficCounter {
  const open = new Set<Socket>();
  let closedIn = 0;
  let closedOut = 0;
  http.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      closedIn += socket.bytesRead;
      closedOut += socket.bytesWritten;
    });
  });
  return {
    totals() {
      let bytesIn = closedIn;
      let bytesOut = closedOut;
      for (const s of open) {
        bytesIn += s.bytesRead;
        bytesOut += s.bytesWritten;
      }
      return { bytesIn, bytesOut, connections: open.size };
    },
  };
}
