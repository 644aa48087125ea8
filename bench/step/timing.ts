/**
 * Timing helpers for bench/step.ts. On a machine shared with other work, wall time measures the
 * load as much as the code; the process's CPU time (all its threads) is what a single-threaded
 * computation costs, so both are recorded, and every figure is a minimum over repetitions.
 */

/** CPU time of this process (every thread), ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface Timed {
  wallMs: number;
  cpuMs: number;
}

/** Runs `f` once and returns its wall and CPU time. */
export function time(f: () => void): Timed {
  const c = cpuMs();
  const t = performance.now();
  f();
  return { wallMs: performance.now() - t, cpuMs: cpuMs() - c };
}

/** Element-wise minimum of wall and CPU time over `runs` runs of `f` (after `warmup` untimed ones). */
export function minOf(runs: number, f: () => void, warmup = 1): Timed {
  for (let i = 0; i < warmup; i++) f();
  let best: Timed = { wallMs: Infinity, cpuMs: Infinity };
  for (let i = 0; i < runs; i++) {
    const t = time(f);
    best = { wallMs: Math.min(best.wallMs, t.wallMs), cpuMs: Math.min(best.cpuMs, t.cpuMs) };
  }
  return best;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const fmt = (x: number | undefined | null, d = 1): string => (x == null || !Number.isFinite(x) ? '—' : x.toFixed(d));
