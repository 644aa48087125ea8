/**
 * Debian's Chromium with Glimpse's unpacked extension, for benchmarks: headless, a fresh
 * user-data dir, the flags the project runs Chromium with (shared/notes: headless Chromium), and a
 * close that leaves nothing behind — the browser's whole process group is killed even when
 * Playwright's own close hangs. CPU time of the browser's process tree, or of its threads of one
 * name (Linux /proc), lets a step be timed in CPU as Node's rows are: on a shared machine it
 * counts the work, not the waiting.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.GLIMPSE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

export interface ExtensionBrowser {
  ctx: BrowserContext;
  extensionId: string;
  /** navigator.userAgent of the extension's service worker, with the full version (HeadlessChrome/156.0.8078.114 …). */
  userAgent: string;
  /** This browser's own profile folder: every one of its processes names it in its arguments. */
  profileDir: string;
  /** CPU ms used so far by every process of this browser, or undefined where /proc is missing. */
  cpuMs(): number | undefined;
  /** CPU ms used so far by this browser's threads named `name` (e.g. 'DedicatedWorker'), or undefined. */
  threadCpuMs(name: string): number | undefined;
  /** Closes the browser (bounded wait), kills its process group, removes the profile. Never throws. */
  close(): Promise<void>;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  cpuTicks: number;
}

function procStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | null {
  try {
    // Fields after the parenthesised command name (which may hold spaces): state ppid pgrp … utime(14) stime(15).
    const s = readFileSync(file, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

function allProcs(): ProcStat[] {
  try {
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => procStat(Number(d))).filter((p): p is ProcStat => p !== null);
  } catch {
    return [];
  }
}

/** A process's arguments, or null when it is gone (a zombie's are empty). */
function argsOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null; // gone meanwhile
  }
}

/** The browser's root process: started with this profile, not a child type (--type=…), its parent not one too. */
function browserRoot(profileDir: string): number | null {
  const procs = allProcs();
  const matches = new Set<number>();
  for (const p of procs) {
    const args = argsOf(p.pid);
    if (args?.includes(`--user-data-dir=${profileDir}`) && !args.some((a) => a.startsWith('--type='))) matches.add(p.pid);
  }
  return procs.find((p) => matches.has(p.pid) && !matches.has(p.ppid))?.pid ?? null;
}

/** Every live process started with this profile (any --type), by its arguments. */
function profileProcs(profileDir: string): number[] {
  return allProcs().map((p) => p.pid).filter((pid) => argsOf(pid)?.some((a) => a.includes(profileDir)) ?? false);
}

function treeOf(root: number, procs: ProcStat[]): ProcStat[] {
  const pids = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!pids.has(p.pid) && pids.has(p.ppid)) (pids.add(p.pid), (grew = true));
  }
  return procs.filter((p) => pids.has(p.pid));
}

