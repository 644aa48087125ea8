/**
 * Image URLs the person saw that wait to be fetched and decoded, kept in IndexedDB so a pause, a
 * closed trainer page or a browser restart does not lose them. Bounded: at most
 * {@link QUEUE_LIMITS.maxUrls}, each for at most {@link QUEUE_LIMITS.maxAgeMs} (an older one is
 * dropped unfetched), so this is never a browsing history: a URL leaves the queue when it is
 * fetched, and only a hash of it stays in the image buffer.
 */

export interface PendingUrls {
  /** Queues the URLs not queued yet while there is room; returns how many were added. */
  push(urls: readonly string[]): Promise<number>;
  /** Removes and returns the oldest URL still fresh (older ones are dropped), or null. */
  next(): Promise<string | null>;
  size(): Promise<number>;
  clear(): Promise<void>;
}

export const QUEUE_LIMITS = { maxUrls: 256, maxAgeMs: 60 * 60_000 };

interface Entry {
  seq?: number;
  url: string;
  at: number;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class UrlQueue implements PendingUrls {
  private constructor(private readonly db: IDBDatabase, private readonly limits: typeof QUEUE_LIMITS, private readonly now: () => number) {}

  static async open(name = 'glimpse-queue', limits = QUEUE_LIMITS, factory: IDBFactory = indexedDB, now: () => number = Date.now): Promise<UrlQueue> {
    const open = factory.open(name, 1);
    open.onupgradeneeded = () => {
      const store = open.result.createObjectStore('urls', { keyPath: 'seq', autoIncrement: true });
      store.createIndex('url', 'url', { unique: true });
    };
    return new UrlQueue(await req(open), limits, now);
  }

  close(): void {
    this.db.close();
  }

  async push(urls: readonly string[]): Promise<number> {
    const tx = this.db.transaction('urls', 'readwrite');
    const store = tx.objectStore('urls');
    let size = await req(store.count());
    let added = 0;
    for (const url of urls) {
      if (size >= this.limits.maxUrls) break;
      if ((await req(store.index('url').count(url))) > 0) continue;
      await req(store.add({ url, at: this.now() } satisfies Entry));
      size++;
      added++;
    }
    return added;
  }

  async next(): Promise<string | null> {
    const tx = this.db.transaction('urls', 'readwrite');
    const store = tx.objectStore('urls');
    for (;;) {
      const cursor = await req(store.openCursor());
      if (!cursor) return null;
      const e = cursor.value as Entry;
      await req(cursor.delete());
      if (this.now() - e.at <= this.limits.maxAgeMs) return e.url;
    }
  }

  async size(): Promise<number> {
    return req(this.db.transaction('urls', 'readonly').objectStore('urls').count());
  }

  async clear(): Promise<void> {
    await req(this.db.transaction('urls', 'readwrite').objectStore('urls').clear());
  }
}

/** The same queue in memory (tests, and a page without IndexedDB). */
export class MemoryQueue implements PendingUrls {
  private urls: string[] = [];
  constructor(private readonly maxUrls = QUEUE_LIMITS.maxUrls) {}
  async push(urls: readonly string[]): Promise<number> {
    let added = 0;
    for (const u of urls) {
      if (this.urls.length >= this.maxUrls) break;
      if (!this.urls.includes(u)) this.urls.push(u), added++;
    }
    return added;
  }
  async next(): Promise<string | null> {
    return this.urls.shift() ?? null;
  }
  async size(): Promise<number> {
    return this.urls.length;
  }
  async clear(): Promise<void> {
    this.urls = [];
  }
}
