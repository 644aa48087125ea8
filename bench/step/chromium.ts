/**
 * Debian's Chromium with Glimpse's unpacked extension, for benchmarks: headless, a fresh
 * user-data dir, the flags the project runs Chromium with (shared/notes: headless Chromium), and a
 * close that leaves nothing behind — the browser's whole process group is killed even when
 * Playwright's own close hangs. CPU time of the browser's process tree (Linux /proc) lets a step
 * be timed in CPU as Node's rows are: on a shared machine it counts the work, not the waiting.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.GLIMPSE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

export interface ExtensionBrowser {
  ctx: BrowserContext;
  extensionId: string;
  /** navigator.userAgent of the extension's service worker, with the full version (HeadlessChrome/156.0.8078.114 …). */
  userAgent: string;
  /** CPU ms used so far by every process of this browser, or undefined where /proc is missing. */
  cpuMs(): number | undefined;
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

function procStat(pid: number): ProcStat | null {
  try {
    // Fields after the parenthesised command name (which may hold spaces): state ppid pgrp … utime(14) stime(15).
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
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

/** The browser's root process: started with this profile, not a child type (--type=…), its parent not one too. */
function browserRoot(profileDir: string): number | null {
  const procs = allProcs();
  const matches = new Set<number>();
  for (const p of procs) {
    try {
      const args = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      if (args.includes(`--user-data-dir=${profileDir}`) && !args.some((a) => a.startsWith('--type='))) matches.add(p.pid);
    } catch {
      // gone meanwhile
    }
  }
  return procs.find((p) => matches.has(p.pid) && !matches.has(p.ppid))?.pid ?? null;
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
      cpuMs: () => {
        if (root === null) return undefined;
        const tree = treeOf(root, allProcs());
        return tree.length ? (tree.reduce((n, p) => n + p.cpuTicks, 0) * 1000) / CLOCK_TICKS : undefined;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
