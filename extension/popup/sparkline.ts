/**
 * The loss sparkline: `sparklinePoints` is the pure part (values → polyline points in a box),
 * `renderSparkline` builds the inline SVG with DOM calls (no innerHTML), titled for screen readers.
 */
export interface Sparkline {
  /** SVG polyline `points`, empty when there are fewer than two finite values. */
  points: string;
  label: string;
}

export function sparklinePoints(values: readonly number[], width = 160, height = 36, pad = 2): Sparkline {
  const finite = values.filter(Number.isFinite);
  const label = finite.length ? `Loss over the last ${finite.length} steps, latest ${finite[finite.length - 1].toFixed(3)}` : 'No loss recorded yet';
  if (finite.length < 2) return { points: '', label };
  const min = Math.min(...finite);
  const span = Math.max(...finite) - min;
  // A flat series is drawn across the middle.
  const y = (v: number) => (span > 0 ? pad + (1 - (v - min) / span) * (height - 2 * pad) : height / 2);
  const points = finite
    .map((v, i) => `${(pad + (i / (finite.length - 1)) * (width - 2 * pad)).toFixed(1)},${y(v).toFixed(1)}`)
    .join(' ');
  return { points, label };
}

const SVG = 'http://www.w3.org/2000/svg';

export function renderSparkline(doc: Document, values: readonly number[], width = 160, height = 36): SVGSVGElement {
  const { points, label } = sparklinePoints(values, width, height);
  const svg = doc.createElementNS(SVG, 'svg');
  svg.setAttribute('role', 'img');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const title = doc.createElementNS(SVG, 'title');
  title.textContent = label;
  svg.append(title);
  if (points) {
    const line = doc.createElementNS(SVG, 'polyline');
    for (const [k, v] of Object.entries({ fill: 'none', stroke: 'currentColor', 'stroke-width': '1.5', 'stroke-linejoin': 'round', points })) line.setAttribute(k, v);
    svg.append(line);
  }
  return svg;
}
