/**
 * Failpoints for crash testing (the etcd/gofail idea): named places where the process can be told
 * to SIGKILL itself. Off unless GLIMPSE_FAILPOINTS is set, e.g.
 *   GLIMPSE_FAILPOINTS="checkpoint:before-rename=0.2,submit:after-persist=0.05"
 * Each name fires with its probability every time it is reached. Never set in production.
 */
const table: Map<string, number> = parse(typeof process !== 'undefined' ? process.env.GLIMPSE_FAILPOINTS : undefined);

function parse(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, p] = part.split('=');
    out.set(name, p === undefined ? 1 : Number(p));
  }
  return out;
}

export function failpoint(name: string): void {
  if (failpointDrawn(name)) process.kill(process.pid, 'SIGKILL');
}

/** Draws whether `name` fires, without killing: for failpoints that do damage first (a torn write). */
export function failpointDrawn(name: string): boolean {
  const p = table.get(name);
  return p !== undefined && Math.random() < p;
}
