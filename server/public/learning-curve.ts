/**
 * The learning-curve chart of the public page: evaluation scores per server version as an inline
 * SVG (no script, no dependency; the page's CSP allows no scripts). One colour per probe; the
 * encoder's line is solid, its random-init baseline dashed, raw pixels dotted — the two lines an
 * encoder must rise above.
 */
import { probeRows, type Evaluation } from '../model/eval-summary';

export interface CurveSeries {
  /** Probe index (colour) and role (line style). */
  probe: number;
  role: 'encoder' | 'randomInit' | 'rawPixels';
  /** The probe's name, e.g. 'kNN top-1 (k = 20, cosine)'. */
  probeLabel: string;
  label: string;
  points: Array<{ x: number; y: number }>;
}

/** Series per probe and role from evaluations (oldest first); roles with no point are left out. */
export function curveSeries(evals: Evaluation[]): CurveSeries[] {
  const out: CurveSeries[] = [];
  const labels = new Map<string, { index: number; label: string }>();
  for (const e of evals) for (const r of probeRows(e.metrics)) if (!labels.has(r.key)) labels.set(r.key, { index: labels.size, label: r.label });
  for (const [key, { index, label }] of labels) {
    for (const role of ['encoder', 'randomInit', 'rawPixels'] as const) {
      const points = evals.flatMap((e) => {
        const row = probeRows(e.metrics).find((r) => r.key === key);
        const y = row?.[role] ?? null;
        return y === null ? [] : [{ x: e.version, y }];
      });
      if (points.length) out.push({ probe: index, role, probeLabel: label, label: `${label}${role === 'encoder' ? '' : role === 'randomInit' ? ', random init' : ', raw pixels'}`, points });
    }
  }
  return out;
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

const DASH = { encoder: '', randomInit: ' stroke-dasharray="6 4"', rawPixels: ' stroke-dasharray="2 3"' };

/** The chart as an `<svg>` element (accuracies in [0, 1] on y, versions on x); '' without data. */
export function learningCurveSvg(series: CurveSeries[], width = 640, height = 240): string {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return '';
  const m = { left: 44, right: 12, top: 10, bottom: 34 };
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const ys = all.map((p) => p.y);
  const pad = Math.max(0.02, (Math.max(...ys) - Math.min(...ys)) * 0.1);
  const [y0, y1] = [Math.max(0, Math.min(...ys) - pad), Math.min(1, Math.max(...ys) + pad)];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const f = (n: number) => n.toFixed(1);
  const yTicks = niceTicks(y0, y1, 4).map((t) =>
    `<line class="grid" x1="${m.left}" x2="${width - m.right}" y1="${f(py(t))}" y2="${f(py(t))}"/><text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${Math.round(t * 1000) / 10}%</text>`);
  const xTicks = niceTicks(x0, x1, 6).filter(Number.isInteger).map((t) =>
    `<text x="${f(px(t))}" y="${height - m.bottom + 16}" text-anchor="middle">${t}</text>`);
  const lines = series.map((s) => {
    const cls = `curve c${s.probe % 4}`;
    const title = `<title>${s.label}</title>`;
    const dots = s.points.map((p) => `<circle class="${cls}" cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="${s.role === 'encoder' ? 3 : 2}"><title>${s.label}, version ${p.x}: ${(p.y * 100).toFixed(1)}%</title></circle>`).join('');
    const path = s.points.length > 1 ? `<polyline class="${cls}" fill="none"${DASH[s.role]} points="${s.points.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(' ')}">${title}</polyline>` : '';
    return path + dots;
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Evaluation accuracy per server version">` +
    `<g class="axis">${yTicks.join('')}${xTicks.join('')}<text x="${f((m.left + width - m.right) / 2)}" y="${height - 4}" text-anchor="middle">server version</text></g>` +
    `${lines.join('')}</svg>`;
}

/** The legend for {@link learningCurveSvg}'s series, as HTML. */
export function learningCurveLegend(series: CurveSeries[]): string {
  const probes = [...new Map(series.map((s) => [s.probe, s.probeLabel])).entries()];
  return `<div class="legend small muted">${probes.map(([i, label]) => `<span><i class="swatch c${i % 4}"></i>${label}</span>`).join(' ')}` +
    ` · solid: this encoder, dashed: random init, dotted: raw pixels (same split)</div>`;
}
