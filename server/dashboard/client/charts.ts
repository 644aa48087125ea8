/**
 * The dashboard's charts (uPlot): one spec per chart — its options in the current palette and
 * its data from the model. Each chart container carries `data-points` (how many x values it
 * shows) so tests and operators can tell it has data.
 */
import uPlot from 'uplot';
import type { Sample } from '../protocol';
import { NORM_BUCKETS_PER_DECADE } from '../protocol';
import { $, bytes, nf1, pct } from './format';
import { accuracyMetric, type Model } from './model';

const CHART_HEIGHT = 180;

interface Palette { text: string; muted: string; grid: string; s1: string; s2: string; s3: string; s4: string; panel: string }

function palette(): Palette {
  const cs = getComputedStyle(document.documentElement);
  const v = (n: string) => cs.getPropertyValue(n).trim();
  return { text: v('--text'), muted: v('--muted'), grid: v('--grid'), s1: v('--series-1'), s2: v('--series-2'), s3: v('--series-3'), s4: v('--series-4'), panel: v('--panel') };
}

function alpha(color: string, a: number): string {
  return `color-mix(in srgb, ${color} ${Math.round(a * 100)}%, transparent)`;
}

interface ChartSpec {
  id: string;
  options(p: Palette): Omit<uPlot.Options, 'width' | 'height'>;
  data(m: Model): uPlot.AlignedData;
}

const bars = () => uPlot.paths.bars!({ size: [0.72, 48], align: 0 });

function axis(p: Palette, o: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return { stroke: p.muted, grid: { stroke: p.grid, width: 1 }, ticks: { stroke: p.grid, width: 1, size: 3 }, font: '11px system-ui, sans-serif', labelFont: '11px system-ui, sans-serif', gap: 4, ...o };
}

/** Versions are integers: no 0.5 ticks on short runs. */
const versionAxis = (p: Palette) => axis(p, { label: 'version', labelSize: 16, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000] });

const fmtVals = (f: (v: number) => string) => (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? '' : f(v)));

/** A tick label of the log-norm axis (x = log10 ‖Δ‖): 0.01, 0.18, 1, 5.6, 1e3 … */
function normLabel(x: number): string {
  const v = 10 ** x;
  if (v >= 1e4 || v < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(2)));
}

/** Exponential moving average ignoring gaps. */
function smooth(ys: Array<number | null>, a = 0.8): Array<number | null> {
  let s: number | null = null;
  return ys.map((y) => (y === null ? s : (s = s === null ? y : a * s + (1 - a) * y)));
}

/** Bytes/s between consecutive samples (null across a restart, where totals restart). */
function rates(samples: Sample[]): Array<{ at: number; inRate: number; outRate: number }> {
  const out: Array<{ at: number; inRate: number; outRate: number }> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = (b.at - a.at) / 1000;
    if (dt <= 0 || b.bytesIn < a.bytesIn || b.bytesOut < a.bytesOut) continue;
    out.push({ at: b.at, inRate: (b.bytesIn - a.bytesIn) / dt, outRate: (b.bytesOut - a.bytesOut) / dt });
  }
  return out;
}

/** A contiguous integer histogram [x…], [count…] from sparse counts. */
function dense(h: Map<number, number>, step = 1): [number[], number[]] {
  if (h.size === 0) return [[], []];
  const keys = [...h.keys()];
  const lo = Math.min(...keys), hi = Math.max(...keys);
  const xs: number[] = [], ys: number[] = [];
  for (let k = lo; k <= hi; k++) {
    xs.push(k * step);
    ys.push(h.get(k) ?? 0);
  }
  return [xs, ys];
}

