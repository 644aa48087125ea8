/**
 * The encoder download: stock `tf.loadLayersModel` over HTTP loads the product encoder and embeds
 * exactly like the server's copy; safetensors carries the same weights; ETag/304, CORS, status
 * and admin auth behave.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEncoder } from '../../shared/models/encoder';
import { writeWeights } from '../../shared/models/weights-io';
import { resolveMethodConfig } from '../../shared/ssl/registry';
import { decodeSafetensors } from '../../server/model/safetensors';
import { connectClient, onlineOnly, randomDelta, sameBits, startTiny } from './helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;

describe('encoder download', () => {
  let srv: Srv;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    srv = await startTiny({ aggregation: { bufferSize: 1, ema: { base: 0.5, kind: 'constant' } }, adminToken: 'admin-token-for-tests-0001' });
    // One server step, so the target (EMA) encoder differs from both the initial and the online one.
    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const next = c.waitForVersion(0, 10_000);
    await c.submitDelta({ baseVersion: 0, examples: 8, delta: randomDelta(on, 3, 0.05) });
    await next;
    c.close();
  });
  afterAll(() => srv.cleanup());

  it('loads with tf.loadLayersModel over HTTP and embeds identically to the server copy', async () => {
    const model = await tfl.loadLayersModel(`${srv.url}/api/encoder/latest/model.json`);
    const enc = (await srv.coordinator.encoderWeights('latest'))!;
    expect(enc.source).toBe('online');
    expect(enc.version).toBe(1);
    const loaded = new Map(model.weights.map((w) => [w.originalName, { shape: [...w.shape] as number[], data: w.read().dataSync() as Float32Array }]));
    expect(sameBits(loaded, enc.weights)).toBe(true);

    const reference = buildEncoder(resolveMethodConfig('byol', srv.coordinator.run.methodConfig).encoder);
    writeWeights([{ prefix: '', models: [reference] }], enc.weights);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const a = model.predict(x) as tf.Tensor;
    const b = reference.predict(x) as tf.Tensor;
    // 2×2 grid pooling (the registry's default for BYOL since issue 11): 2 · 2 · 8 = 32.
    expect(a.shape).toEqual([4, 32]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([x, a, b]);
    model.dispose();
    reference.dispose();
  });

  it('versions the weights path and honours If-None-Match', async () => {
    const r = await fetch(`${srv.url}/api/encoder/latest/model.json`);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('x-glimpse-version')).toBe('1');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const json = (await r.json()) as { weightsManifest: Array<{ paths: string[] }> };
    expect(json.weightsManifest[0].paths).toEqual(['weights.v1.bin']);
    const etag = r.headers.get('etag')!;
    const r304 = await fetch(`${srv.url}/api/encoder/latest/model.json`, { headers: { 'If-None-Match': etag } });
    expect(r304.status).toBe(304);
    const v0 = await fetch(`${srv.url}/api/encoder/0/model.json`);
    expect(v0.status).toBe(200);
    expect(v0.headers.get('etag')).not.toBe(etag);
    expect(v0.headers.get('cache-control')).toMatch(/immutable/);
    const bin = await fetch(`${srv.url}/api/encoder/latest/weights.v0.bin`);
    expect(bin.status).toBe(200);
    expect((await fetch(`${srv.url}/api/encoder/latest/weights.v9.bin`)).status).toBe(404);
    expect((await fetch(`${srv.url}/api/encoder/99/model.json`)).status).toBe(404);
    expect((await fetch(`${srv.url}/api/encoder/abc/model.json`)).status).toBe(404);
    const pre = await fetch(`${srv.url}/api/encoder/latest/model.json`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/GET/);
  });

  it('exports the same weights as a single safetensors file', async () => {
    const r = await fetch(`${srv.url}/api/encoder/1/encoder.safetensors`);
    expect(r.status).toBe(200);
    const { weights, metadata } = decodeSafetensors(new Uint8Array(await r.arrayBuffer()));
    expect(metadata.version).toBe('1');
    expect(metadata.source).toBe('online');
    expect(sameBits(weights, (await srv.coordinator.encoderWeights(1))!.weights)).toBe(true);
    const again = await fetch(`${srv.url}/api/encoder/1/encoder.safetensors`, { headers: { 'If-None-Match': r.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('serves health and status; admin routes need the bearer token', async () => {
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ ok: true });
    const s = (await (await fetch(`${srv.url}/api/status`)).json()) as Record<string, unknown>;
    expect(s).toMatchObject({ version: 1, method: 'byol', buffer: { fill: 0, size: 1 }, eval: null, lastAggregation: { version: 1, updates: 1 } });
    expect((await fetch(`${srv.url}/api/admin/history`)).status).toBe(401);
    expect((await fetch(`${srv.url}/api/admin/history`, { headers: { Authorization: 'Bearer wrong-token-xxxxxxxxxx' } })).status).toBe(401);
    const h = await fetch(`${srv.url}/api/admin/history`, { headers: { Authorization: 'Bearer admin-token-for-tests-0001' } });
    expect(h.status).toBe(200);
    const body = (await h.json()) as { versions: Array<{ version: number; numUpdates: number }> };
    expect(body.versions).toEqual([expect.objectContaining({ version: 1, numUpdates: 1 })]);
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    // A runtime plan change is validated and pushed to connected contributors.
    const c = await connectClient(srv.url);
    const pushed = new Promise<{ localSteps: number }>((r) => c.on('plan', r));
    const auth = { Authorization: 'Bearer admin-token-for-tests-0001', 'Content-Type': 'application/json' };
    expect((await fetch(`${srv.url}/api/admin/plan`, { method: 'POST', headers: auth, body: '{"localSteps": -1}' })).status).toBe(400);
    expect((await fetch(`${srv.url}/api/admin/plan`, { method: 'POST', headers: auth, body: '{"localSteps": 7}' })).status).toBe(200);
    expect((await pushed).localSteps).toBe(7);
    expect(c.plan.localSteps).toBe(7);
    c.close();
    expect((await fetch(`${srv.url}/api/status`, { method: 'POST' })).status).toBe(405);
  });
});
