/** Shared helpers of the server tests: a tiny model, temp data dirs, clients, deterministic deltas. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FederationClient, type FederationClientOptions } from '../../shared/protocol/client';
import type { WeightMap } from '../../shared/weights/weight-map';
import { startServer, type RunningServer, type StartOptions } from '../../server/server';
import { mulberry32 } from '../../shared/data/rng';

/** A BYOL model with ~9k parameters: the real architecture, tiny widths. */
export const TINY_METHOD_CONFIG = { encoder: { widths: [8, 8, 8], stemWidth: 8 }, projectionHidden: 16, projectionDim: 8 };

export function tempDir(prefix = 'glimpse-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTiny(config: StartOptions = {}): Promise<RunningServer & { cleanup: () => Promise<void> }> {
  const t = config.dataDir ? null : tempDir();
  const s = await startServer({
    port: 0, host: '127.0.0.1', method: 'byol', methodConfig: TINY_METHOD_CONFIG, log: false, localSteps: 2, batchSize: 8,
    ...config, dataDir: config.dataDir ?? t!.dir,
  });
  return Object.assign(s, {
    cleanup: async () => {
      await s.close();
      t?.cleanup();
    },
  });
}

export async function connectClient(url: string, o: Partial<FederationClientOptions> = {}): Promise<FederationClient> {
  const c = new FederationClient({ url, clientKind: 'node', backend: 'cpu', requestTimeoutMs: 10_000, submitTimeoutMs: 10_000, ...o });
  await c.connect();
  return c;
}

/** Deterministic pseudo-random numbers: the project's one seeded generator. */
export const rng = mulberry32;

/** A delta with the names/shapes of `like` (online names only), values uniform in ±scale. */
export function randomDelta(like: WeightMap, seed: number, scale = 1e-2): WeightMap {
  const r = rng(seed);
  const out: WeightMap = new Map();
  for (const [name, t] of like) {
    const d = new Float32Array(t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = (r() * 2 - 1) * scale;
    out.set(name, { shape: [...t.shape], data: d });
  }
  return out;
}

export function onlineOnly(global: WeightMap): WeightMap {
  return new Map([...global].filter(([n]) => !n.startsWith('target/')));
}

export function maxAbsDiff(a: Float32Array | number[], b: Float32Array | number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function sameBits(a: WeightMap, b: WeightMap): boolean {
  if (a.size !== b.size) return false;
  for (const [n, t] of a) {
    const u = b.get(n);
    if (!u || u.data.length !== t.data.length) return false;
    const x = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const y = new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/*
 * Indicator deltas for exactly-once checks (crash and cluster tests): update k adds 1 to exactly one
 * coordinate of the online weights, so the final weights say which updates were folded, and how
 * many times each.
 */

/** Flattened coordinate k ↔ (weight name, index) in the server's online order. */
export function coordinates(online: WeightMap): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [name, t] of online) for (let i = 0; i < t.data.length; i++) out.push([name, i]);
  return out;
}

/** A delta of zeros with a single 1 at `coord`. */
export function indicatorDelta(online: WeightMap, coord: [string, number]): WeightMap {
  const d: WeightMap = new Map();
  for (const [name, t] of online) d.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
  d.get(coord[0])!.data[coord[1]] = 1;
  return d;
}