const padRange = (half: number) => (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [min - half, max + half];
const zeroBased = (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1];

const specs: ChartSpec[] = [
  {
    id: 'loss',
    options: (p) => ({
      scales: { x: { time: false } },
      axes: [versionAxis(p), axis(p, { size: 50 })],
      series: [
        { label: 'version' },
        { label: 'mean loss', stroke: alpha(p.s1, 0.45), width: 1, points: { show: true, size: 4, fill: p.s1, stroke: p.s1 }, value: (_u, v) => (v == null ? '–' : v.toFixed(4)) },
        { label: 'smoothed', stroke: p.s1, width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : v.toFixed(4)) },
      ],
    }),
    data: (m) => {
      const ys = m.versions.map((v) => v.meanLoss);
      return [m.versions.map((v) => v.version), ys, smooth(ys)];
    },
  },
  {
    id: 'knn',
    options: (p) => ({
      scales: { x: { time: false }, std: { auto: true } },
      axes: [versionAxis(p), axis(p, { size: 52, values: (_u, splits, _i, _space, incr) => splits.map((v) => `${(v * 100).toFixed(Math.max(0, Math.ceil(-Math.log10(incr * 100))))}%`) }), axis(p, { scale: 'std', side: 1, size: 48, grid: { show: false }, values: (_u, splits, _i, _space, incr) => splits.map((v) => v.toFixed(Math.max(0, Math.ceil(-Math.log10(incr))))) })],
      series: [
        { label: 'version' },
        { label: 'kNN accuracy', stroke: p.s3, width: 2, fill: alpha(p.s3, 0.1), points: { show: true, size: 5, fill: p.s3 }, spanGaps: true, value: (_u, v) => (v == null ? '–' : pct(v)) },
        // The two bars the encoder must clear, measured on the same split by the evaluator.
        { label: 'random init', stroke: p.s3, width: 1, dash: [6, 4], points: { show: false }, spanGaps: true, value: (_u, v) => (v == null ? '–' : pct(v)) },
        { label: 'raw pixels', stroke: p.s3, width: 1, dash: [2, 3], points: { show: false }, spanGaps: true, value: (_u, v) => (v == null ? '–' : pct(v)) },
        { label: 'embedding std', scale: 'std', stroke: p.s4, width: 1, dash: [4, 4], points: { show: false }, spanGaps: true, value: (_u, v) => (v == null ? '–' : v.toFixed(3)) },
      ],
    }),
    data: (m) => {
      const metric = accuracyMetric(m.evals);
      const byVersion = new Map<number, { acc?: number; random?: number; raw?: number; std?: number }>();
      for (const e of m.evals) {
        const r = byVersion.get(e.version) ?? byVersion.set(e.version, {}).get(e.version)!;
        if (e.metric === metric) r.acc = e.value;
        else if (e.metric === `${metric}_random_init`) r.random = e.value;
        else if (e.metric === `${metric}_raw_pixels`) r.raw = e.value;
        else if (e.metric === 'embeddingStd' || e.metric === 'embedding_std') r.std = e.value;
      }
      const vs = [...byVersion.keys()].filter((v) => byVersion.get(v)!.acc !== undefined).sort((a, b) => a - b);
      const col = (k: 'acc' | 'random' | 'raw' | 'std') => vs.map((v) => byVersion.get(v)![k] ?? null);
      return [vs, col('acc'), col('random'), col('raw'), col('std')];
    },
  },
  {
    id: 'steps',
    options: (p) => ({
      scales: { x: { time: false, range: padRange(0.6) }, y: { range: zeroBased }, tau: { range: zeroBased } },
      axes: [versionAxis(p), axis(p, { size: 36 }), axis(p, { scale: 'tau', side: 1, size: 36, grid: { show: false } })],
      series: [
        { label: 'version' },
        { label: 'updates folded', stroke: p.s1, fill: alpha(p.s1, 0.55), width: 1, paths: bars(), points: { show: false } },
        { label: 'mean staleness τ', scale: 'tau', stroke: p.s2, width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : v.toFixed(2)) },
      ],
    }),
    data: (m) => [m.versions.map((v) => v.version), m.versions.map((v) => v.numUpdates), m.versions.map((v) => v.meanStaleness)],
  },
  {
    id: 'staleness',
    options: (p) => ({
      scales: { x: { time: false, range: padRange(0.6) }, y: { range: zeroBased } },
      axes: [axis(p, { label: 'τ (versions behind)', labelSize: 16, incrs: [1, 2, 5, 10, 20, 50] }), axis(p, { size: 40 })],
      series: [{ label: 'τ' }, { label: 'folded updates', stroke: p.s2, fill: alpha(p.s2, 0.6), width: 1, paths: bars(), points: { show: false } }],
    }),
    data: (m) => dense(m.staleness),
  },
  {
    id: 'norms',
    options: (p) => ({
      scales: { x: { time: false, range: padRange(0.15) }, y: { range: zeroBased } },
      axes: [
        axis(p, { label: '‖Δ‖₂ (log scale)', labelSize: 16, incrs: [0.25, 0.5, 1, 2], values: fmtVals(normLabel) }),
        axis(p, { size: 40 }),
      ],
      series: [
        { label: '‖Δ‖ from', value: (_u, v) => (v == null ? '–' : (10 ** v).toPrecision(3)) },
        { label: 'accepted updates', stroke: p.s4, fill: alpha(p.s4, 0.6), width: 1, paths: bars(), points: { show: false } },
      ],
    }),
    data: (m) => dense(m.norms, 1 / NORM_BUCKETS_PER_DECADE),
  },
  {
    id: 'net',
    options: (p) => ({
      scales: { y: { range: zeroBased } },
      axes: [axis(p), axis(p, { size: 62, values: fmtVals((v) => `${bytes(v)}/s`) })],
      series: [
        {},
        { label: 'in', stroke: p.s1, fill: alpha(p.s1, 0.12), width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : `${bytes(v)}/s`) },
        { label: 'out', stroke: p.s2, fill: alpha(p.s2, 0.12), width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : `${bytes(v)}/s`) },
      ],
    }),
    data: (m) => {
      const r = rates(m.samples);
      return [r.map((x) => x.at / 1000), r.map((x) => x.inRate), r.map((x) => x.outRate)];
    },
  },
  {
    id: 'cpu',
    options: (p) => ({
      scales: { y: { range: zeroBased }, lag: { range: zeroBased } },
      axes: [axis(p), axis(p, { size: 44, values: fmtVals((v) => `${Math.round(v * 100)}%`) }), axis(p, { scale: 'lag', side: 1, size: 48, grid: { show: false }, values: fmtVals((v) => `${nf1.format(v)} ms`) })],
      series: [
        {},
        { label: 'CPU', stroke: p.s3, fill: alpha(p.s3, 0.12), width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : `${Math.round(v * 100)}%`) },
        { label: 'loop lag p99', scale: 'lag', stroke: p.s2, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '–' : `${nf1.format(v)} ms`) },
      ],
    }),
    data: (m) => [m.samples.map((s) => s.at / 1000), m.samples.map((s) => s.cpu), m.samples.map((s) => s.lagP99Ms)],
  },
  {
    id: 'mem',
    options: (p) => ({
      scales: { y: { range: zeroBased } },
      axes: [axis(p), axis(p, { size: 58, values: fmtVals((v) => bytes(v)) })],
      series: [
        {},
        { label: 'RSS', stroke: p.s1, fill: alpha(p.s1, 0.12), width: 2, points: { show: false }, value: (_u, v) => (v == null ? '–' : bytes(v)) },
        { label: 'JS heap', stroke: p.s4, width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '–' : bytes(v)) },
      ],
    }),
    data: (m) => [m.samples.map((s) => s.at / 1000), m.samples.map((s) => s.rssBytes), m.samples.map((s) => s.heapBytes)],
  },
];

