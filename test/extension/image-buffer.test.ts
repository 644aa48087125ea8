import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ImageBuffer } from '../../extension/offscreen/image-buffer';

const img = (size: number, fill: number) => new Uint8Array(size * size * 3).fill(fill);

describe('ImageBuffer (IndexedDB)', () => {
  it('stores images, de-duplicates by URL and never stores the URL itself', async () => {
    const factory = new IDBFactory();
    const b = await ImageBuffer.open('t', { maxImages: 10, maxBytes: 1e6 }, factory);
    expect(await b.add('https://a.example/1.png', 4, img(4, 1))).toBe(true);
    expect(await b.add('https://a.example/1.png', 4, img(4, 9))).toBe(false);
    expect(await b.add('https://a.example/2.png', 4, img(4, 2))).toBe(true);
    expect(await b.stats()).toEqual({ count: 2, bytes: 96 });
    expect(await b.has('https://a.example/2.png')).toBe(true);
    // Raw dump of the store: no URL string anywhere.
    const raw = await new Promise<unknown[]>((resolve) => {
      const r = (b as unknown as { db: IDBDatabase }).db.transaction('images').objectStore('images').getAll();
      r.onsuccess = () => resolve(r.result);
    });
    expect(JSON.stringify(raw)).not.toContain('example');
    b.close();
  });

  it('evicts the oldest images when the count cap is exceeded', async () => {
    const b = await ImageBuffer.open('t', { maxImages: 3, maxBytes: 1e6 }, new IDBFactory());
    for (let i = 0; i < 5; i++) await b.add(`https://x/${i}`, 2, img(2, i));
    expect(await b.stats()).toEqual({ count: 3, bytes: 36 });
    expect(await b.has('https://x/0')).toBe(false);
    expect(await b.has('https://x/1')).toBe(false);
    expect(await b.has('https://x/4')).toBe(true);
    const s = await b.sample(10, 2);
    expect(s.count).toBe(3);
    expect(new Set(Array.from({ length: 3 }, (_, i) => s.pixels[i * 12])).size).toBe(3);
    expect([...new Set(s.pixels)].sort()).toEqual([2, 3, 4]);
    b.close();
  });

  it('evicts by the byte cap and refuses an image larger than the cap', async () => {
    const b = await ImageBuffer.open('t', { maxImages: 100, maxBytes: 100 }, new IDBFactory());
    for (let i = 0; i < 4; i++) await b.add(`u${i}`, 3, img(3, i)); // 27 bytes each
    expect(await b.stats()).toEqual({ count: 3, bytes: 81 });
    expect(await b.add('big', 6, img(6, 1))).toBe(false); // 108 > 100
    expect(await b.stats()).toEqual({ count: 3, bytes: 81 });
    b.close();
  });

  it('survives a reopen, samples only the requested size, and drops other sizes on request', async () => {
    const factory = new IDBFactory();
    let b = await ImageBuffer.open('persist', { maxImages: 10, maxBytes: 1e6 }, factory);
    await b.add('a', 2, img(2, 5));
    await b.add('b', 4, img(4, 6));
    b.close();
    b = await ImageBuffer.open('persist', { maxImages: 10, maxBytes: 1e6 }, factory);
    expect(await b.stats()).toEqual({ count: 2, bytes: 60 });
    const s = await b.sample(5, 2);
    expect(s.count).toBe(1);
    expect(s.pixels.length).toBe(12);
    expect(await b.retainSize(2)).toBe(1);
    expect(await b.stats()).toEqual({ count: 1, bytes: 12 });
    await expect(b.add('c', 2, new Uint8Array(5))).rejects.toThrow(/not one/);
    b.close();
  });
});
