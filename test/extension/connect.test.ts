/**
 * The extension's federation seam against a real server: pull and submit over a real socket, and
 * a 'rate_limited' answer waited out and the same delta offered again (not lost).
 */
import { describe, expect, it } from 'vitest';
import { connectFederation } from '../../extension/offscreen/connect';
import { decodeWeights, encodeWeights } from '../../shared/weights/codec';
import { onlineOnly, randomDelta, startTiny } from '../server/helpers';

describe('connectFederation', () => {
  it('pulls, submits, and waits out a rate limit instead of dropping the round', async () => {
    const srv = await startTiny({ contributorTokens: ['ext-token-0001'], rateLimit: { perMinute: 60, burst: 1 }, aggregation: { bufferSize: 10 } });
    try {
      const conn = await connectFederation({ serverUrl: srv.url, token: 'ext-token-0001', backend: 'wasm', clientId: 'ext-test' });
      expect(conn.plan.method).toBe('byol');
      const { version, weights } = await conn.pull();
      const pulled = decodeWeights(new Uint8Array(weights));
      // The server's own encoding, handed on unchanged (a re-encoding here would drop its meta).
      expect(pulled.meta).toMatchObject({ version, runId: conn.plan.runId, method: 'byol' });
      const online = onlineOnly(pulled.weights);
      const delta = (seed: number) => encodeWeights(randomDelta(online, seed)).slice().buffer as ArrayBuffer;
      const metrics = { loss: 1, steps: 2, msPerStep: 5, backend: 'wasm' };
      expect(await conn.submit({ updateId: 'ext-1', baseVersion: version, examples: 8, metrics, delta: delta(1) })).toEqual({ accepted: true, version: 0 });
      const t0 = Date.now();
      expect(await conn.submit({ updateId: 'ext-2', baseVersion: version, examples: 8, metrics, delta: delta(2) })).toEqual({ accepted: true, version: 0 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500); // waited for the bucket (1 a second)
      expect(srv.coordinator.bufferedIds().sort()).toEqual(['ext-1', 'ext-2']);
      expect(srv.coordinator.db.prepare("SELECT update_id FROM rejections WHERE code = 'rate_limited'").pluck().all()).toEqual(['ext-2']);
      conn.close();
    } finally {
      await srv.cleanup();
    }
  });
});