const charts: uPlot[] = [];
const chartById = new Map<string, uPlot>();

/** Drops every chart: the next render rebuilds them (a new snapshot, a new theme: uPlot draws resolved colours on canvas). */
export function resetCharts(): void {
  for (const u of charts) u.destroy();
  charts.length = 0;
  chartById.clear();
}

export function renderCharts(m: Model): void {
  const p = palette();
  for (const spec of specs) {
    const el = $(`c-${spec.id}`);
    const data = spec.data(m);
    el.dataset.points = String(data[0].length);
    let u = chartById.get(spec.id);
    if (!u || !charts.includes(u)) {
      el.innerHTML = '';
      u = new uPlot({ ...spec.options(p), width: Math.max(200, el.clientWidth), height: CHART_HEIGHT, cursor: { drag: { x: true, y: false } }, legend: { show: true, live: true } }, data, el);
      charts.push(u);
      chartById.set(spec.id, u);
      const note = document.createElement('div');
      note.className = 'nodata';
      note.textContent = 'waiting for data…';
      el.appendChild(note);
    } else {
      u.setData(data);
    }
    (el.querySelector('.nodata') as HTMLElement).hidden = data[0].length > 0;
  }
}

const resize = new ResizeObserver(() => {
  for (const [id, u] of chartById) {
    const w = Math.max(200, $(`c-${id}`).clientWidth);
    if (Math.abs(u.width - w) > 2) u.setSize({ width: w, height: CHART_HEIGHT });
  }
});

/** Keeps every chart as wide as its container. */
export function observeChartSizes(): void {
  for (const spec of specs) resize.observe($(`c-${spec.id}`));
}
