/** `seed`: a new run's version 0 is reproducible; without it every run starts from fresh weights. */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../server/config';
import { ConfigError } from '../../server/errors';
import { parseCli } from '../../server/cli';
import { connectClient, sameBits, startTiny } from './helpers';

async function versionZero(seed?: number) {
  const srv = await startTiny({ seed });
  try {
    const c = await connectClient(srv.url);
    const { weights } = await c.pullWeights(0);
    c.close();
    return weights;
  } finally {
    await srv.cleanup();
  }
}

describe('seeded runs', () => {
  it('the same seed gives bit-identical initial weights (online and target); another seed or none does not', async () => {
    const a = await versionZero(1234);
    const b = await versionZero(1234);
    const c = await versionZero(1235);
    const d = await versionZero();
    expect([...a.keys()].some((n) => n.startsWith('target/'))).toBe(true);
    expect(sameBits(a, b)).toBe(true);
    expect(sameBits(a, c)).toBe(false);
    expect(sameBits(a, d)).toBe(false);
  });

  it('is validated and reachable from the CLI', () => {
    expect(() => resolveConfig({ seed: -1 })).toThrow(ConfigError);
    expect(() => resolveConfig({ seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(parseCli(['--seed', '42'], {})).toMatchObject({ seed: 42 });
    expect(() => parseCli(['--seed', 'x'], {})).toThrow("--seed expects an integer, got 'x'");
  });
});
