/**
 * The aggregator lease: at most one node folds at a time. A candidate tries to take the lease
 * every ttl/3; the holder renews it every ttl/3. Taking it returns a fencing token (shared-state.ts
 * ACQUIRE), which every version commit carries, so even a holder that lost the lease without
 * noticing (paused by the OS or a debugger, partitioned) cannot write. A holder that fails to
 * renew steps down at once; a crashed holder's lease expires after ttl and a candidate takes over.
 */
import type { SharedState } from './shared-state';

export interface LeaseOptions {
  node: string;
  ttlMs: number;
  /** The lease was taken: lead with this fencing token. */
  acquired(token: number): void;
  /** The lease is gone (renewal refused or failed): stop leading. */
  lost(token: number): void;
  log(line: string): void;
}

export class AggregatorLease {
  private token: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly shared: SharedState, private readonly o: LeaseOptions) {}

  /** The fencing token while this node holds the lease. */
  get held(): number | null {
    return this.token;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops renewing and hands the lease back (a clean shutdown: the next candidate need not wait for ttl). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const t = this.token;
    if (t !== null) {
      this.token = null;
      this.o.lost(t);
      await this.shared.release(this.o.node, t).catch(() => {});
    }
  }

  /** The leader found itself fenced off (its commit was refused): give the lease up. */
  fenced(token: number): void {
    if (this.token !== token) return;
    this.token = null;
    this.o.lost(token);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule(Math.max(50, Math.floor(this.o.ttlMs / 3))));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (this.token === null) {
        const t = await this.shared.acquire(this.o.node, this.o.ttlMs);
        if (t !== null && !this.stopped) {
          this.token = t;
          this.o.log(`aggregator lease taken by ${this.o.node} (fencing token ${t})`);
          this.o.acquired(t);
        }
      } else if (!(await this.shared.renew(this.o.node, this.token, this.o.ttlMs))) {
        this.o.log(`aggregator lease of ${this.o.node} (token ${this.token}) lost`);
        this.fenced(this.token);
      }
    } catch (e) {
      // Redis unreachable: a holder cannot know whether its lease still stands, so it stops leading.
      this.o.log(`aggregator lease: ${(e as Error).message}`);
      if (this.token !== null) this.fenced(this.token);
    }
  }
}
