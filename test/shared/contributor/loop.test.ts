/**
 * The Node contributor loop after each kind of rejection, against a scripted client (real tfjs
 * rounds on the cpu backend, a tiny encoder): it pulls the newest weights again exactly when
 * shared/contributor/after-rejection.ts says so, and waits the server's hint when told to wait.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AFTER_REJECTION } from '../../../shared/contributor/after-rejection';
import { runContributor } from '../../../shared/contributor/loop';
import type { FederationClient, SubmitDeltaInput } from '../../../shared/protocol/client';
import { REJECT_CODES, type Plan, type SubmitAck } from '../../../shared/protocol/messages';
import { createMethod } from '../../../shared/ssl/registry';
import { initialGlobalWeights } from '../../../shared/train/local-round';

const CONFIG = {
  encoder: { inputSize: 8, channels: 3, stemWidth: 4, widths: [4], strides: [1], blocksPerStage: [1], norm: 'layer' as const },
  projectionHidden: 8,
  projectionDim: 4,
};
const plan: Plan = {
  protocol: 1, runId: 'r', method: 'byol', methodConfig: CONFIG, optimizer: { kind: 'sgd', learningRate: 0.01 }, localSteps: 1, batchSize: 2,
  version: 0, maxStaleness: 5, maxExamples: 100, maxMessageBytes: 1e7, bufferSize: 1, hasTarget: true,
};

describe('runContributor after a rejection', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('follows the shared table for every RejectCode', async () => {
    const m = createMethod('byol', CONFIG);
    const global = initialGlobalWeights(m);
    m.dispose();
    // Round r is answered with REJECT_CODES[r] (every answer to it, resubmissions included).
    const codes = [...REJECT_CODES];
    const events: string[] = [];
    const inputs: SubmitDeltaInput[] = [];
    const client = {
      connected: true,
      plan,
      knownVersion: 0,
      async pullWeights() {
        events.push('pull');
        return { version: 0, weights: global };
      },
      async submitDelta(input: SubmitDeltaInput): Promise<SubmitAck> {
        if (!inputs.includes(input)) inputs.push(input);
        const code = codes[inputs.indexOf(input)];
        events.push(`submit ${code} @${Date.now()}`);
        return { ok: false, code, reason: 'scripted', version: 0, retryAfterMs: 120 };
      },
    } as unknown as FederationClient;
    await runContributor({ client, sample: (b, s) => new Float32Array(b * s * s * 3).fill(0.5), maxRounds: codes.length });

    // What happened after each round's last answer: a pull before the next round or not, and the wait.
    const rounds = codes.map((code, r) => {
      const last = events.findLastIndex((e) => e.startsWith(`submit ${code} `));
      const nextSubmit = events.findIndex((e, i) => i > last && e.startsWith('submit'));
      const between = nextSubmit < 0 ? [] : events.slice(last + 1, nextSubmit);
      return { code, r, pulled: between.includes('pull'), at: Number(events[last].split('@')[1]), next: nextSubmit < 0 ? null : Number(events[nextSubmit].split('@')[1]) };
    });
    for (const x of rounds.slice(0, -1)) {
      expect(x.pulled, x.code).toBe(AFTER_REJECTION[x.code] === 'pull-newest');
      if (AFTER_REJECTION[x.code] === 'wait') expect(x.next! - x.at, x.code).toBeGreaterThanOrEqual(115);
    }
    expect(events.filter((e) => e === 'pull').length).toBe(1 + codes.slice(0, -1).filter((c) => AFTER_REJECTION[c] === 'pull-newest').length);
  });
});
