/** The local calendar day `YYYY-MM-DD` of an epoch-ms time: daily budgets and "today" counters reset with it. */
export function localDay(now: number): string {
  const d = new Date(now);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
