/**
 * FederationClient's byte paths and quick connect failure: pulled weights handed on as the
 * server encoded them, an already-encoded delta sent as it is (and accepted), and a connect that
 * gives up after its attempts instead of the whole request timeout.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FederationClient, FederationError } from '../../../shared/protocol/client';
import { decodeWeights, encodeWeights } from '../../../shared/weights/codec';
import { connectClient, onlineOnly, randomDelta, startTiny } from '../../server/helpers';

describe('FederationClient bytes', () => {
  it('pullEncoded is the server encoding; an encoded delta is submitted unchanged', async () => {
    const srv = await startTiny();
    const c = await connectClient(srv.url);
    try {
      const { version, bytes } = await c.pullEncoded('latest');
      const pulled = decodeWeights(bytes);
      expect(pulled.meta).toMatchObject({ version, method: 'byol' });
      const delta = encodeWeights(randomDelta(onlineOnly(pulled.weights), 3), { meta: { baseVersion: version } });
      const ack = await c.submitDelta({ baseVersion: version, examples: 8, delta, updateId: 'bytes-1' });
      expect(ack).toMatchObject({ ok: true, status: 'accepted' });
    } finally {
      c.close();
      await srv.cleanup();
    }
  });

  it('connectAttempts: gives up after that many failed attempts, long before the request timeout', async () => {
    // A port with nothing behind it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = new FederationClient({ url: `http://127.0.0.1:${port}`, clientKind: 'node', backend: 'cpu', requestTimeoutMs: 60_000, connectAttempts: 2 });
    const t0 = Date.now();
    const e = await c.connect().catch((x) => x);
    expect(e).toBeInstanceOf(FederationError);
    expect(e.code).toBe('connect_failed');
    expect(Date.now() - t0).toBeLessThan(10_000);
    c.close();
  });
});
