import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { UrlQueue } from '../../extension/offscreen/url-queue';

describe('UrlQueue (IndexedDB)', () => {
  it('keeps URLs in order, once each, up to its cap, across a reopen', async () => {
    const factory = new IDBFactory();
    let q = await UrlQueue.open('q', { maxUrls: 3, maxAgeMs: 60_000 }, factory);
    expect(await q.push(['a', 'b', 'a', 'c', 'd'])).toBe(3); // 'a' once; 'd' over the cap
    q.close();
    q = await UrlQueue.open('q', { maxUrls: 3, maxAgeMs: 60_000 }, factory);
    expect([await q.next(), await q.next(), await q.next(), await q.next()]).toEqual(['a', 'b', 'c', null]);
    q.close();
  });

  it('drops URLs older than its age limit unfetched, and clears', async () => {
    let now = 0;
    const q = await UrlQueue.open('q2', { maxUrls: 10, maxAgeMs: 1000 }, new IDBFactory(), () => now);
    await q.push(['old1', 'old2']);
    now = 900;
    await q.push(['new']);
    now = 1500;
    expect(await q.next()).toBe('new');
    expect(await q.size()).toBe(0);
    await q.push(['x', 'y']);
    await q.clear();
    expect(await q.next()).toBeNull();
    q.close();
  });
});
