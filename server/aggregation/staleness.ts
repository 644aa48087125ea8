/**
 * FedBuff's staleness weighting (Nguyen et al. 2022, "Federated Learning with Buffered
 * Asynchronous Aggregation", §3 / Xie et al. 2019's polynomial scaling):
 *   s(τ) = (1 + τ)^(−a),   τ = server versions elapsed since the update's base version.
 */
export function stalenessWeight(tau: number, a: number): number {
  if (!(tau >= 0)) throw new RangeError(`staleness must be ≥ 0, got ${tau}`);
  return Math.pow(1 + tau, -a);
}

export interface FedBuffTerm {
  examples: number;
  /** τ at the time the term is folded. */
  staleness: number;
}

/**
 * The weight of each buffered delta in the server step:
 *   w_i = s(τ_i) · n_i / Σ_j n_j
 * FedBuff averages the buffer (divides by K) and scales each delta by s(τ); weighting by examples
 * n_i replaces the 1/K as FedAvg does (McMahan et al. 2017). Staleness is *not* renormalised
 * away: a buffer of stale deltas moves the model less, which is the point of s(τ).
 */
export function fedbuffWeights(terms: readonly FedBuffTerm[], a: number): number[] {
  const total = terms.reduce((s, t) => s + t.examples, 0);
  if (!(total > 0)) throw new RangeError('the buffer holds no examples');
  return terms.map((t) => (stalenessWeight(t.staleness, a) * t.examples) / total);
}
