/**
 * The CPU cap as a duty cycle: after a step that computed for `stepMs`, rest long enough that
 * computing is at most `percent` % of the wall-clock time (busy / (busy + rest) ≤ percent / 100),
 * the way BOINC's "use at most X % of CPU time" throttles. It caps one core's share; how many
 * cores a step may use is a separate setting.
 */

/** Milliseconds to rest after a step of `stepMs` to hold the compute share at `percent` (10–100). */
export function restAfterStepMs(stepMs: number, percent: number): number {
  const p = Math.min(100, Math.max(1, percent));
  if (!(stepMs > 0) || p >= 100) return 0;
  return (stepMs * (100 - p)) / p;
}

/** Resolves after `ms` (a worker has no other way to give the core back). */
export const rest = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
