/**
 * CPU time per thread of this process (Linux: /proc/self/task/<tid>/stat, in clock ticks of
 * 10 ms), to estimate what a multi-threaded step would take on a quiet machine from a run on a
 * shared one: wall time there mostly measures the other processes.
 */
import fs from 'node:fs';

const TICK_MS = 10;

/** tid → CPU ms (user + system) of every thread; empty where /proc is not available. */
export function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * TICK_MS);
    }
  } catch {
    // not Linux, or a thread ended while reading: no per-thread figures
  }
  return out;
}

export interface ThreadSplit {
  /** CPU ms of this (the main) thread. */
  mainMs: number;
  /** CPU ms of the other threads that worked during the interval, largest first. */
  othersMs: number[];
}

export function threadSplit(before: Map<number, number>, after: Map<number, number>): ThreadSplit | null {
  if (after.size === 0) return null;
  const delta = (tid: number) => (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
  const othersMs = [...after.keys()].filter((t) => t !== process.pid).map(delta).filter((d) => d > 0).sort((a, b) => b - a);
  return { mainMs: delta(process.pid), othersMs };
}

/**
 * The step's critical path from per-thread CPU: 'data' — the trainer's own work, then the busiest
 * of `workers` shard workers (they run while the trainer waits, and the other way round);
 * 'kernels' and one thread — the trainer thread itself (pool workers run alongside it).
 */
export function criticalPathMs(s: ThreadSplit, mode: 'single' | 'data' | 'kernels'): number {
  if (mode === 'data') return s.mainMs + (s.othersMs[0] ?? 0);
  if (mode === 'kernels') return Math.max(s.mainMs, s.othersMs[0] ?? 0);
  return s.mainMs;
}
