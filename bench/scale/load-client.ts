/**
 * bench:scale's load generator, run as a child process (forked with IPC by bench/scale.ts) so the
 * clients' CPU and memory are not the servers'. It holds many lightweight contributors: a bare
 * socket.io-client socket each (WebSocket only, no reconnection), which says hello and then idles
 * like a volunteer between rounds; on command some of them submit a pre-encoded delta in a loop.
 *
 * IPC: {cmd:'connect', urls, count, prefix} → {connected, failed, ms}
 *      {cmd:'submit', submitters, seconds, delta} → {accepted, busy, other, latencies}
 *      {cmd:'close'} → exits after disconnecting every socket.
 */
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages';

type Msg =
  | { cmd: 'connect'; urls: string[]; count: number; prefix: string }
  | { cmd: 'submit'; submitters: number; seconds: number; delta: Uint8Array }
  | { cmd: 'close' };

const sockets: Socket[] = [];
/** Sockets opened at once: more only queues handshakes behind each other on a busy server. */
const CONNECT_CONCURRENCY = 100;

function connectOne(url: string, clientId: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000 });
    const fail = () => {
      s.close();
      resolve(null);
    };
    s.once('connect_error', fail);
    s.once('connect', () => {
      s.timeout(60_000).emit('session:hello', { protocol: PROTOCOL_VERSION, clientId, clientKind: 'node', backend: 'cpu' }, (err: unknown, ack: { ok: boolean }) => {
        if (err || !ack?.ok) return fail();
        resolve(s);
      });
    });
  });
}

async function connect(urls: string[], count: number, prefix: string) {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, async () => {
    while (next < count) {
      const i = next++;
      const s = await connectOne(urls[i % urls.length], `${prefix}-${i}`);
      if (s) sockets.push(s);
      else failed++;
    }
  }));
  return { connected: sockets.length, failed, ms: performance.now() - t0 };
}

async function submit(submitters: number, seconds: number, delta: Uint8Array) {
  const latencies: number[] = [];
  let accepted = 0;
  let busy = 0;
  let other = 0;
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const bytes = Buffer.from(delta);
  await Promise.all(sockets.slice(0, submitters).map(async (s, j) => {
    while (performance.now() < end && s.connected) {
      const t = performance.now();
      const ack = await new Promise<{ ok: boolean; code?: string } | null>((resolve) => {
        s.timeout(30_000).emit('delta:submit', { updateId: `${process.pid}-${j}-${n++}`, baseVersion: 0, examples: 1, metrics: {}, delta: bytes }, (err: unknown, a: { ok: boolean; code?: string }) => resolve(err ? null : a));
      });
      latencies.push(performance.now() - t);
      if (ack?.ok) accepted++;
      else if (ack?.code === 'busy') {
        busy++;
        await new Promise((r) => setTimeout(r, 20));
      } else other++;
    }
  }));
  return { accepted, busy, other, latencies };
}

process.on('message', (m: Msg) => {
  const reply = (r: unknown) => process.send!(r);
  if (m.cmd === 'connect') void connect(m.urls, m.count, m.prefix).then(reply);
  else if (m.cmd === 'submit') void submit(m.submitters, m.seconds, new Uint8Array(m.delta)).then(reply);
  else {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
