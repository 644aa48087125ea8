/**
 * scripts/setup.sh, the README's first step: apt-get only for missing packages, through sudo only
 * when not root (a root-only machine has no sudo), a clear error without either, then npm ci.
 * Runs the real script against logging stand-ins for dpkg-query, apt-get, sudo, id and npm.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ALL = 'dataset-fashion-mnist clang-16 lld-16 chromium python3-torch python3-pytest python3-pip python3-setuptools python3-wheel redis-server libopenblas0-pthread';

describe('scripts/setup.sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'glimpse-setup-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'repo', 'scripts'), { recursive: true });
  copyFileSync('scripts/setup.sh', join(root, 'repo', 'scripts', 'setup.sh'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const tool of ['dirname', 'grep']) symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
  const shim = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  shim('dpkg-query', 'for p in $INSTALLED; do [ "$p" = "${@: -1}" ] && { printf "install ok installed"; exit 0; }; done; exit 1');
  shim('id', 'echo "$FAKE_UID"');
  shim('apt-get', 'echo "apt-get $*" >> "$LOG"');
  shim('npm', 'echo "npm $*" >> "$LOG"');
  const sudoShim = 'echo -n "sudo " >> "$LOG"; exec "$@"';

  function setup(args: string[], o: { installed: string; uid: number; sudo: boolean }) {
    const log = join(root, `log-${Math.random().toString(36).slice(2)}`);
    writeFileSync(log, '');
    if (o.sudo) shim('sudo', sudoShim);
    else rmSync(join(bin, 'sudo'), { force: true });
    const r = spawnSync('/bin/bash', [join(root, 'repo', 'scripts', 'setup.sh'), ...args], {
      encoding: 'utf8', env: { PATH: bin, LOG: log, INSTALLED: o.installed, FAKE_UID: String(o.uid) },
    });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, log: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
  }

  it('as root with everything installed: only npm ci', () => {
    const r = setup(['--test'], { installed: ALL, uid: 0, sudo: false });
    expect(r.status, r.stderr).toBe(0);
    expect(r.log).toEqual(['npm ci --no-audit --no-fund']);
  });

  it('as root: installs just the missing packages with apt-get, no sudo', () => {
    const r = setup(['--test'], { installed: 'dataset-fashion-mnist clang-16 lld-16 chromium python3-pip python3-setuptools python3-wheel redis-server libopenblas0-pthread', uid: 0, sudo: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.log).toEqual(['apt-get update -qq', 'apt-get install -y -qq python3-torch python3-pytest', 'npm ci --no-audit --no-fund']);
    // The main job needs the dataset and the compilers of the SIMD kernels.
    expect(setup([], { installed: '', uid: 0, sudo: false }).log).toEqual(['apt-get update -qq', 'apt-get install -y -qq dataset-fashion-mnist clang-16 lld-16', 'npm ci --no-audit --no-fund']);
  });

  it('as a user: through sudo; without sudo a one-line error and nothing run', () => {
    const r = setup([], { installed: '', uid: 1000, sudo: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.log).toEqual(['sudo apt-get update -qq', 'sudo apt-get install -y -qq dataset-fashion-mnist clang-16 lld-16', 'npm ci --no-audit --no-fund']);
    const no = setup([], { installed: '', uid: 1000, sudo: false });
    expect(no.status).toBe(1);
    expect(no.stderr.trim()).toBe('setup: need root or sudo to install: dataset-fashion-mnist clang-16 lld-16');
    expect(no.log).toEqual([]);
    expect(setup(['--bogus'], { installed: ALL, uid: 0, sudo: false }).status).toBe(2);
  });
});
