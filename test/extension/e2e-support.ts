/**
 * What the Chromium e2e (e2e.test.ts) needs besides the test itself: launching Debian's Chromium
 * with an unpacked extension, reading WebSocket frames off the server's side of the wire, and the
 * memory of the extension's renderer processes.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type BrowserContext, type CDPSession } from 'playwright-core';

export const CHROMIUM = process.env.GLIMPSE_CHROMIUM ?? '/usr/bin/chromium';

/** A persistent headless context with the unpacked extension at `extDir` (see shared/notes: headless Chromium). */
export function launchWithExtension(profileDir: string, extDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [
      '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--enable-unsafe-webgpu', `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`,
    ],
  });
}

/**
 * Resident memory (kB) of the extension renderer processes of the browser started with
 * `profileDir` (found by its --user-data-dir, then its process tree): the offscreen document and
 * its training worker live there.
 */
export function extensionRendererRssKb(profileDir: string): number {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rss: Number(m[3]), args: m[4] }));
  const root = rows.find((r) => r.args.includes(`--user-data-dir=${profileDir}`) && !r.args.includes('--type='));
  if (!root) return 0;
  const tree = new Set([root.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) if (!tree.has(r.pid) && tree.has(r.ppid)) (tree.add(r.pid), (grew = true));
  }
  return rows.filter((r) => tree.has(r.pid) && r.args.includes('--extension-process')).reduce((n, r) => n + r.rss, 0);
}

/** Polls `fn` until it returns something truthy. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number, context: () => Promise<unknown> = async () => ''): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}; ${JSON.stringify(await context().catch(() => null))}`);
}

export interface Tap {
  /** Raw bytes received on each TCP connection (HTTP upgrade request, then WebSocket frames). */
  conns: Buffer[][];
  origins: string[];
}

export interface Wire {
  headers: string;
  text: string[];
  binary: Buffer[];
  control: number;
  /** Bytes that were neither headers nor a complete frame (must be 0). */
  leftover: number;
}

/**
 * Splits one connection's client→server bytes into the HTTP upgrade request and WebSocket
 * messages (RFC 6455 §5.2; client frames are masked, so unmask them to see what was sent).
 */
export function parseWebSocketStream(buf: Buffer): Wire {
  const end = buf.indexOf('\r\n\r\n');
  const w: Wire = { headers: buf.subarray(0, end + 4).toString('latin1'), text: [], binary: [], control: 0, leftover: 0 };
  let i = end + 4;
  let parts: Buffer[] = [];
  let opcode = 0;
  while (i < buf.length) {
    if (i + 2 > buf.length) break;
    const b0 = buf[i];
    const b1 = buf[i + 1];
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) (len = buf.readUInt16BE(p)), (p += 2);
    else if (len === 127) (len = Number(buf.readBigUInt64BE(p))), (p += 8);
    const mask = b1 & 0x80 ? buf.subarray(p, (p += 4)) : null;
    if (p + len > buf.length) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (mask) for (let k = 0; k < payload.length; k++) payload[k] ^= mask[k & 3];
    i = p + len;
    const op = b0 & 0x0f;
    if (op >= 8) {
      w.control++;
      continue;
    }
    if (op !== 0) opcode = op;
    parts.push(payload);
    if (b0 & 0x80) {
      const msg = Buffer.concat(parts);
      parts = [];
      if (opcode === 1) w.text.push(msg.toString('utf8'));
      else w.binary.push(msg);
    }
  }
  w.leftover = buf.length - i;
  return w;
}


/**
 * Counts the dedicated Web Workers of the page target whose URL ends with `urlSuffix` (e.g. the
 * offscreen document's training worker). Browser-level target lists leave dedicated workers out,
 * so this attaches to the page and has it report its workers (auto-attach, unflattened session).
 */
export async function watchDedicatedWorkers(cdp: CDPSession, urlSuffix: string): Promise<{ count(): number }> {
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; url: string }[] };
  const target = targetInfos.find((t) => t.url.endsWith(urlSuffix));
  if (!target) throw new Error(`no target ending in ${urlSuffix}`);
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
  const workers = new Set<string>();
  cdp.on('Target.receivedMessageFromTarget', (e: { sessionId: string; message: string }) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message) as { method?: string; params?: { targetInfo?: { type: string; targetId: string }; targetId?: string } };
    if (m.method === 'Target.attachedToTarget' && m.params?.targetInfo?.type === 'worker') workers.add(m.params.targetInfo.targetId);
    if (m.method === 'Target.detachedFromTarget' && m.params?.targetId) workers.delete(m.params.targetId);
  });
  await cdp.send('Target.sendMessageToTarget', {
    sessionId,
    message: JSON.stringify({ id: 1, method: 'Target.setAutoAttach', params: { autoAttach: true, waitForDebuggerOnStart: false, flatten: false } }),
  });
  return { count: () => workers.size };
}

/**
 * Collects the console lines of the page target whose URL ends with `urlSuffix` (e.g. the
 * offscreen document, whose trainer logs each decision), for a failing test's message.
 */
export async function captureConsole(cdp: CDPSession, urlSuffix: string): Promise<string[]> {
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; url: string }[] };
  const target = targetInfos.find((t) => t.url.endsWith(urlSuffix));
  if (!target) throw new Error(`no target ending in ${urlSuffix}`);
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
  const lines: string[] = [];
  cdp.on('Target.receivedMessageFromTarget', (e: { sessionId: string; message: string }) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message) as { method?: string; params?: { args?: { value?: unknown; description?: string }[] } };
    if (m.method === 'Runtime.consoleAPICalled') lines.push((m.params?.args ?? []).map((a) => String(a.value ?? a.description ?? '')).join(' '));
  });
  await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.enable' }) });
  return lines;
}
