/**
 * Socket.IO server options of the federation endpoint, shared by the single-process server
 * (server.ts) and a cluster node (cluster/node-server.ts), which adds its Redis adapter.
 */
import type { ServerOptions } from 'socket.io';
import type { ResolvedConfig } from '../config';
import type { AddressCap } from './address-cap';
import { boundedParser } from './bounded-parser';

export function federationIoOptions(config: ResolvedConfig, maxHttpBufferSize: number, cap: AddressCap | null = null): Partial<ServerOptions> {
  return {
    // Every packet is judged by its size and shape before it is parsed (socket/payload-budget.ts),
    // and maxHttpBufferSize holds for a whole message, attachments included.
    parser: boundedParser({ maxMessageBytes: maxHttpBufferSize }),
    // An Engine.IO connection that joins no namespace is closed as soon as one that never says hello.
    connectTimeout: config.helloTimeoutMs,
    // Weights travel over WebSocket only: long-polling blew up heap use on big messages (socket.io #2872).
    // (It also means a multi-node deployment needs no sticky sessions: docs/deploy.md.)
    transports: ['websocket'],
    maxHttpBufferSize,
    // Compression crawls on random floats and leaked memory on big payloads (#3595, #3477).
    perMessageDeflate: false,
    httpCompression: false,
    // A large upload on a slow link must not look like a dead peer.
    pingTimeout: 60_000,
    pingInterval: 25_000,
    cors: { origin: config.allowedOrigins ? [...config.allowedOrigins] : '*' },
    // CORS does not gate WebSocket upgrades: check the Origin here when an allowlist is set.
    allowRequest: (req, cb) => {
      const origin = req.headers.origin;
      // Same-origin pages (the admin dashboard) are always allowed.
      const sameOrigin = !!origin && !!req.headers.host && origin.replace(/^https?:\/\//, '') === req.headers.host;
      const originOk = !config.allowedOrigins || !origin || sameOrigin || config.allowedOrigins.includes(origin);
      const capOk = cap?.admits(req) ?? true;
      cb(!originOk ? 'origin not allowed' : capOk ? null : 'too many connections from this address', originOk && capOk);
    },
  };
}
