/**
 * Fetching an image against a real HTTP server: an oversized body is cancelled at the cap (the
 * server stops sending long before the whole file), whether or not it announced its length, and
 * a normal image arrives whole.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchImage } from '../../extension/offscreen/fetch-image';

const HUGE = 20 * 1024 * 1024;
const CAP = 1024 * 1024;
const CHUNK = 64 * 1024;

describe('fetchImage', () => {
  let server: Server;
  let base = '';
  const sent = new Map<string, Promise<number>>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/small.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(5000, 7));
      if (req.url === '/page.html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>');
      // A 20 MB "PNG" streamed chunk by chunk, without announcing its length (chunked encoding);
      // counts what it managed to write before the client went away.
      let written = 0;
      sent.set(req.url!, new Promise((resolve) => res.on('close', () => resolve(written))));
      res.writeHead(200, { 'content-type': 'image/png' });
      const push = () => {
        while (written < HUGE && !res.destroyed) {
          written += CHUNK;
          if (!res.write(Buffer.alloc(CHUNK, 1))) return void res.once('drain', push);
        }
        if (!res.destroyed) res.end();
      };
      push();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('cancels an oversized body at the cap instead of downloading it whole', async () => {
    await expect(fetchImage(`${base}/huge.png`, undefined, CAP)).rejects.toThrow(/too large/);
    const written = await sent.get('/huge.png')!;
    // Socket buffers let a few MB through before the close is noticed; never the whole 20 MB.
    expect(written).toBeLessThan(HUGE / 2);
  });

  it('returns a normal image whole, and refuses what is not an image', async () => {
    const blob = await fetchImage(`${base}/small.png`, undefined, CAP);
    expect(blob.size).toBe(5000);
    expect(blob.type).toBe('image/png');
    await expect(fetchImage(`${base}/page.html`)).rejects.toThrow(/not an image/);
  });
});
