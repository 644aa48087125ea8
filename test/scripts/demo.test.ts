/**
 * `npm start` end to end, small: the real demo script (server, evaluator, two contributor
 * processes on wasm) on the committed fixture for 4 versions. It stops by itself, waits for the
 * budget's last version to be evaluated, and its final line says where that version stands.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

it('runs a federated session to its version budget, evaluates the last version and reports it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'glimpse-demo-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--fresh', '--data-dir', path.join(dir, 'demo'), '--port', '0', '--versions', '4', '--eval-every', '2', '--data', 'fixture'], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  try {
    // Bounded here, not by vitest's timeout, so the group is killed even when the demo hangs.
    const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 300_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    expect(code, out).toBe(0);
    expect(out).toMatch(/reached 4 new versions: stopping contributors/);
    // A new run starts from the evaluator's random-init encoder: version 0 scores exactly that bar.
    const v0 = /^eval\s+0\s+\[[^\]]+\] kNN (\d+\.\d)% \(random init (\d+\.\d)%/m.exec(out);
    expect(v0, out).not.toBeNull();
    expect(v0![1]).toBe(v0![2]);
    expect(out).toMatch(/^eval\s+4\s+\[subset 2000\/1000\] kNN \d+\.\d% \(random init \d+\.\d%, raw pixels \d+\.\d%\)/m);
    // The final line is about version 4, not an earlier one, and says where it stands.
    expect(out).toMatch(/where the encoder stands \(version 4, SUBSET of glimpse-fmnist-v1 .*\): \+?\d+\.\d points (over|under) random init \(paired z -?\d+\.\d\), (above|below) raw pixels \([+-]\d+\.\d points, paired z -?\d+\.\d\)\. Learning curve: /);
    expect(out).toMatch(/stopped at version [45]; resume with npm start/);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the whole group: the contributors too, if anything is left
    } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
}, 330_000);
