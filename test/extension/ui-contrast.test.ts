/**
 * The extension's colours against WCAG 2.1: text 4.5:1 (1.4.3), control borders and the other
 * visual parts of controls 3:1 (1.4.11), in the light and the dark theme; and disabled buttons
 * styled apart from enabled ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const css = readFileSync(join(process.cwd(), 'extension/popup/ui.css'), 'utf8');

function themes(): Record<'light' | 'dark', Record<string, string>> {
  const vars = (block: string) => Object.fromEntries([...block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));
  const dark = css.slice(css.indexOf('prefers-color-scheme: dark'));
  const light = css.slice(0, css.indexOf('@media'));
  return { light: vars(light), dark: { ...vars(light), ...vars(dark) } };
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};

describe('ui.css contrast (WCAG 2.1)', () => {
  for (const [name, v] of Object.entries(themes())) {
    it(`${name} theme: text 4.5:1, control borders 3:1`, () => {
      for (const fg of ['fg', 'muted', 'accent', 'ok', 'err', 'warn']) expect(contrast(v[fg], v.bg), `${fg} on bg`).toBeGreaterThanOrEqual(4.5);
      expect(contrast(v.bg, v.accent), 'button text on accent').toBeGreaterThanOrEqual(4.5);
      expect(contrast(v.control, v.bg), 'input borders').toBeGreaterThanOrEqual(3);
      expect(contrast(v['disabled-fg'], v['disabled-bg']), 'disabled button text').toBeGreaterThanOrEqual(4.5);
    });
  }

  it('inputs use the control border, and disabled buttons have their own look', () => {
    expect(css).toMatch(/input\[type=text\][^{]*\{[^}]*border: 1px solid var\(--control\)/);
    const disabled = /button:disabled[^{]*\{([^}]*)\}/.exec(css)?.[1] ?? '';
    expect(disabled).toMatch(/background: var\(--disabled-bg\)/);
    expect(disabled).toMatch(/dashed/);
    expect(disabled).toMatch(/cursor: not-allowed/);
  });
});
