/**
 * What a visitor downloads beside model.json: encoder.onnx (made on first request by the Python
 * package; it embeds like the served tfjs model), MODEL_CARD.md (whose hashes are those of the
 * served bytes), and the public page that shows the evaluation beside its baselines, the learning
 * curve, PyTorch and ONNX snippets and the card. Without Python + torch the ONNX route says why.
 */
import { createHash } from 'node:crypto';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../../server/model/python';
import { useCpu } from '../../helpers/tf';
import { connectClient, onlineOnly, randomDelta, rng, startTiny } from '../helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;
const sha = (b: ArrayBuffer | Uint8Array) => createHash('sha256').update(new Uint8Array(b)).digest('hex');

describe('ONNX download, model card and public page', () => {
  let srv: Srv;
  beforeAll(async () => {
    await useCpu();
    srv = await startTiny({
      aggregation: { bufferSize: 1 },
      evaluator: { evaluate: async ({ version }) => ({ knn_top1: 0.4 + version / 100, knn_top1_raw_pixels: 0.78, knn_top1_random_init: 0.55, linear_10pct: 0.3, embedding_std: 0.1 }) },
    });
    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const next = c.waitForVersion(0, 10_000);
    await c.submitDelta({ baseVersion: 0, examples: 8, delta: randomDelta(on, 5, 0.05) });
    await next;
    c.close();
    await srv.evalIdle();
  });
  afterAll(() => srv.cleanup());

  it('MODEL_CARD.md lists the SHA-256 of exactly the served files, and the evaluation beside its baselines', async () => {
    const r = await fetch(`${srv.url}/api/encoder/1/MODEL_CARD.md`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    const card = await r.text();
    const listed = [...card.matchAll(/^\| `([^`]+)` \| [\d,]+ \| `([0-9a-f]{64})` \|/gm)].map((m) => [m[1], m[2]]);
    const torch = await findTorchPython();
    expect(listed.map(([name]) => name)).toEqual(['model.json', 'weights.v1.bin', 'encoder.safetensors', ...(torch ? ['encoder.onnx'] : [])]);
    for (const [name, hash] of listed) expect(sha(await (await fetch(`${srv.url}/api/encoder/1/${name}`)).arrayBuffer()), name).toBe(hash);
    expect(card).toContain('| kNN top-1 (k = 20, cosine) | 41.0% | 55.0% | 78.0% |');
    expect(card).toContain('| Linear probe, 10% of labels | 30.0% | not evaluated | not evaluated |');
    expect(card).toContain('**Contributors:** 1; **updates folded:** 1 into 1 server versions; **examples behind them:** 8.');
    expect(card).toContain('the online encoder');
    expect(card).toContain('No differential privacy');
  });

  it('the public page shows baselines, the learning curve, PyTorch and ONNX snippets, the card and every file hash', async () => {
    const torch = await findTorchPython();
    if (torch) await (await fetch(`${srv.url}/api/encoder/1/encoder.onnx`)).arrayBuffer(); // made: listed with its hash
    const html = await (await fetch(`${srv.url}/`)).text();
    expect(html).toContain('<strong>41.0%</strong> kNN top-1 accuracy');
    expect(html).toMatch(/<tr><td>kNN top-1 \(k = 20, cosine\)<\/td><td class="num"><strong>41\.0%<\/strong><\/td><td class="num">55\.0%<\/td><td class="num">78\.0%<\/td><\/tr>/);
    expect(html).toMatch(/<svg class="chart"[^>]*>.*<polyline class="curve c0"/s);
    expect(html).toContain('kNN top-1 (k = 20, cosine), version 0: 40.0%');
    expect(html).toContain('kNN top-1 (k = 20, cosine), version 1: 41.0%');
    expect(html).toContain(`GlimpseEncoder.from_url(&quot;${srv.url}/api/encoder/1/encoder.safetensors&quot;)`);
    expect(html).toContain('session.run([&quot;embedding&quot;], {&quot;images&quot;: x.numpy()})');
    expect(html).toContain('<h2 id="model-card">Model card</h2>');
    expect(html).toContain('<h3>Glimpse image encoder — version 1</h3>');
    expect(html).not.toMatch(/<script/i);
    const hashes = [...html.matchAll(/<a href="([^"]+)" download>[^<]+<\/a>.*?<code class="hash">([0-9a-f]{64})<\/code>/g)].map((m) => [m[1], m[2]]);
    expect(hashes.map(([u]) => u)).toEqual(['/api/encoder/1/model.json', '/api/encoder/1/weights.v1.bin', '/api/encoder/1/encoder.safetensors', ...(torch ? ['/api/encoder/1/encoder.onnx'] : [])]);
    for (const [u, h] of hashes) expect(sha(await (await fetch(srv.url + u)).arrayBuffer())).toBe(h);
    expect(html).toContain('<a href="/api/encoder/1/MODEL_CARD.md" download>MODEL_CARD.md</a>');
  });

  it('without Python + torch the ONNX route says why, and the card has no ONNX line', async () => {
    const saved = process.env.GLIMPSE_PYTHON;
    process.env.GLIMPSE_PYTHON = '/nonexistent/python3';
    try {
      const r = await fetch(`${srv.url}/api/encoder/0/encoder.onnx`);
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: string }).error).toMatch(/^ONNX export needs Python with PyTorch on this machine .*glimpse export/);
      const card = await (await fetch(`${srv.url}/api/encoder/0/MODEL_CARD.md`)).text();
      expect(card).toContain('| `encoder.safetensors` |');
      expect(card).not.toContain('encoder.onnx` |');
    } finally {
      if (saved === undefined) delete process.env.GLIMPSE_PYTHON;
      else process.env.GLIMPSE_PYTHON = saved;
    }
  });
  // Last: its synchronous tfjs and ONNX Runtime work must not leave an idle keep-alive socket
  // that a later test's fetch reuses just as the server closes it.
  it('serves encoder.onnx, which embeds like the served tfjs model', async (ctx) => {
    if (!(await findTorchPython())) return ctx.skip('no Python with torch on this machine');
    const r = await fetch(`${srv.url}/api/encoder/1/encoder.onnx`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-glimpse-version')).toBe('1');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="glimpse-encoder-v1.onnx"');
    const onnx = new Uint8Array(await r.arrayBuffer());
    expect((await fetch(`${srv.url}/api/encoder/1/encoder.onnx`, { headers: { 'If-None-Match': r.headers.get('etag')! } })).status).toBe(304);

    const model = await tfl.loadLayersModel(`${srv.url}/api/encoder/1/model.json`);
    const n = 6;
    const r01 = rng(11);
    const nhwc = Float32Array.from({ length: n * 32 * 32 * 3 }, r01);
    const tf = await useCpu();
    const x = tf.tensor4d(nhwc, [n, 32, 32, 3]);
    const expected = (model.predict(x) as import('@tensorflow/tfjs-core').Tensor).dataSync() as Float32Array;
    const nchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
    x.dispose();
    model.dispose();
    const session = await ort.InferenceSession.create(onnx);
    const got = (await session.run({ images: new ort.Tensor('float32', nchw, [n, 3, 32, 32]) })).embedding;
    await session.release();
    // 2×2 grid pooling (the registry's default since issue 11): 2 · 2 · 8 = 32.
    expect(got.dims).toEqual([n, 32]);
    const diff = Math.max(...Array.from(got.data as Float32Array, (v, i) => Math.abs(v - expected[i])));
    expect(diff).toBeLessThan(1e-4);
  });
});
