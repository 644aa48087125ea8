/**
 * Group commit: work that arrives within one event-loop turn is made durable together — one
 * DeltaStore batch, one directory fsync, one SQLite transaction — and each item's answer is sent
 * only after that. While a commit runs, new work queues up and forms the next batch.
 *
 * Two kinds of work: `submit(item)` waits for its answer (an accepted update: its ack),
 * `record(row)` does not (a rejection's history row, already answered) but rides along in the
 * same transaction. `commit` gets both lists and returns one answer per item, in order.
 */
export type CommitBatch<Item, Answer, Row> = (items: Item[], rows: Row[]) => Promise<Answer[]>;

export class GroupCommit<Item, Answer, Row> {
  private items: Array<{ item: Item; resolve: (a: Answer) => void; reject: (e: unknown) => void }> = [];
  private rows: Row[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;

  constructor(private readonly commit: CommitBatch<Item, Answer, Row>) {}

  /** Items queued for the next batch (not counting a batch being committed now). */
  get queued(): number {
    return this.items.length;
  }

  /** Queues an item; resolves with its answer once its batch is committed (or failed). */
  submit(item: Item): Promise<Answer> {
    const p = new Promise<Answer>((resolve, reject) => this.items.push({ item, resolve, reject }));
    this.schedule();
    return p;
  }

  /** Queues a row that is committed with the next batch and needs no answer. */
  record(row: Row): void {
    this.rows.push(row);
    this.schedule();
  }

  /** Commits everything queued, including what arrives meanwhile (shutdown). */
  async drain(): Promise<void> {
    if (this.running) await this.running;
    await this.loop();
  }

  /** Starts a commit on the next turn unless one is running (which picks up the queue when it ends). */
  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.loop().finally(() => (this.running = null));
    });
  }

  private async loop(): Promise<void> {
    while (this.items.length || this.rows.length) {
      const batch = this.items.splice(0);
      const rows = this.rows.splice(0);
      try {
        const answers = await this.commit(batch.map((b) => b.item), rows);
        batch.forEach((b, i) => b.resolve(answers[i]));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
  }
}
