/** Numbers in plain words for the popup and the pages. */

/** 4 200 000 → "4.2 MB", 67 000 → "67 kB", 512 → "512 B" (decimal units, as browsers and stores show sizes). */
export function formatBytes(n: number): string {
  if (!(n >= 1000)) return `${Math.max(0, Math.round(n || 0))} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) (v /= 1000), u++;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}

/** 0.4123 → "41 %". */
export const formatPercent = (x: number): string => `${Math.round(x * 100)} %`;

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
