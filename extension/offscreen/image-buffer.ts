/**
 * The local image buffer: decoded images ([s, s, 3] uint8 RGB) in IndexedDB, bounded by a count
 * and a byte cap, oldest evicted first, surviving browser restarts. Entries are keyed by a
 * SHA-256 of the image URL (for de-duplication), never by the URL itself, so the buffer holds no
 * browsing history. Nothing in it ever leaves the device: the trainer reads pixels from here and
 * only weight deltas go to the server.
 */

export interface BufferLimits {
  maxImages: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: BufferLimits = { maxImages: 2000, maxBytes: 32 * 1024 * 1024 };

interface ImageRecord {
  seq?: number;
  /** hex SHA-256 of the URL */
  key: string;
  size: number;
  pixels: ArrayBuffer;
  addedAt: number;
}

interface Totals {
  id: 'totals';
  count: number;
  bytes: number;
}

const DB_VERSION = 1;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

export async function urlKey(url: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class ImageBuffer {
  private constructor(private readonly db: IDBDatabase, readonly limits: BufferLimits) {}

  static async open(name = 'glimpse-buffer', limits: BufferLimits = DEFAULT_LIMITS, factory: IDBFactory = indexedDB): Promise<ImageBuffer> {
    const open = factory.open(name, DB_VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      const images = db.createObjectStore('images', { keyPath: 'seq', autoIncrement: true });
      images.createIndex('key', 'key', { unique: true });
      db.createObjectStore('meta', { keyPath: 'id' });
    };
    return new ImageBuffer(await req(open), limits);
  }

  close(): void {
    this.db.close();
  }

  async has(url: string): Promise<boolean> {
    const key = await urlKey(url);
    const tx = this.db.transaction('images', 'readonly');
    return (await req(tx.objectStore('images').index('key').count(key))) > 0;
  }

  /**
   * Adds one decoded image; returns false if this URL is already buffered. Evicts the oldest
   * images, in the same transaction, until both caps hold.
   */
  async add(url: string, size: number, pixels: Uint8Array): Promise<boolean> {
    if (pixels.length !== size * size * 3) throw new Error(`buffer: ${pixels.length} bytes is not one ${size}×${size} RGB image`);
    if (pixels.length > this.limits.maxBytes) return false;
    const key = await urlKey(url);
    const tx = this.db.transaction(['images', 'meta'], 'readwrite');
    const images = tx.objectStore('images');
    const meta = tx.objectStore('meta');
    const finished = done(tx);
    if ((await req(images.index('key').count(key))) > 0) {
      await finished;
      return false;
    }
    const totals = ((await req(meta.get('totals'))) as Totals | undefined) ?? { id: 'totals', count: 0, bytes: 0 };
    const copy = pixels.slice().buffer as ArrayBuffer;
    await req(images.add({ key, size, pixels: copy, addedAt: Date.now() } satisfies ImageRecord));
    totals.count += 1;
    totals.bytes += copy.byteLength;
    if (totals.count > this.limits.maxImages || totals.bytes > this.limits.maxBytes) {
      const cursorReq = images.openCursor();
      await new Promise<void>((resolve, reject) => {
        cursorReq.onerror = () => reject(cursorReq.error);
        cursorReq.onsuccess = () => {
          const cursor = cursorReq.result;
          if (!cursor || (totals.count <= this.limits.maxImages && totals.bytes <= this.limits.maxBytes)) return resolve();
          const rec = cursor.value as ImageRecord;
          totals.count -= 1;
          totals.bytes -= rec.pixels.byteLength;
          cursor.delete();
          cursor.continue();
        };
      });
    }
    meta.put(totals);
    await finished;
    return true;
  }

  async stats(): Promise<{ count: number; bytes: number }> {
    const tx = this.db.transaction('meta', 'readonly');
    const t = (await req(tx.objectStore('meta').get('totals'))) as Totals | undefined;
    return { count: t?.count ?? 0, bytes: t?.bytes ?? 0 };
  }

  /**
   * `n` distinct images of side `size` (or all of them when fewer exist), chosen at random,
   * back to back as one RGB byte array [k, size, size, 3]; `k` is the number returned.
   */
  async sample(n: number, size: number, random: () => number = Math.random): Promise<{ count: number; pixels: Uint8Array }> {
    const tx = this.db.transaction('images', 'readonly');
    const store = tx.objectStore('images');
    const keys = (await req(store.getAllKeys())) as number[];
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    const per = size * size * 3;
    const chosen: Uint8Array[] = [];
    for (const k of keys) {
      if (chosen.length >= n) break;
      const rec = (await req(store.get(k))) as ImageRecord | undefined;
      if (rec && rec.size === size) chosen.push(new Uint8Array(rec.pixels));
    }
    const pixels = new Uint8Array(chosen.length * per);
    chosen.forEach((p, i) => pixels.set(p, i * per));
    return { count: chosen.length, pixels };
  }

  /** Drops images of another side length (after the plan's input size changed). */
  async retainSize(size: number): Promise<number> {
    const tx = this.db.transaction(['images', 'meta'], 'readwrite');
    const images = tx.objectStore('images');
    const finished = done(tx);
    const all = (await req(images.getAll())) as ImageRecord[];
    let removed = 0;
    let count = 0;
    let bytes = 0;
    for (const rec of all) {
      if (rec.size !== size) {
        images.delete(rec.seq!);
        removed++;
      } else {
        count++;
        bytes += rec.pixels.byteLength;
      }
    }
    tx.objectStore('meta').put({ id: 'totals', count, bytes } satisfies Totals);
    await finished;
    return removed;
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(['images', 'meta'], 'readwrite');
    tx.objectStore('images').clear();
    tx.objectStore('meta').clear();
    await done(tx);
  }
}
