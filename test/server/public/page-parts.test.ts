/**
 * The public page's pure parts: the learning-curve SVG (one series per probe and role, no script)
 * and the small Markdown renderer the model card is shown with (escapes before it marks up).
 */
import { describe, expect, it } from 'vitest';
import { curveSeries, learningCurveLegend, learningCurveSvg } from '../../../server/public/learning-curve';
import { markdownToHtml } from '../../../server/public/markdown';
import type { Evaluation } from '../../../server/model/eval-summary';

describe('learning curve', () => {
  const evals: Evaluation[] = [
    { version: 5, at: 0, metrics: { knn_top1: 0.6, knn_top1_random_init: 0.55, knn_top1_raw_pixels: 0.78 } },
    { version: 10, at: 0, metrics: { knn: 0.65, knn_top1_random_init: 0.55, knn_top1_raw_pixels: 0.78, linear_1pct: 0.5 } },
    { version: 15, at: 0, metrics: { knn_top1: 0.7, embedding_std: 0.1 } },
  ];

  it('makes one series per probe and role from the evaluations', () => {
    const s = curveSeries(evals);
    expect(s.map((x) => [x.probe, x.role, x.points.length])).toEqual([
      [0, 'encoder', 3], [0, 'randomInit', 2], [0, 'rawPixels', 2], [1, 'encoder', 1],
    ]);
    expect(s[0].points).toEqual([{ x: 5, y: 0.6 }, { x: 10, y: 0.65 }, { x: 15, y: 0.7 }]);
    expect(curveSeries([])).toEqual([]);
  });

  it('draws an inline SVG: solid encoder, dashed random init, dotted raw pixels, titled points', () => {
    const s = curveSeries(evals);
    const svg = learningCurveSvg(s);
    expect(svg).toMatch(/^<svg class="chart" viewBox="0 0 640 240"/);
    expect(svg).not.toMatch(/<script|on\w+=/i);
    expect(svg.match(/<polyline /g)).toHaveLength(3); // the single-point series is a dot only
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('stroke-dasharray="2 3"');
    expect(svg).toContain('<title>kNN top-1 (k = 20, cosine), version 15: 70.0%</title>');
    expect(svg).toContain('>server version</text>');
    expect(svg).toMatch(/>60%<\/text>/);
    expect(learningCurveLegend(s)).toContain('solid: this encoder, dashed: random init, dotted: raw pixels');
    expect(learningCurveLegend(s)).toContain('<i class="swatch c0"></i>kNN top-1 (k = 20, cosine)</span>');
    expect(learningCurveSvg([])).toBe('');
  });
});

describe('markdown for the model card', () => {
  it('renders headings, lists, tables, code and emphasis, escaping everything', () => {
    const html = markdownToHtml('# Title <x>\n\nA **bold** and *soft* `code` line\ncontinued.\n\n- one\n- two & three\n\n| a | b |\n|---|---|\n| `x\\|y` | <img src=x onerror=alert(1)> |\n\n```json\n{"a": "<b>"}\n```\n## Sub', 2);
    expect(html).toContain('<h3>Title &lt;x&gt;</h3>');
    expect(html).toContain('<p>A <strong>bold</strong> and <em>soft</em> <code>code</code> line continued.</p>');
    expect(html).toContain('<ul><li>one</li><li>two &amp; three</li></ul>');
    expect(html).toContain('<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><code>x|y</code></td><td>&lt;img src=x onerror=alert(1)&gt;</td></tr></tbody></table>');
    expect(html).toContain('<pre><code>{&quot;a&quot;: &quot;&lt;b&gt;&quot;}</code></pre>');
    expect(html).toContain('<h4>Sub</h4>');
    expect(html).not.toContain('<img');
  });
});
