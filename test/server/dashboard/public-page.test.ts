/**
 * The public encoder page at `/`: current version, evaluation, version-pinned download links with
 * the SHA-256 of exactly the bytes the download routes serve, a tfjs snippet with the visitor's
 * origin, and nothing from the admin side.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, onlineOnly, randomDelta, startTiny } from '../helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;
const sha = (b: ArrayBuffer) => createHash('sha256').update(new Uint8Array(b)).digest('hex');

function get(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

describe('public encoder page', () => {
  let srv: Srv;
  let clientId: string;
  beforeAll(async () => {
    srv = await startTiny({ adminToken: 'admin-token-for-public-page', aggregation: { bufferSize: 1 }, evaluator: { evaluate: async () => ({ knn: 0.4321, embeddingStd: 0.1 }) } });
    const c = await connectClient(srv.url);
    clientId = c.clientId;
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const v1 = c.waitForVersion(0, 10_000);
    await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
    await c.submitDelta({ baseVersion: 5, examples: 4, delta: randomDelta(on, 2) }); // rejected
    await v1;
    await srv.evalIdle();
    c.close();
  });
  afterAll(() => srv.cleanup());

  it('shows version, evaluation and hashes of exactly the served files', async () => {
    const r = await fetch(`${srv.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await r.text();
    expect(html).toContain('<div class="v" id="version">v1</div>');
    expect(html).toContain('<strong>43.2%</strong> kNN top-1 accuracy');
    expect(html).toContain('(online encoder)');
    // BYOL's encoder pools to a 2×2 grid (registry default since issue 11): 2 · 2 · 8 = 32 numbers out.
    expect(html).toContain('32×32×3 → 32');
    const hashes = [...html.matchAll(/<a href="([^"]+)" download>[^<]+<\/a>.*?<code class="hash">([0-9a-f]{64})<\/code>/g)].map((m) => [m[1], m[2]]);
    expect(hashes.map(([u]) => u)).toEqual(['/api/encoder/1/model.json', '/api/encoder/1/weights.v1.bin', '/api/encoder/1/encoder.safetensors']);
    for (const [u, h] of hashes) expect(sha(await (await fetch(srv.url + u)).arrayBuffer())).toBe(h);
    expect(html).toContain(`tf.loadLayersModel(&#39;${srv.url}/api/encoder/1/model.json&#39;)`);
  });

  it('leaks nothing from the admin side and escapes the Host header', async () => {
    const html = await (await fetch(`${srv.url}/`)).text();
    expect(html).not.toContain(clientId);
    expect(html).not.toContain('admin-token-for-public-page');
    expect(html).not.toMatch(/unknown_version|rejected/);
    const evil = await get(`${srv.url}/`, 'evil"><script>alert(1)</script>');
    expect(evil).not.toContain('<script>');
    expect(evil).toContain("tf.loadLayersModel(&#39;http://localhost/api/encoder/1/model.json&#39;)");
  });
});
