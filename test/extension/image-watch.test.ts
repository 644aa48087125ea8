import { describe, expect, it } from 'vitest';
import { isPictureSized, reportableUrl } from '../../extension/content/image-watch';

describe('content script image filters', () => {
  it('reports http(s) and raster data URLs only', () => {
    expect(reportableUrl('https://a.com/p.jpg')).toBe('https://a.com/p.jpg');
    expect(reportableUrl('http://127.0.0.1:9/x.png')).toBe('http://127.0.0.1:9/x.png');
    expect(reportableUrl('data:image/png;base64,AAA')).toBe('data:image/png;base64,AAA');
    for (const u of ['', 'blob:https://a.com/1', 'file:///x.png', 'data:image/svg+xml,<svg/>', 'https://a.com/logo.svg', 'https://a.com/logo.SVG?v=2', 'chrome-extension://x/i.png']) {
      expect(reportableUrl(u)).toBeNull();
    }
  });

  it('skips icons, spacers and banners', () => {
    const big = { w: 300, h: 200 };
    expect(isPictureSized(big, big)).toBe(true);
    expect(isPictureSized({ w: 32, h: 32 }, big)).toBe(false); // upscaled icon
    expect(isPictureSized(big, { w: 40, h: 30 })).toBe(false); // thumbnail rendered tiny
    expect(isPictureSized({ w: 1, h: 1 }, { w: 1, h: 1 })).toBe(false); // tracking pixel
    expect(isPictureSized({ w: 1200, h: 100 }, { w: 1200, h: 100 })).toBe(false); // banner
  });
});

import { sparklinePoints } from '../../extension/popup/sparkline';

describe('loss sparkline', () => {
  it('scales values into the box, highest loss at the top', () => {
    const s = sparklinePoints([2, 1, 0], 100, 20, 0);
    expect(s.points).toBe('0.0,0.0 50.0,10.0 100.0,20.0');
    expect(s.label).toMatch(/3 steps, latest 0\.000/);
  });
  it('draws nothing for fewer than two finite values', () => {
    expect(sparklinePoints([NaN, 1]).points).toBe('');
    expect(sparklinePoints([]).label).toBe('No loss recorded yet');
  });
});
