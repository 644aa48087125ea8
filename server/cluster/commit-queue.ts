/**
 * The aggregator's commits, one in flight at a time (cluster/aggregator.ts). Versions folded while
 * a COMMIT is in flight wait here and go out together in the next one, which writes only the
 * newest's checkpoint: one checkpoint write and fsync in Redis for all of them, instead of one per
 * version, so the fold is no longer held to the pace of Redis writing whole checkpoints. Of the
 * older ones waiting only what their announcement needs is kept (`earlierOf`), not their state.
 *
 * Order and safety are the sender's COMMIT's (shared-state.ts): each batch is sent only after the
 * previous one was written, and once one is refused (a newer leader holds the fence, or the head
 * moved) or fails, nothing queued is ever sent.
 */
export class CommitQueue<V, E> {
  private newest: V | null = null;
  private earlier: E[] = [];
  private inFlight: Promise<void> | null = null;
  private refused = false;
  private error: Error | null = null;

  /**
   * @param send commits `newest` (folded on the `earlier` ones, oldest first, since the last
   *   batch): true once written, false when refused.
   * @param mayStart false once the loop that pushes here stopped leading: nothing more is sent.
   * @param earlierOf what is kept of a version once a newer one waits.
   */
  constructor(
    private readonly send: (newest: V, earlier: E[]) => Promise<boolean>,
    private readonly mayStart: () => boolean,
    private readonly earlierOf: (v: V) => E,
  ) {}

  /** True while commits go on: no COMMIT was refused; throws the error of one that failed. */
  healthy(): boolean {
    if (this.error) throw this.error;
    return !this.refused;
  }

  /** Queues a version folded on the last one pushed; it goes out with the next COMMIT. */
  push(v: V): void {
    if (this.refused || this.error) return;
    if (this.newest !== null) this.earlier.push(this.earlierOf(this.newest));
    this.newest = v;
    this.pump();
  }

  /** Sends nothing more; resolves once the COMMIT in flight (if any) was answered. */
  async close(): Promise<void> {
    this.drop();
    await this.inFlight;
  }

  private drop(): void {
    this.newest = null;
    this.earlier = [];
  }

  private pump(): void {
    if (this.inFlight || this.newest === null || !this.mayStart()) return;
    const [newest, earlier] = [this.newest, this.earlier];
    this.drop();
    this.inFlight = this.send(newest, earlier).then(
      (written) => {
        this.inFlight = null;
        if (written) return this.pump();
        this.refused = true;
        this.drop();
      },
      (e: Error) => {
        this.inFlight = null;
        this.error = e;
        this.drop();
      },
    );
  }
}
