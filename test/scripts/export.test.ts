/**
 * `glimpse export` on a stopped run: a real glimpse-server process and a real contributor process
 * make two versions (with kNN evaluations), the server stops, and the export writes — from the
 * checkpoint and the SQLite history alone — the bytes the server served, the ONNX file where
 * Python with torch exists, and the model card. Every child prints no tfjs "install tfjs-node"
 * banner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../server/model/python';

const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;
const TINY = JSON.stringify({ encoder: { widths: [8, 8, 8], stemWidth: 8 }, projectionHidden: 16, projectionDim: 8 });
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A `node --import tsx` child in its own process group, its stdout+stderr collected. */
function start(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function run(args: string[], timeoutMs = 180_000): Promise<{ code: number | null; output: string }> {
  const c = start(args);
  const timer = setTimeout(() => process.kill(-c.proc.pid!, 'SIGKILL'), timeoutMs);
  const code = await c.exited;
  clearTimeout(timer);
  return { code, output: c.output() };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('glimpse export', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'glimpse-export-'));
  const dataDir = join(tmp, 'data');
  const served = new Map<string, Uint8Array>();
  const outputs: Record<string, string> = {};
  let server: Child | null = null;

  beforeAll(async () => {
    server = start(['server/cli.ts', '--port', '0', '--data-dir', dataDir, '--method', 'simclr', '--method-config', TINY, '--buffer-size', '1',
      '--local-steps', '2', '--batch-size', '8', '--eval', 'fixture', '--eval-every', '1', '--log-format', 'json']);
    const url = await until('the server URL', () => /"url":"(http:\/\/[^"]+)"/.exec(server!.output())?.[1]);
    const contributor = await run(['scripts/glimpse.ts', 'contribute', '--server', url, '--rounds', '2', '--data', 'fixture', '--seed', '3']);
    outputs.contributor = contributor.output;
    expect(contributor.code, contributor.output).toBe(0);
    // Both versions evaluated (version 0, the random init, too).
    await until('evaluations', async () => {
      const s = (await (await fetch(`${url}/api/status`)).json()) as { version: number; eval: { version: number } | null };
      return s.version === 2 && s.eval?.version === 2 ? true : undefined;
    });
    for (const name of ['model.json', 'weights.v2.bin', 'encoder.safetensors']) {
      served.set(name, new Uint8Array(await (await fetch(`${url}/api/encoder/2/${name}`)).arrayBuffer()));
    }
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    outputs.server = server.output();
  });
  afterAll(() => {
    if (server?.proc.exitCode === null) process.kill(-server.proc.pid!, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes the served files, ONNX where possible and the model card from the stopped run', async () => {
    const out = join(tmp, 'export-latest');
    const r = await run(['scripts/glimpse.ts', 'export', '--data-dir', dataDir, '--out', out]);
    outputs.export = r.output;
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`exported encoder version 2 (online encoder) to ${out}`);
    const torch = await findTorchPython();
    expect(readdirSync(out).sort()).toEqual(['MODEL_CARD.md', 'encoder.safetensors', ...(torch ? ['encoder.onnx'] : []), 'model.json', 'weights.v2.bin'].sort());
    for (const [name, bytes] of served) expect(sha(readFileSync(join(out, name))), name).toBe(sha(bytes));
    const card = readFileSync(join(out, 'MODEL_CARD.md'), 'utf8');
    for (const name of readdirSync(out).filter((n) => n !== 'MODEL_CARD.md')) {
      expect(card, name).toContain(`| \`${name}\` | ${readFileSync(join(out, name)).byteLength.toLocaleString('en-US')} | \`${sha(readFileSync(join(out, name)))}\` |`);
    }
    expect(card).toContain('# Glimpse image encoder — version 2');
    expect(card).toContain('**Contributors:** 1; **updates folded:** 2 into 2 server versions; **examples behind them:** 32.');
    expect(card).toContain('Contributors by client: 1 Node.');
    expect(card).toMatch(/\| kNN top-1 \(k = 20, cosine\) \| \d+\.\d% \|/);
    // The scheduler skips to the newest version when it falls behind: count what it recorded.
    const db = new Database(join(dataDir, 'glimpse.db'), { readonly: true, fileMustExist: true });
    const evaluated = (db.prepare('SELECT COUNT(DISTINCT version) AS n FROM evals').get() as { n: number }).n;
    db.close();
    expect(card).toContain(`Measured on version 2 (`);
    expect(card).toContain(`; ${evaluated} evaluation${evaluated === 1 ? '' : 's'} so far)`);
  });

  it('exports an older kept version; names the kept ones when asked for another', async () => {
    const out = join(tmp, 'export-v1');
    const r = await run(['scripts/glimpse.ts', 'export', '--data-dir', dataDir, '--version', '1', '--no-onnx', '--out', out, '--license', 'CC-BY-4.0']);
    expect(r.code, r.output).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['MODEL_CARD.md', 'encoder.safetensors', 'model.json', 'weights.v1.bin']);
    const card = readFileSync(join(out, 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('**updates folded:** 1 into 1 server versions');
    expect(card).toContain('CC-BY-4.0');
    const bad = await run(['scripts/glimpse.ts', 'export', '--data-dir', dataDir, '--version', '9', '--out', join(tmp, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.output.trim()).toBe(`error: no checkpoint of version 9 in ${dataDir} (kept: 0, 1, 2)`);
    const none = await run(['scripts/glimpse.ts', 'export', '--data-dir', join(tmp, 'nothing'), '--out', join(tmp, 'y')]);
    expect(none.code).toBe(2);
    expect(none.output).toMatch(/^error: no checkpoints in .*nothing\/checkpoints: is .* a Glimpse data directory/);
  });

  it('no child printed the tfjs-node banner', () => {
    for (const [who, text] of Object.entries(outputs)) expect(text, who).not.toMatch(BANNER);
    expect(Object.keys(outputs).sort()).toEqual(['contributor', 'export', 'server']);
  });
});
