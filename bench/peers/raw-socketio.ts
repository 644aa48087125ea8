/**
 * The raw Socket.IO peer of bench:aggregate: a bare Socket.IO server with the federation server's
 * transport settings (WebSocket only, no per-message deflate, the same message size limit) that
 * acknowledges every `delta:submit` at once and does nothing else. Whatever it reaches per second
 * with the same clients and payloads is the ceiling of sockets, framing and the event loop on
 * this machine; the real server's ingest is reported as a fraction of it.
 *
 *   tsx bench/peers/raw-socketio.ts   → prints "listening on http://127.0.0.1:<port>"
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, httpCompression: false, maxHttpBufferSize: 256 * 1024 * 1024 });
let bytes = 0;
io.on('connection', (socket) => {
  socket.on('session:hello', (_p: unknown, ack: (a: unknown) => void) => ack({ ok: true }));
  socket.on('delta:submit', (p: { delta?: Uint8Array }, ack: (a: unknown) => void) => {
    bytes += p?.delta?.length ?? 0; // touch the payload as the server does before validating it
    ack({ ok: true, bytes });
  });
});
http.listen(0, '127.0.0.1', () => {
  const a = http.address();
  if (a && typeof a === 'object') console.log(`listening on http://127.0.0.1:${a.port}`);
});
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
