/**
 * The contributor loop, platform-neutral: connect → plan → pull the global weights → train K
 * local steps on the contributor's own images → submit the delta → pull the new version → repeat.
 * It survives the server going away (FederationClient reconnects; the loop backs off and resumes
 * from the current version) and follows the protocol's answers as ./after-rejection.ts says (the
 * table the extension's loop uses too): pull the newest version, wait, or go on to the next round.
 * Uploads and downloads are compressed as the plan asks (./compression.ts: packed deltas with
 * error feedback, float16 differences between versions) unless `compression: false`.
 * Node contributors (scripts/glimpse.ts) run it; it needs no Node-only API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FederationClient, FederationError } from '../protocol/client';
import type { Plan, SubmitAck } from '../protocol/messages';
import { abortableSleep, submitPatiently } from '../protocol/patience';
import { createMethod, resolveMethodConfig } from '../ssl/registry';
import type { SslMethod, MethodConfig } from '../ssl/method';
import { runLocalRound } from '../train/local-round';
import type { WeightMap } from '../weights/weight-map';
import { afterRejection } from './after-rejection';
import { downloadForm, packUpload } from './compression';

/** Images of the plan's input size: [batch, size, size, 3] in [0, 1]. */
export type ImageSampler = (batchSize: number, size: number) => Float32Array;

export interface RoundReport {
  round: number;
  baseVersion: number;
  /** Global version the server reported in its ack. */
  version: number;
  loss: number;
  msPerStep: number;
  examples: number;
  backend: string;
  outcome: 'accepted' | 'duplicate' | 'rejected';
  /** Rejection code and reason, when rejected. */
  reason?: string;
  /** Bytes of the uploaded delta (GLWT, as sent). */
  uploadBytes: number;
}

export interface ContributorOptions {
  client: FederationClient;
  sample: ImageSampler;
  /** Stop after this many submitted rounds (default: run until the signal aborts). */
  maxRounds?: number;
  signal?: AbortSignal;
  /** Seeds the augmentations; round r uses seed + r·10⁴. */
  seed?: number;
  onRound?: (r: RoundReport) => void;
  log?: (line: string) => void;
  /** First back-off after a transport failure; doubles up to 30 s. */
  backoffMs?: number;
  /** Follow the plan's compression of uploads and downloads (default true); false: float32 only. */
  compression?: boolean;
  /**
   * After an accepted update, wait for the next version before training again (synchronous
   * rounds: benchmarks that compare settings version for version), up to 60 s. Default false:
   * wait only as long as {@link nextVersionWaitMs} says.
   */
  waitForNextVersion?: boolean;
  /**
   * After an accepted update, how long to wait at most for a version newer than the round's base
   * before training again (0: never). A round that starts before the version its own last update
   * goes into trains from weights that lack that update; with as many contributors as the server's
   * buffer holds (npm start: 2 and 2) every round was then one version stale, and the encoder fell
   * to 69.7% kNN at 6,400 examples where synchronous rounds reach 76.4% (bench:quality --delay 1,
   * docs/quality.md). Default: the last round's compute time, at least 2 s — with many
   * contributors the next version comes sooner, and a lone one never idles more than half its time.
   */
  nextVersionWaitMs?: number;
}

export interface ContributorSummary {
  rounds: number;
  accepted: number;
  rejected: number;
}

const planKey = (p: Plan) => JSON.stringify([p.runId, p.method, p.methodConfig]);

