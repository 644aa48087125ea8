/**
 * The evaluator hook: something (e.g. a kNN probe on a held-out set) that scores the product
 * encoder of a version. The server calls it after new versions, one at a time, skipping to the
 * newest version when it falls behind, records the metrics in SQLite (`evals`) and shows the
 * latest in /api/status under `eval`. A failing evaluator is logged, never fatal.
 */
import type { WeightMap } from '../../shared/weights/weight-map';
import type { EncoderSource } from '../model/encoder-export';

export interface EvalContext {
  version: number;
  method: string;
  methodConfig: Record<string, unknown>;
  /** The product encoder's weights under the encoder's own names (see model/encoder-export.ts). */
  encoder: WeightMap;
  source: EncoderSource;
}

export interface Evaluator {
  /** Evaluate every `every`-th version (default 1). */
  every?: number;
  evaluate(ctx: EvalContext): Promise<Record<string, number>>;
  /** What the scores are measured on (/api/status `eval.split`), once known. */
  split?(): Record<string, unknown> | undefined;
}

/** Runs an evaluator off the aggregation path: at most one evaluation at a time, newest version wins. */
export class EvalScheduler {
  private running = false;
  private next: EvalContext | null = null;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly evaluator: Evaluator,
    private readonly record: (version: number, metrics: Record<string, number>) => void,
    private readonly log: (line: string) => void,
  ) {}

  offer(ctx: EvalContext): void {
    const every = this.evaluator.every ?? 1;
    if (ctx.version % every !== 0) return;
    this.next = ctx;
    if (!this.running) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.next) {
        const ctx = this.next;
        this.next = null;
        try {
          this.record(ctx.version, await this.evaluator.evaluate(ctx));
        } catch (e) {
          this.log(`evaluator failed on version ${ctx.version}: ${(e as Error).message}`);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Resolves when no evaluation is running (for shutdown and tests). */
  whenIdle(): Promise<void> {
    return this.idle;
  }
}