export async function launchExtensionBrowser(extDir: string, o: { launchTimeoutMs?: number } = {}): Promise<ExtensionBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), 'glimpse-bench-chromium-'));
  let root: number | null = null;
  let ctx: BrowserContext | null = null;
  const close = async () => {
    root ??= browserRoot(profileDir);
    if (ctx) await Promise.race([ctx.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
    // Playwright starts the browser as its own process-group leader; kill that group only (never ours).
    const leader = root === null ? null : procStat(root);
    if (root !== null && leader && leader.pgrp === root && root !== process.pid) {
      try {
        process.kill(-root, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Then any process of this profile outside that group (or whose root was not found), and wait
    // (bounded) until they are gone: a killed process on a loaded machine takes a moment to exit.
    const deadline = Date.now() + 10_000;
    for (let left = profileProcs(profileDir); left.length && Date.now() < deadline; left = profileProcs(profileDir)) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(profileDir, { recursive: true, force: true });
  };
  try {
    ctx = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: o.launchTimeoutMs ?? 60_000,
      ignoreDefaultArgs: ['--disable-extensions'],
      // Running as root needs --no-sandbox; --enable-unsafe-webgpu gives WebGPU an adapter
      // (SwiftShader where there is no GPU).
      args: ['--no-sandbox', ...CHROMIUM_FLAGS, '--enable-unsafe-webgpu', `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`],
    });
    root = browserRoot(profileDir);
    const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker', { timeout: 30_000 }));
    const extensionId = new URL(sw.url()).host;
    // The user agent string is reduced (Chrome/156.0.0.0); the full version is a high-entropy hint.
    const userAgent = await sw.evaluate(async () => {
      const data = (navigator as { userAgentData?: { getHighEntropyValues(h: string[]): Promise<{ uaFullVersion?: string }> } }).userAgentData;
      const full = (await data?.getHighEntropyValues(['uaFullVersion']).catch(() => null))?.uaFullVersion;
      return full ? navigator.userAgent.replace(/Chrome\/[\d.]+/, `Chrome/${full}`) : navigator.userAgent;
    });
    return {
      ctx,
      extensionId,
      userAgent,
      profileDir,
      cpuMs: () => {
        if (root === null) return undefined;
        const tree = treeOf(root, allProcs());
        return tree.length ? (tree.reduce((n, p) => n + p.cpuTicks, 0) * 1000) / CLOCK_TICKS : undefined;
      },
      threadCpuMs: (name) => {
        if (root === null) return undefined;
        let ticks = 0;
        let found = false;
        for (const p of treeOf(root, allProcs())) {
          try {
            for (const tid of readdirSync(`/proc/${p.pid}/task`)) {
              if (!readFileSync(`/proc/${p.pid}/task/${tid}/comm`, 'utf8').startsWith(name)) continue;
              ticks += procStat(Number(tid), `/proc/${p.pid}/task/${tid}/stat`)?.cpuTicks ?? 0;
              found = true;
            }
          } catch {
            // the process ended meanwhile
          }
        }
        return found ? (ticks * 1000) / CLOCK_TICKS : undefined;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * A comlink endpoint for the extension's worker, written out by hand (the page cannot import
 * comlink): `APPLY` messages in, `RAW` results or a `throw` handler back. A string, so that no
 * bundler helper leaks into the function Playwright sends to the page.
 */
export const PAGE_RPC = `(() => {
  const workers = new Map();
  let next = 0;
  globalThis.glimpseBench = {
    spawn() {
      const id = next++;
      const worker = new Worker(chrome.runtime.getURL('worker.js'), { type: 'module', name: 'glimpse-bench' });
      const pending = new Map();
      worker.addEventListener('message', (e) => {
        const p = pending.get(e.data && e.data.id);
        if (!p) return;
        pending.delete(e.data.id);
        if (e.data.type === 'HANDLER' && e.data.name === 'throw') p.reject(new Error(String(e.data.value.value && e.data.value.value.message || e.data.value.value)));
        else p.resolve(e.data.value);
      });
      worker.addEventListener('error', (e) => {
        for (const p of pending.values()) p.reject(new Error('worker error: ' + (e.message || 'failed to load')));
        pending.clear();
      });
      workers.set(id, { worker, pending });
      return id;
    },
    call(id, name, args) {
      const w = workers.get(id);
      if (!w) return Promise.reject(new Error('no worker ' + id));
      return new Promise((resolve, reject) => {
        const callId = String(Math.random()).slice(2) + '-' + performance.now();
        w.pending.set(callId, { resolve, reject });
        w.worker.postMessage({ id: callId, type: 'APPLY', path: [name], argumentList: args.map((value) => ({ type: 'RAW', value })) });
      });
    },
    terminate(id) {
      const w = workers.get(id);
      if (!w) return;
      w.worker.terminate();
      for (const p of w.pending.values()) p.reject(new Error('terminated'));
      workers.delete(id);
    },
  };
  return true;
})()`;

/** Calls `name(...args)` on worker `worker` of a page where PAGE_RPC was evaluated. */
export function workerCall<T>(page: Page, worker: number, name: string, args: unknown[]): Promise<T> {
  return page.evaluate(`glimpseBench.call(${worker}, ${JSON.stringify(name)}, ${JSON.stringify(args)})`) as Promise<T>;
}
