/** The run as the admin dashboard's client holds it: built from the snapshot, extended by every tick. */
import type { AdminAction, ContributorNow, DashState, EvalPoint, Rejection, Sample, Snapshot, Tick, VersionPoint } from '../protocol';

/** Resource samples kept in the browser (the oldest are dropped). */
const MAX_SAMPLES = 4000;

export interface Model {
  snap: Snapshot;
  versions: VersionPoint[];
  evals: EvalPoint[];
  staleness: Map<number, number>;
  norms: Map<number, number>;
  samples: Sample[];
  rejections: Rejection[];
  rejectionCounts: Record<string, number>;
  actions: AdminAction[];
  contributors: ContributorNow[];
  state: DashState;
  /** Server clock minus ours (ms), for "… ago" texts. */
  skew: number;
}

export function modelOf(s: Snapshot): Model {
  return {
    snap: s, versions: s.versions, evals: s.evals, staleness: new Map(s.staleness), norms: new Map(s.norms), samples: s.samples,
    rejections: s.rejections, rejectionCounts: { ...s.rejectionCounts }, actions: s.actions, contributors: s.contributors, state: s.state,
    skew: s.state.now - Date.now(),
  };
}

/** Appends a tick's news to the model. */
export function applyTick(m: Model, t: Tick): void {
  m.state = t.state;
  m.skew = t.state.now - Date.now();
  const last = m.versions.at(-1)?.version ?? -1;
  m.versions.push(...t.versions.filter((v) => v.version > last));
  m.evals.push(...t.evals);
  for (const [k, n] of t.staleness) m.staleness.set(k, (m.staleness.get(k) ?? 0) + n);
  for (const [k, n] of t.norms) m.norms.set(k, (m.norms.get(k) ?? 0) + n);
  m.samples.push(...t.samples);
  if (m.samples.length > MAX_SAMPLES) m.samples.splice(0, m.samples.length - MAX_SAMPLES);
  for (const r of t.rejections) m.rejectionCounts[r.code] = (m.rejectionCounts[r.code] ?? 0) + 1;
  m.rejections = [...t.rejections.reverse(), ...m.rejections].slice(0, 50);
  m.actions = [...t.actions.reverse(), ...m.actions].slice(0, 100);
  if (t.contributors) m.contributors = t.contributors;
}

/** The kNN series: the evaluator's `knn_top1` metric (older runs: `knn`), else the first accuracy-like one. */
export function accuracyMetric(evals: EvalPoint[]): string | null {
  const names = new Set(evals.map((e) => e.metric));
  for (const n of ['knn_top1', 'knn']) if (names.has(n)) return n;
  return [...names].find((n) => /acc|top1|knn|linear/i.test(n) && !/_raw_pixels$|_random_init$/.test(n)) ?? null;
}
