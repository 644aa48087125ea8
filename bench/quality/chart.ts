/**
 * bench:quality's SVG chart: kNN top-1 against examples seen, one line per curve, with the
 * raw-pixel and random-init bars as horizontal lines. A standalone file (own xmlns, no script).
 */
import type { Curve } from './curves';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Bar {
  label: string;
  y: number;
}

export function qualityChartSvg(curves: Curve[], bars: Bar[], title: string, width = 820, height = 420): string {
  const pts = curves.flatMap((c) => c.points);
  const ys = [...pts.map((p) => p.knn_top1), ...bars.map((b) => b.y)];
  if (!ys.length) return '';
  const m = { left: 56, right: 220, top: 34, bottom: 44 };
  const x1 = Math.max(1, ...pts.map((p) => p.examples));
  const [y0, y1] = [Math.max(0, Math.min(...ys) - 0.02), Math.min(1, Math.max(...ys) + 0.02)];
  const px = (x: number) => m.left + (x / x1) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/><text x="${m.left}" y="18" font-size="13">${esc(title)}</text>`);
  const step = (y1 - y0) > 0.15 ? 0.05 : 0.02;
  for (let t = Math.ceil(y0 / step) * step; t <= y1 + 1e-9; t += step) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#eee"/><text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${(t * 100).toFixed(0)}%</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const x = (x1 * i) / 5;
    out.push(`<text x="${f(px(x))}" y="${height - m.bottom + 16}" text-anchor="middle">${Math.round(x).toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${f((m.left + width - m.right) / 2)}" y="${height - 8}" text-anchor="middle">training examples seen</text>`);
  out.push(`<text transform="translate(14 ${f((m.top + height - m.bottom) / 2)}) rotate(-90)" text-anchor="middle">kNN top-1</text>`);
  let legendY = m.top;
  const legend = (colour: string, dash: string, label: string) => {
    out.push(`<line x1="${width - m.right + 12}" x2="${width - m.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dash}/><text x="${width - m.right + 42}" y="${legendY + 4}">${esc(label)}</text>`);
    legendY += 16;
  };
  bars.forEach((b, i) => {
    const dash = i === 0 ? ' stroke-dasharray="2 3"' : ' stroke-dasharray="6 4"';
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${f(py(b.y))}" y2="${f(py(b.y))}" stroke="#555"${dash}/>`);
    legend('#555', dash, `${b.label} ${(b.y * 100).toFixed(1)}%`);
  });
  curves.forEach((c, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const line = c.points.map((p) => `${f(px(p.examples))},${f(py(p.knn_top1))}`).join(' ');
    if (c.points.length > 1) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${line}"/>`);
    for (const p of c.points) out.push(`<circle cx="${f(px(p.examples))}" cy="${f(py(p.knn_top1))}" r="3" fill="${colour}"><title>${esc(`${c.method} ${c.setting}: ${p.examples} examples, kNN ${(p.knn_top1 * 100).toFixed(1)}%`)}</title></circle>`);
    legend(colour, '', `${c.method} · ${c.setting}`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
