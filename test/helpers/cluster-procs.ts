/**
 * Real processes for the multi-node tests and bench:scale: a private `redis-server` on a free
 * port in a temp dir, and glimpse-server cluster nodes (`server/cli.ts --redis …`) as child
 * processes. Every child runs in its own process group (detached) and is killed as a group, so
 * nothing outlives a test or a bench, whatever the children started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Proc {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** Sends `signal` to the child's whole process group (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Why the multi-node tests cannot run here, or null when redis-server is installed. */
export function redisMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'redis-server is not installed (Debian package redis-server; scripts/setup.sh --test installs it)';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function track(proc: ChildProcess): Proc {
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return {
    proc,
    exited,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        process.kill(-proc.pid!, signal);
      } catch {
        return;
      }
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited;
    },
  };
}

/** Resolves once `re` matches the child's output; rejects when it exits first or after `timeoutMs`. */
export function waitForOutput(p: Proc, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(p.output());
      if (m) {
        done();
        resolve(m);
      }
    };
    const t = setTimeout(() => {
      done();
      reject(new Error(`no ${re} within ${timeoutMs} ms:\n${p.output().slice(-3000)}`));
    }, timeoutMs);
    const onExit = () => {
      done();
      reject(new Error(`process exited before ${re}:\n${p.output().slice(-3000)}`));
    };
    const done = () => {
      clearTimeout(t);
      p.proc.stdout?.off('data', check);
      p.proc.stderr?.off('data', check);
      p.proc.off('exit', onExit);
    };
    p.proc.stdout?.on('data', check);
    p.proc.stderr?.on('data', check);
    p.proc.once('exit', onExit);
    check();
  });
}

/** A redis-server without persistence (the tests kill nodes, not Redis) on a free port in `dir`. */
export async function startRedis(dir: string, extra: string[] = []): Promise<Proc & { url: string }> {
  const port = await freePort();
  const p = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extra], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForOutput(p, /Ready to accept connections/, 15_000);
  return Object.assign(p, { url: `redis://127.0.0.1:${port}` });
}

/**
 * A cluster node: `server/cli.ts --redis url …args`; resolves with its URL once it listens.
 * `nodeArgs` go to node itself (e.g. `--cpu-prof`, whose profile is written only on a graceful exit).
 */
export async function startNode(args: string[], o: { nice?: number; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<Proc & { url: string }> {
  const argv = [process.execPath, ...(o.nodeArgs ?? []), '--import', 'tsx', 'server/cli.ts', '--port', '0', '--log-format', 'json', ...args];
  const proc = o.nice ? spawn('nice', ['-n', String(o.nice), ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track(proc);
  const m = await waitForOutput(p, /listening on (http:\/\/\S+)/, o.timeoutMs ?? 45_000);
  return Object.assign(p, { url: m[1] });
}
