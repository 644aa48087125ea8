/**
 * The contributor's backend order. A named backend: that one first (common/backend-choice.ts).
 * 'auto' with a micro-benchmark available: the fastest measured first, from timings remembered by
 * the background or measured here when none are remembered (first start, or the person asked to
 * measure again) or they are from another browser version (common/backend-bench.ts).
 */
import { benchStale, measuredOrder, type BackendBench } from '../common/backend-bench';
import { backendChoice, type BackendName, type SoftwareGpu } from '../common/backend-choice';
import type { BackendPreference } from '../common/settings';

export interface ChooserDeps {
  measure?: () => Promise<BackendBench>;
  userAgent?: string;
  /** Hands new timings to the background to remember. */
  save?: (bench: BackendBench) => Promise<void>;
  log?: (line: string) => void;
}

export class BackendChooser {
  private current: { order: BackendName[]; softwareGpu: SoftwareGpu } = backendChoice('auto');
  /** measuredAt of the timings behind `current` (null: not from a measurement). */
  private from: number | null = null;
  /** This session's own timings, in case the background could not store them. */
  private own: BackendBench | null = null;
  private ownSaved = false;

  constructor(private readonly d: ChooserDeps) {}

  /** The order the next worker is set up with. */
  choice(): { order: BackendName[]; softwareGpu: SoftwareGpu } {
    return this.current;
  }

  /** Whether timings must be measured before `pref` can be followed. */
  mustMeasure(pref: BackendPreference, stored: BackendBench | null | undefined): boolean {
    return pref === 'auto' && this.d.measure !== undefined && benchStale(this.known(stored), this.d.userAgent ?? '');
  }

  /** Runs the micro-benchmark and hands the result to the background. */
  async measure(): Promise<BackendBench> {
    const bench = await this.d.measure!();
    this.own = bench;
    this.ownSaved = this.d.save ? await this.d.save(bench).then(() => true, () => false) : false;
    return bench;
  }

  /** Adopts the order for `pref`; true when it changed to new timings (a worker set up before must go). */
  choose(pref: BackendPreference, stored: BackendBench | null | undefined): boolean {
    const bench = this.known(stored);
    if (pref !== 'auto' || !this.d.measure || bench === null || benchStale(bench, this.d.userAgent ?? '')) {
      this.current = backendChoice(pref);
      this.from = null;
      return false;
    }
    if (bench.measuredAt === this.from) return false;
    this.current = { order: measuredOrder(bench), softwareGpu: 'allow' };
    this.from = bench.measuredAt;
    this.d.log?.(`Automatic: ${this.current.order.join(' > ')} (measured)`);
    return true;
  }

  /** Nothing stored after this session stored its own means the person asked to measure again. */
  private known(stored: BackendBench | null | undefined): BackendBench | null {
    return stored ?? (this.ownSaved ? null : this.own);
  }
}