export async function runContributor(o: ContributorOptions): Promise<ContributorSummary> {
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 0;
  const summary: ContributorSummary = { rounds: 0, accepted: 0, rejected: 0 };
  let method: SslMethod | null = null;
  let methodPlan = '';
  let global: { version: number; weights: WeightMap } | null = null;
  /** What compression held back from accepted uploads (error feedback), for the next one. */
  let residual: WeightMap | null = null;
  let backoff = o.backoffMs ?? 1000;
  const stopped = () => o.signal?.aborted || (o.maxRounds !== undefined && summary.rounds >= o.maxRounds);

  await connectWithRetry(o.client, o.signal, log, backoff);
  try {
    while (!stopped()) {
      try {
        const plan = o.client.plan;
        if (planKey(plan) !== methodPlan) {
          method?.dispose();
          method = createMethod(plan.method, plan.methodConfig as Partial<MethodConfig>);
          methodPlan = planKey(plan);
          global = null;
          residual = null;
          log(`plan: ${plan.method}, ${plan.localSteps} local steps × batch ${plan.batchSize}, run ${plan.runId}`);
        }
        if (!global || o.client.knownVersion > global.version) global = await o.client.pullWeights('latest', downloadForm(plan, global, o.compression));
        const size = resolveMethodConfig(plan.method, plan.methodConfig as Partial<MethodConfig>).encoder.inputSize;
        const round = summary.rounds;
        const result = await runLocalRound({
          method: method!, global: global.weights, steps: plan.localSteps, batchSize: plan.batchSize, seed: seed + round * 10_000,
          optimizer: plan.optimizer,
          nextBatch: (b) => tf.tensor4d(o.sample(b, size), [b, size, size, 3]),
        });
        const loss = result.metrics.losses.reduce((a, b) => a + b, 0) / result.metrics.losses.length;
        // 'busy' / 'rate_limited' refuse the update unread: the same delta is offered again after the
        // server's wait rather than the round's compute thrown away (staleness is the server's call).
        const upload = packUpload(result.delta, residual, plan, global.version, o.compression);
        const ack: SubmitAck = await submitPatiently(o.client, {
          baseVersion: global.version, examples: result.metrics.examples, delta: upload.bytes,
          metrics: { loss, steps: plan.localSteps, msPerStep: result.metrics.msPerStep, backend: result.metrics.backend },
        }, { signal: o.signal, onWait: (a, ms) => log(`round ${summary.rounds}: ${a.ok ? '' : a.code}; resubmitting in ${(ms / 1000).toFixed(1)} s`) });
        summary.rounds++;
        backoff = o.backoffMs ?? 1000;
        const report: RoundReport = {
          round, baseVersion: global.version, version: ack.version, loss, msPerStep: result.metrics.msPerStep,
          examples: result.metrics.examples, backend: result.metrics.backend,
          outcome: ack.ok ? ack.status : 'rejected', reason: ack.ok ? undefined : `${ack.code}: ${ack.reason}`, uploadBytes: upload.bytes.length,
        };
        if (ack.ok) {
          summary.accepted++;
          // A rejected upload delivered nothing: the old residual still says what the server lacks.
          residual = upload.residual;
        } else summary.rejected++;
        o.onRound?.(report);
        if (ack.ok && !stopped()) {
          const ms = o.waitForNextVersion ? 60_000 : (o.nextVersionWaitMs ?? Math.max(2000, result.metrics.msPerStep * plan.localSteps));
          if (o.waitForNextVersion) await o.client.waitForVersion(global.version, ms);
          else await nextVersionOrTimeout(o.client, global.version, ms, o.signal);
        }
        if (!ack.ok) {
          const next = afterRejection(ack);
          if (next.waitMs) await abortableSleep(next.waitMs, o.signal);
          if (next.repull) global = null; // the next iteration pulls the newest version
        }
      } catch (e) {
        if (!(e instanceof FederationError) || e.code === 'unauthorized') throw e;
        log(`server unreachable (${e.code}: ${e.message}); retrying in ${(backoff / 1000).toFixed(0)} s`);
        await abortableSleep(backoff, o.signal);
        backoff = Math.min(30_000, backoff * 2);
        // FederationClient reconnects by itself; resume from whatever version the server has then.
        global = null;
      }
    }
  } finally {
    method?.dispose();
  }
  return summary;
}

/** Resolves when a version after `after` is known, `ms` passed, or `signal` aborted, whichever is first. */
function nextVersionOrTimeout(client: FederationClient, after: number, ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || client.knownVersion > after || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const off = client.on('version', (e) => {
      if (e.version > after) done();
    });
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** connect() until it works; auth failures and protocol mismatches are final. */
async function connectWithRetry(client: FederationClient, signal: AbortSignal | undefined, log: (l: string) => void, backoffMs: number) {
  if (client.connected) return;
  let wait = backoffMs;
  for (;;) {
    try {
      await client.connect();
      return;
    } catch (e) {
      if (e instanceof FederationError && (e.code === 'unauthorized' || e.code === 'unsupported_protocol')) throw e;
      if (signal?.aborted) throw e;
      log(`cannot reach the server (${(e as Error).message}); retrying in ${(wait / 1000).toFixed(0)} s`);
      client.close();
      await abortableSleep(wait, signal);
      wait = Math.min(30_000, wait * 2);
    }
  }
}
