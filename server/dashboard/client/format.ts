/** Formatting and DOM helpers of the admin dashboard's client. */

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
export const nf0 = new Intl.NumberFormat();

export function bytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(n) : nf1.format(n)} ${u[i]}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "… ago" on the server's clock (`skew`: server clock minus ours, ms). */
export const ago = (at: number, skew: number) => `${duration(Date.now() + skew - at)} ago`;
export const clock = (at: number) => new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const pct = (x: number) => `${nf1.format(x * 100)}%`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function shortId(id: string): string {
  if (id.startsWith('anon:')) return 'anonymous';
  return id.length > 18 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}
