import { describe, expect, it } from 'vitest';
import { qualityChartSvg } from '../../bench/quality/chart';
import { pointNear, type Curve } from '../../bench/quality/curves';

const point = (examples: number, knn: number) => ({ examples, knn_top1: knn, embedding_std: 0.01, trainSeconds: 0 });

describe('bench:quality chart', () => {
  it('draws one line per curve and the raw-pixel / random-init bars, escaped, as a standalone SVG', () => {
    const curves: Curve[] = [
      { method: 'simclr', setting: 'centralized', points: [point(0, 0.74), point(5000, 0.75), point(10000, 0.76)] },
      { method: 'simclr', setting: 'PyTorch peer <torch>', points: [point(0, 0.73), point(10000, 0.77)] },
    ];
    const svg = qualityChartSvg(curves, [{ label: 'raw pixels', y: 0.78 }, { label: 'random init', y: 0.74 }], 'kNN & friends');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg.match(/<circle/g)?.length).toBe(5);
    expect(svg).toContain('raw pixels 78.0%');
    expect(svg).toContain('kNN &amp; friends');
    expect(svg).toContain('PyTorch peer &lt;torch&gt;');
    expect(svg).not.toContain('<torch>');
    expect(qualityChartSvg([], [], 'empty')).toBe('');
  });
});

describe('bench:quality checkpoints', () => {
  it('matches a federated round boundary (5,120) to the 5,000 checkpoint, the nearest point when two qualify, none when far', () => {
    const pts = [point(0, 0.74), point(3840, 0.75), point(5120, 0.76), point(10240, 0.77)];
    expect(pointNear(pts, 5000)?.examples).toBe(5120);
    expect(pointNear([point(4992, 0.7), point(5120, 0.71)], 5000)?.examples).toBe(4992);
    expect(pointNear(pts, 0)?.examples).toBe(0);
    expect(pointNear(pts, 7500)).toBeUndefined();
  });
});
