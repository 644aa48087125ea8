/**
 * Is encoder A really better than B (or than raw pixels) on this split, or is the difference noise?
 * Two classifiers scored on the *same* queries are compared pair by pair (McNemar 1947): only the
 * queries exactly one of them gets right carry information. With `onlyA` and `onlyB` such queries
 * out of n, the accuracy difference is (onlyA − onlyB)/n and its standard error
 * √(onlyA + onlyB − (onlyA − onlyB)²/n)/n; z = difference / SE. This is far tighter than treating
 * the two accuracies as independent (√(2p(1−p)/n)), because most queries are right or wrong for
 * both — which is why "+0.6 points on 10,000 queries" can be decisive or not, and only the paired
 * figure says which.
 */

export interface PairedDifference {
  /** Queries. */
  n: number;
  /** Queries A gets right and B gets wrong. */
  onlyA: number;
  /** Queries B gets right and A gets wrong. */
  onlyB: number;
  /** Accuracy of A minus accuracy of B, in [−1, 1]. */
  diff: number;
  /** Standard error of `diff` over the queries' pairs. */
  se: number;
  /** diff / se (0 when the two never disagree); |z| ≥ 2 is a difference at about the 5% level. */
  z: number;
}

/** Pairs A's and B's predicted classes over the same queries against their true `labels`. */
export function pairedDifference(a: ArrayLike<number>, b: ArrayLike<number>, labels: ArrayLike<number>): PairedDifference {
  const n = labels.length;
  if (a.length !== n || b.length !== n) throw new Error(`paired: ${a.length} and ${b.length} predictions for ${n} labels`);
  if (n === 0) throw new Error('paired: no queries');
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const ra = a[i] === labels[i];
    const rb = b[i] === labels[i];
    if (ra && !rb) onlyA++;
    else if (rb && !ra) onlyB++;
  }
  const d = onlyA - onlyB;
  const se = Math.sqrt(Math.max(0, onlyA + onlyB - (d * d) / n)) / n;
  return { n, onlyA, onlyB, diff: d / n, se, z: se > 0 ? d / n / se : 0 };
}

/** "+0.59 points (paired z 3.1: 412 vs 353 queries only one gets right)". */
export function formatPaired(p: PairedDifference): string {
  const pts = p.diff * 100;
  return `${pts >= 0 ? '+' : ''}${pts.toFixed(2)} points (paired z ${p.z.toFixed(1)}: ${p.onlyA} vs ${p.onlyB} queries only one gets right)`;
}
