/**
 * Seen image URLs → the image buffer: a persisted queue (./url-queue.ts) drained by two lanes
 * that fetch and decode each URL at the buffer's keep size (./resize.ts). Nothing here needs a
 * server, a plan or a lease, so images are kept while the person browses even before the first
 * round.
 */
import type { ImageBuffer } from './image-buffer';
import { keepSize } from './resize';
import type { PendingUrls } from './url-queue';

export interface IngestDeps {
  buffer: ImageBuffer;
  queue: PendingUrls;
  /** Fetches and decodes one URL to [size, size, 3] RGB. */
  load: (url: string, size: number) => Promise<Uint8Array>;
  /** The plan's input size when known (images are kept at {@link keepSize} of it). */
  planSize: () => number | null | undefined;
  /** After each URL, stored or skipped. */
  onProgress?: () => void;
  log?: (line: string) => void;
}

const LANES = 2;

export class ImageIngest {
  private lanes = 0;
  /** URLs were queued while every lane was busy or finishing. */
  private again = false;
  private stopped = false;

  constructor(private readonly d: IngestDeps) {}

  /** Queues URLs (once each, while there is room) and starts fetching; returns how many were queued. */
  async push(urls: string[]): Promise<number> {
    const added = await this.d.queue.push(urls);
    this.pump();
    return added;
  }

  /** Starts lanes for whatever is queued (URLs left by an earlier trainer page too). */
  pump(): void {
    // A lane that just found the queue empty may not have ended yet: it looks again when it does.
    this.again = true;
    while (this.lanes < LANES && !this.stopped) {
      this.again = false;
      this.lanes++;
      void this.drain().finally(() => {
        this.lanes--;
        if (this.again && !this.stopped) this.pump();
      });
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      let url: string | null;
      try {
        url = await this.d.queue.next();
      } catch (e) {
        this.d.log?.(`image queue unavailable: ${(e as Error).message}`);
        return;
      }
      if (!url) return;
      const size = keepSize(this.d.planSize());
      try {
        if (!(await this.d.buffer.has(url))) await this.d.buffer.add(url, size, await this.d.load(url, size));
      } catch (e) {
        this.d.log?.(`skipped an image: ${(e as Error).message}`);
      }
      this.d.onProgress?.();
    }
  }
}
