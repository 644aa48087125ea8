/** The client must bundle for browsers and workers: no Node built-ins anywhere in its graph. */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('FederationClient bundle', () => {
  it('builds for the browser platform without Node built-ins', async () => {
    const r = await build({
      entryPoints: ['shared/protocol/client.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile!.inputs);
    expect(inputs.some((p) => p.startsWith('node:'))).toBe(false);
    expect(inputs).toContain('shared/weights/codec.ts');
    expect(r.outputFiles[0].text).not.toMatch(/require\(["'](fs|path|zlib|crypto|net|http)["']\)/);
  });
});
