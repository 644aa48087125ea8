/**
 * One round's work between "the worker holds the plan's model and the version to train from" and
 * "the server answered": sample the buffer at the plan's size, train in the worker, take the packed
 * delta and submit it. What the answer means for the next round is the loop's (./contributor.ts).
 */
import { transfer } from 'comlink';
import type { TrainResult } from '../worker/trainer-api';
import type { ContributorDeps } from './contributor-deps';
import type { FederationConnection, SubmitOutcome } from './federation';
import { keepSize, shrinkRgb } from './resize';

export interface RoundInput {
  inputSize: number;
  localSteps: number;
  seed: number;
  cpuPercent?: number;
  baseVersion: number;
  updateId: string;
}

export interface RoundResult {
  m: TrainResult;
  /** Mean loss of the round's steps. */
  loss: number;
  outcome: SubmitOutcome;
  /** Training and packing, in ms (what the wait for the next version is bounded by). */
  computeMs: number;
  bytesSent: number;
}

export async function trainAndSubmit(d: Pick<ContributorDeps, 'buffer' | 'trainer' | 'samplePerRound'>, conn: FederationConnection, r: RoundInput): Promise<RoundResult> {
  const kept = keepSize(r.inputSize);
  const sample = await d.buffer.sample(d.samplePerRound ?? 256, kept);
  const pixels = shrinkRgb(sample.pixels, sample.count, kept, r.inputSize).buffer as ArrayBuffer;
  const t0 = performance.now();
  const m = await d.trainer.train(transfer(pixels, [pixels]), r.localSteps, r.seed, { cpuPercent: r.cpuPercent });
  const delta = await d.trainer.getDelta();
  const computeMs = performance.now() - t0;
  const bytesSent = delta.byteLength; // read before the transfer detaches it
  const loss = m.losses.reduce((a, b) => a + b, 0) / m.losses.length;
  const outcome = await conn.submit({
    updateId: r.updateId,
    baseVersion: r.baseVersion,
    examples: m.examples,
    metrics: { loss, steps: m.losses.length, msPerStep: m.msPerStep, backend: m.backend },
    delta: transfer(delta, [delta]),
  });
  return { m, loss, outcome, computeMs, bytesSent };
}
