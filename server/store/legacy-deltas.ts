/**
 * A data directory written before the delta log (delta-log.ts) keeps its pending deltas as one
 * file each (pending.ts, refs ending in ".glwt"). This DeltaStore writes new deltas to the log and
 * still reads and removes the old files, so an upgraded server folds what an older one accepted;
 * once those are folded and pruned the old directory is simply empty.
 */
import type { DeltaStore } from './delta-store';

export class WithLegacyFiles implements DeltaStore {
  constructor(
    private readonly current: DeltaStore,
    private readonly legacy: DeltaStore,
    private readonly isLegacy: (ref: string) => boolean,
  ) {}

  async init(): Promise<void> {
    await this.legacy.init();
    await this.current.init();
  }

  newRef(): string {
    return this.current.newRef();
  }

  writeBatch(entries: ReadonlyArray<{ ref: string; bytes: Uint8Array }>): Promise<void> {
    return this.current.writeBatch(entries);
  }

  read(ref: string): Promise<Uint8Array> {
    return (this.isLegacy(ref) ? this.legacy : this.current).read(ref);
  }

  async remove(refs: readonly string[]): Promise<void> {
    await this.legacy.remove(refs.filter(this.isLegacy));
    await this.current.remove(refs.filter((r) => !this.isLegacy(r)));
  }

  async close(): Promise<void> {
    await this.current.close?.();
    await this.legacy.close?.();
  }

  async list(): Promise<string[]> {
    return [...(await this.legacy.list()), ...(await this.current.list())];
  }
}
