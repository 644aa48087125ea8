/**
 * The admin dashboard in the browser: signs in with the admin token (typed, or `/admin#token=…`,
 * kept in sessionStorage only), subscribes to the `/admin` Socket.IO namespace, draws the run
 * from the snapshot and appends every tick. Charts are uPlot; each chart container carries
 * `data-points` (how many x values it shows) so tests and operators can tell it has data.
 * Bundled by esbuild (server/dashboard/assets.ts); no framework.
 */
import { io, type Socket } from 'socket.io-client';
import uPlot from 'uplot';
import type {
  ActionRequest, ActionResult, AdminAction, AdminClientEvents, AdminServerEvents, ContributorNow, DashState, EvalPoint, Rejection, Sample, Snapshot, Tick, VersionPoint,
} from '../protocol';
import { NORM_BUCKETS_PER_DECADE } from '../protocol';

const TOKEN_KEY = 'glimpse-admin-token';
const THEME_KEY = 'glimpse-admin-theme';
const MAX_SAMPLES = 4000;
const CHART_HEIGHT = 180;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- run state ------------------------------------------------------------------------------

interface Model {
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

let model: Model | null = null;
let socket: Socket<AdminServerEvents, AdminClientEvents> | null = null;

function onSnapshot(s: Snapshot): void {
  model = {
    snap: s, versions: s.versions, evals: s.evals, staleness: new Map(s.staleness), norms: new Map(s.norms), samples: s.samples,
    rejections: s.rejections, rejectionCounts: { ...s.rejectionCounts }, actions: s.actions, contributors: s.contributors, state: s.state,
    skew: s.state.now - Date.now(),
  };
  showDashboard();
  for (const c of charts) c.destroy();
  charts.length = 0;
  renderAll();
}

function onTick(t: Tick): void {
  const m = model;
  if (!m) return;
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
  renderAll();
}

// ---- formatting ---------------------------------------------------------------------------------

const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const nf0 = new Intl.NumberFormat();

function bytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(n) : nf1.format(n)} ${u[i]}`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const ago = (at: number) => `${duration(Date.now() + (model?.skew ?? 0) - at)} ago`;
const clock = (at: number) => new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const pct = (x: number) => `${nf1.format(x * 100)}%`;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function shortId(id: string): string {
  if (id.startsWith('anon:')) return 'anonymous';
  return id.length > 18 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

// ---- stats, tables ------------------------------------------------------------------------------

function setStat(id: string, value: string, sub = '\u00a0', warn = false): void {
  $(`s-${id}`).textContent = value;
  $(`s-${id}-sub`).textContent = sub;
  $(`st-${id}`).classList.toggle('warn', warn);
}

/** The kNN series: the evaluator's `knn` metric, else the first accuracy-like one. */
function accuracyMetric(evals: EvalPoint[]): string | null {
  const names = new Set(evals.map((e) => e.metric));
  if (names.has('knn')) return 'knn';
  return [...names].find((n) => /acc|top1|knn|linear/i.test(n)) ?? null;
}

function renderStats(m: Model): void {
  const s = m.state;
  const lastV = m.versions.at(-1);
  setStat('version', `v${s.version}`, lastV ? `last step ${ago(lastV.createdAt)}` : 'no server step yet');
  const kinds = new Map<string, number>();
  for (const c of m.contributors) kinds.set(`${c.clientKind} · ${c.backend}`, (kinds.get(`${c.clientKind} · ${c.backend}`) ?? 0) + 1);
  setStat('contributors', String(m.contributors.length), [...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || 'none connected');
  const paused = s.pausedAt !== null;
  setStat('buffer', `${s.bufferFill} / ${s.bufferSize}`, paused ? `paused ${ago(s.pausedAt!)}` : s.aggregating ? 'aggregating…' : 'filling', paused);
  setStat('updates', nf0.format(s.totals.accepted), `${nf0.format(s.totals.applied)} folded · ${nf0.format(s.totals.rejected)} rejected`);
  const metric = accuracyMetric(m.evals);
  const acc = metric ? m.evals.filter((e) => e.metric === metric) : [];
  const lastAcc = acc.at(-1);
  setStat('knn', lastAcc ? pct(lastAcc.value) : '–', lastAcc ? `at v${lastAcc.version} · best ${pct(Math.max(...acc.map((e) => e.value)))}` : 'not evaluated yet');
  const sm = m.samples.at(-1);
  setStat('traffic', sm ? bytes(sm.bytesIn + sm.bytesOut) : '–', sm ? `${bytes(sm.bytesIn)} in · ${bytes(sm.bytesOut)} out` : '\u00a0');
  setStat('uptime', `up ${duration(s.now - s.startedAt)}`, sm ? `CPU ${Math.round(sm.cpu * 100)}% · RSS ${bytes(sm.rssBytes)}` : '\u00a0');
  $('paused-banner').hidden = !paused;
  const pause = $<HTMLButtonElement>('btn-pause');
  pause.textContent = paused ? 'Resume aggregation' : 'Pause aggregation';
  pause.classList.toggle('btn-warn', paused);
  const run = m.snap.run;
  $('run').innerHTML = `<b>${esc(run.method)}</b> · run <span class="mono">${esc(run.runId.slice(0, 8))}</span> · K=${s.bufferSize} · ${m.snap.plan.localSteps} local steps × batch ${m.snap.plan.batchSize}`;
  document.title = `v${s.version} · Glimpse admin`;
}

function renderContributors(m: Model): void {
  const body = $('t-contributors').querySelector('tbody')!;
  const v = m.state.version;
  body.innerHTML = m.contributors.map((c) => {
    const behind = c.trainingOn === null ? null : v - c.trainingOn;
    const trains = c.trainingOn === null ? '<span class="muted">pulling…</span>'
      : `v${c.trainingOn} <span class="pill ${behind === 0 ? 'ok' : behind! > 2 ? 'warn' : ''}">${behind === 0 ? 'current' : `${behind} behind`}</span>`;
    const armedNow = revokeArmed(c.socketId);
    const revoke = m.state.tokensRequired && c.token
      ? `<button class="btn btn-danger btn-small${armedNow ? ' armed' : ''}" data-revoke="${esc(c.socketId)}" type="button">${armedNow ? 'Click again to revoke' : 'Revoke token'}</button>` : '';
    return `<tr><td class="mono" title="${esc(c.contributorId)}">${esc(shortId(c.contributorId))}</td><td>${esc(c.clientKind)}</td><td>${esc(c.backend)}</td>
      <td>${trains}</td><td class="num">${c.accepted}</td><td class="num">${c.rejected}</td><td>${duration(m.state.now - c.connectedAt)}</td>
      <td class="mono">${c.token ? esc(c.token) : '<span class="muted">open</span>'}</td><td>${revoke}</td></tr>`;
  }).join('');
  $('contrib-empty').hidden = m.contributors.length > 0;
  $('t-contributors').hidden = m.contributors.length === 0;
  const versions = new Map<string, number>();
  for (const c of m.contributors) if (c.trainingOn !== null) versions.set(`v${c.trainingOn}`, (versions.get(`v${c.trainingOn}`) ?? 0) + 1);
  $('contrib-summary').textContent = versions.size ? `training on ${[...versions].map(([k, n]) => `${k} (${n})`).join(', ')}` : '';
}

function renderRejections(m: Model): void {
  const counts = Object.entries(m.rejectionCounts).sort((a, b) => b[1] - a[1]);
  $('rej-counts').innerHTML = counts.map(([code, n]) => `<span class="chip">${esc(code)} <b>${n}</b></span>`).join('');
  const total = counts.reduce((s, [, n]) => s + n, 0);
  $('rej-total').textContent = total ? `${total} in total` : '';
  $('t-rejections').querySelector('tbody')!.innerHTML = m.rejections.map((r) =>
    `<tr><td title="${esc(new Date(r.at).toISOString())}">${clock(r.at)}</td><td class="mono">${esc(shortId(r.contributorId ?? '?'))}</td>
     <td class="wrap"><span class="pill bad">${esc(r.code)}</span> ${esc(r.reason)}</td></tr>`).join('');
  $('rej-empty').hidden = m.rejections.length > 0;
  $('t-rejections').hidden = m.rejections.length === 0;
}

function renderActions(m: Model): void {
  $('t-actions').querySelector('tbody')!.innerHTML = m.actions.map((a) =>
    `<tr><td title="${esc(new Date(a.at).toISOString())}">${clock(a.at)}</td><td><b>${esc(a.action)}</b></td><td class="mono">${esc(a.target ?? '')}</td>
     <td>${esc(a.actor)}</td><td class="wrap"><span class="pill ${a.ok ? 'ok' : 'bad'}">${a.ok ? 'done' : 'refused'}</span> ${esc(a.detail ?? '')}</td></tr>`).join('');
  $('actions-empty').hidden = m.actions.length > 0;
  $('t-actions').hidden = m.actions.length === 0;
  const open = !m.state.tokensRequired;
  $('revoke-form').querySelectorAll('input, button').forEach((el) => ((el as HTMLInputElement).disabled = open));
  $('revoke-note').textContent = open ? 'this server is open (no contributor tokens)' : `${m.state.revokedTokens} token(s) revoked so far`;
}

// ---- charts -------------------------------------------------------------------------------------

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
        { label: 'embedding std', scale: 'std', stroke: p.s4, width: 1, dash: [4, 4], points: { show: false }, spanGaps: true, value: (_u, v) => (v == null ? '–' : v.toFixed(3)) },
      ],
    }),
    data: (m) => {
      const metric = accuracyMetric(m.evals);
      const byVersion = new Map<number, { acc?: number; std?: number }>();
      for (const e of m.evals) {
        const r = byVersion.get(e.version) ?? byVersion.set(e.version, {}).get(e.version)!;
        if (e.metric === metric) r.acc = e.value;
        else if (e.metric === 'embeddingStd') r.std = e.value;
      }
      const vs = [...byVersion.keys()].filter((v) => byVersion.get(v)!.acc !== undefined).sort((a, b) => a - b);
      return [vs, vs.map((v) => byVersion.get(v)!.acc ?? null), vs.map((v) => byVersion.get(v)!.std ?? null)];
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

function renderCharts(m: Model): void {
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

// ---- page states ------------------------------------------------------------------------------

let renderQueued = false;
function renderAll(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const m = model;
    if (!m) return;
    renderStats(m);
    renderContributors(m);
    renderRejections(m);
    renderActions(m);
    renderCharts(m);
  });
}

function setLive(state: 'live' | 'retry' | 'off', text: string): void {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function showLogin(error?: string): void {
  $('dash').hidden = true;
  $('toolbar').hidden = true;
  $('login').hidden = false;
  const e = $('login-error');
  e.hidden = !error;
  e.textContent = error ?? '';
  setLive('off', 'signed out');
  $<HTMLInputElement>('token').focus();
}

function showDashboard(): void {
  $('login').hidden = true;
  $('dash').hidden = false;
  $('toolbar').hidden = false;
}

function toast(text: string, ok: boolean): void {
  const t = document.createElement('div');
  t.className = `toast${ok ? '' : ' bad'}`;
  t.textContent = text;
  $('toasts').appendChild(t);
  setTimeout(() => t.remove(), 5000);
}

function connect(token: string): void {
  socket?.close();
  setLive('retry', 'connecting…');
  const s: Socket<AdminServerEvents, AdminClientEvents> = io('/admin', { auth: { token }, transports: ['websocket'], reconnectionDelayMax: 5000 });
  socket = s;
  s.on('connect', () => setLive('live', 'live'));
  s.on('disconnect', (reason) => setLive('retry', reason === 'io client disconnect' ? 'offline' : 'reconnecting…'));
  s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    if (err.data?.code === 'unauthorized' || /unauthorized/i.test(err.message)) {
      s.close();
      sessionStorage.removeItem(TOKEN_KEY);
      model = null;
      showLogin('Access denied: that admin token is not valid.');
    } else setLive('retry', 'server unreachable, retrying…');
  });
  s.on('dash:snapshot', onSnapshot);
  s.on('dash:tick', onTick);
}

async function act(req: ActionRequest, button?: HTMLButtonElement): Promise<void> {
  if (!socket?.connected) return toast('not connected to the server', false);
  if (button) button.disabled = true;
  try {
    const r: ActionResult = await socket.timeout(60_000).emitWithAck('admin:action', req);
    toast(r.message, r.ok);
  } catch {
    toast(`${req.action}: no answer from the server`, false);
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Armed row buttons by socket id, until when. The contributors table is re-rendered every tick, so
 * the armed state lives here, not on the (replaced) button element.
 */
const armedRevokes = new Map<string, number>();
const revokeArmed = (socketId: string) => (armedRevokes.get(socketId) ?? 0) > Date.now();

/** Two-step buttons for destructive actions: the first click arms, the second (within 4 s) fires. */
function armed(button: HTMLButtonElement, label: string): boolean {
  if (button.classList.contains('armed')) return true;
  const original = button.textContent;
  button.classList.add('armed');
  button.textContent = label;
  setTimeout(() => {
    button.classList.remove('armed');
    button.textContent = original;
  }, 4000);
  return false;
}

// ---- theme ----------------------------------------------------------------------------------------

const THEMES = ['auto', 'dark', 'light'] as const;
function applyTheme(theme: string): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('btn-theme').title = `Theme: ${theme}`;
  // uPlot draws on canvas with resolved colours: rebuild the charts in the new palette.
  for (const u of charts) u.destroy();
  charts.length = 0;
  chartById.clear();
  if (model) renderAll();
}

// ---- start ------------------------------------------------------------------------------------------

function start(): void {
  applyTheme(localStorage.getItem(THEME_KEY) ?? 'auto');
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(localStorage.getItem(THEME_KEY) ?? 'auto'));
  $('btn-theme').addEventListener('click', () => {
    const next = THEMES[(THEMES.indexOf((localStorage.getItem(THEME_KEY) ?? 'auto') as (typeof THEMES)[number]) + 1) % THEMES.length];
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
  });
  for (const id of specs.map((s) => `c-${s.id}`)) resize.observe($(id));

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login-error').hidden = true;
    connect(token);
  });
  $('btn-logout').addEventListener('click', () => {
    socket?.close();
    socket = null;
    model = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });
  $('btn-pause').addEventListener('click', (e) => void act({ action: model?.state.pausedAt !== null ? 'resume' : 'pause' }, e.currentTarget as HTMLButtonElement));
  $('btn-checkpoint').addEventListener('click', (e) => void act({ action: 'checkpoint' }, e.currentTarget as HTMLButtonElement));
  $('btn-flush').addEventListener('click', (e) => void act({ action: 'flush' }, e.currentTarget as HTMLButtonElement));
  $('t-contributors').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-revoke]');
    if (!b) return;
    const id = b.dataset.revoke!;
    if (revokeArmed(id)) {
      armedRevokes.delete(id);
      void act({ action: 'revoke', socketId: id }, b);
    } else {
      armedRevokes.set(id, Date.now() + 4000);
      b.classList.add('armed');
      b.textContent = 'Click again to revoke';
    }
  });
  $('revoke-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('revoke-token');
    const button = (e.currentTarget as HTMLFormElement).querySelector('button')!;
    if (!input.value.trim() || !armed(button, 'Click again to revoke')) return;
    void act({ action: 'revoke', token: input.value.trim() }, button).then(() => (input.value = ''));
  });

  // A token link (/admin#token=…) signs in once; the fragment never reaches the server, and is removed from the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) connect(token);
  else showLogin();
  // "… ago" texts and durations move even when nothing else happens.
  setInterval(() => model && renderStats(model), 1000);
}

start();
