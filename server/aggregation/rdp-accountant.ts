/**
 * Privacy accounting with Rényi differential privacy (Mironov 2017, "Rényi Differential Privacy",
 * CSF). One DP-FedAvg step (dp-fedavg.ts) is the Gaussian mechanism with L2 sensitivity C and
 * noise σ·C, whose RDP at order α is
 *
 *   ε_α(step) = α / (2σ²)                                          (Mironov 2017, Prop. 7)
 *
 * RDP composes by addition over steps, and converts to (ε, δ)-DP by
 *
 *   ε(δ) = min_α  ε_α(total) + log(1/δ) / (α − 1)                  (Mironov 2017, Prop. 3)
 *
 * over a fixed grid of orders. No amplification by subsampling is claimed: a volunteer may take
 * part in every step, and the server does not sample who does, so each step is charged in full —
 * an honest, if pessimistic, ε. The state is the vector of accumulated RDP per order, so steps
 * with different σ compose correctly (a restart with another σ keeps counting).
 */

/** The orders α the accountant tracks (as in common DP libraries' default grids). */
export const RDP_ORDERS: readonly number[] = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 48, 64, 128, 256, 512, 1024];

export interface PrivacyLedger {
  /** DP steps charged so far. */
  steps: number;
  /** Accumulated RDP ε_α, one per entry of RDP_ORDERS. */
  rdp: number[];
}

export const EMPTY_LEDGER: PrivacyLedger = { steps: 0, rdp: RDP_ORDERS.map(() => 0) };

/** RDP of one Gaussian-mechanism step with noise multiplier σ at order α. */
export function gaussianRdp(sigma: number, alpha: number): number {
  if (!(sigma > 0)) return Infinity;
  return alpha / (2 * sigma * sigma);
}

/** The ledger after `steps` more steps with noise multiplier σ. */
export function charge(l: PrivacyLedger, sigma: number, steps = 1): PrivacyLedger {
  return { steps: l.steps + steps, rdp: RDP_ORDERS.map((a, i) => (l.rdp[i] ?? 0) + steps * gaussianRdp(sigma, a)) };
}

/** ε at δ of what the ledger holds (0 before any step), and the order that gives it. */
export function epsilonOf(l: PrivacyLedger, delta: number): { epsilon: number; order: number | null } {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1), got ${delta}`);
  if (l.steps === 0) return { epsilon: 0, order: null };
  let best = Infinity;
  let order: number | null = null;
  RDP_ORDERS.forEach((a, i) => {
    const e = l.rdp[i] + Math.log(1 / delta) / (a - 1);
    if (e < best) {
      best = e;
      order = a;
    }
  });
  return { epsilon: best, order };
}

/** A ledger read back from a checkpoint; anything malformed starts an empty one (and says so). */
export function ledgerOf(raw: unknown): PrivacyLedger | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (!Number.isInteger(r.steps) || !Array.isArray(r.rdp) || r.rdp.length !== RDP_ORDERS.length || !r.rdp.every((x) => typeof x === 'number' && x >= 0)) return null;
  return { steps: r.steps as number, rdp: r.rdp as number[] };
}
