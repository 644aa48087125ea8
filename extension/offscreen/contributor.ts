/**
 * The contributor loop of the trainer host (Chrome's offscreen document, Firefox's background
 * page): ingest images the person saw into the local buffer, and while the background grants a
 * lease, run local rounds in the training worker and submit the deltas. Only deltas (and
 * protocol messages) go to the server; pixels never leave this device.
 *
 *   lease? ─no─► report why, wait (back-off or wake)
 *     │yes
 *   connect / plan ─► worker.init on plan change ─► enough images? ─► pull weights if stale
 *     ─► worker.train(sampled pixels) ─► worker.getDelta ─► submit ─► report round
 */
import { transfer } from 'comlink';
import { afterRejection } from '../../shared/contributor/after-rejection';
import type { Plan } from '../../shared/protocol/messages';
import type { Lease, TrainerReport } from '../common/messages';
import type { BackendPreference } from '../common/settings';
import { backendChoice, type InitResult, type TrainerApi, type TrainerPlan } from '../worker/trainer-api';
import type { Connect, FederationConnection } from './federation';
import type { ImageBuffer } from './image-buffer';

/** The trainer as seen through comlink: every method async. */
export type TrainerRemote = Pick<TrainerApi, 'initBackend' | 'init' | 'setWeights' | 'train' | 'getDelta'>;

export interface PolicyPort {
  lease(): Promise<Lease>;
  report(r: TrainerReport): Promise<void>;
}

export interface ContributorDeps {
  policy: PolicyPort;
  buffer: ImageBuffer;
  trainer: TrainerRemote;
  connect: Connect;
  /** Fetches and decodes one URL to [size, size, 3] RGB. */
  load: (url: string, size: number) => Promise<Uint8Array>;
  clientId: string;
  /** The input size of the last plan seen (remembered across restarts), so images can be
   * decoded before this session has talked to the server. */
  inputSize?: { get(): number | null; set(size: number): void };
  /** Back-off while the lease is refused or the server is unreachable. */
  idleWaitMs?: number;
  /** Pause between rounds, so a long session leaves the machine breathing. */
  roundGapMs?: number;
  /** Most images sampled from the buffer for one round. */
  samplePerRound?: number;
  /** Replaces the training worker with a fresh one (trainer-watchdog.ts `replace`). */
  replaceTrainer?: (why: string) => void;
  log?: (line: string) => void;
}

const MAX_QUEUE = 256;
const INGEST_CONCURRENCY = 2;

export class Contributor {
  private queue: string[] = [];
  private ingesting = 0;
  private wakeUp: (() => void) | null = null;
  private stopped = false;
  private conn: FederationConnection | null = null;
  private connKey = '';
  private planKey = '';
  private init: InitResult | null = null;
  private backend: string | null = null;
  /** The person's backend setting the current worker was set up with. */
  private backendPref: BackendPreference | null = null;
  private loadedVersion = -1;
  private round = 0;
  private lastError: string | null = null;
  private waiting: string | null = 'starting';
  private reportTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly d: ContributorDeps) {}

  /** Queues image URLs for fetching and decoding; returns how many were queued. */
  ingest(urls: string[]): number {
    const room = Math.max(0, MAX_QUEUE - this.queue.length);
    const take = urls.slice(0, room);
    this.queue.push(...take);
    this.pump();
    return take.length;
  }

  /**
   * The training worker was replaced (trainer-watchdog.ts): everything it held — backend, model,
   * weights — is gone, so the next step sets up again from the backend choice on. The connection
   * is redone too, so the server hears the backend actually in use.
   */
  trainerRestarted(): void {
    this.backend = null;
    this.init = null;
    this.planKey = '';
    this.loadedVersion = -1;
    this.conn?.close();
    this.conn = null;
    this.wake();
  }

  /** Ask for a lease now instead of after the back-off. */
  wake(): void {
    this.wakeUp?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
    this.conn?.close();
  }

  /** Runs until stop(). Never throws: every failure is reported and retried after a back-off. */
  async run(): Promise<void> {
    while (!this.stopped) {
      let wait = this.d.idleWaitMs ?? 20_000;
      try {
        const lease = await this.d.policy.lease();
        if (!lease.ok) {
          this.waiting = lease.reason;
        } else {
          wait = (await this.step(lease.serverUrl, lease.token, lease.backend)) ?? wait;
        }
      } catch (e) {
        this.lastError = (e as Error).message ?? String(e);
        this.d.log?.(`round failed: ${this.lastError}`);
      }
      if (this.stopped) break;
      await this.report();
      await this.sleep(wait);
    }
  }

  /**
   * One pass: returns how long to wait before the next one when a round ran (the round gap, or
   * the server's wait after a refusal), null when none ran.
   */
  private async step(serverUrl: string, token: string, backend: BackendPreference = 'auto'): Promise<number | null> {
    if (backend !== this.backendPref) {
      // A worker picks its backend once: a changed setting needs a fresh one.
      if (this.backendPref !== null && this.backend !== null && this.d.replaceTrainer) {
        this.d.replaceTrainer(`the backend setting changed to ${backend}`);
        this.trainerRestarted();
      }
      this.backendPref = backend;
    }
    const conn = await this.connection(serverUrl, token);
    const plan = conn.plan;
    await this.adoptPlan(plan);
    this.pump();
    const { count } = await this.d.buffer.stats();
    if (count < plan.batchSize) {
      this.waiting = `collecting images (${count} of ${plan.batchSize})`;
      return null;
    }
    if (this.loadedVersion < 0 || conn.latestVersion > this.loadedVersion) {
      const { version, weights } = await conn.pull();
      await this.d.trainer.setWeights(transfer(weights, [weights]));
      this.loadedVersion = version;
    }
    this.waiting = null;
    await this.report();
    const size = this.init!.inputSize;
    const sample = await this.d.buffer.sample(this.d.samplePerRound ?? 256, size);
    const t0 = performance.now();
    const pixels = sample.pixels.buffer as ArrayBuffer;
    const m = await this.d.trainer.train(transfer(pixels, [pixels]), plan.localSteps, (Date.now() ^ (this.round++ * 0x9e3779b9)) >>> 0);
    const delta = await this.d.trainer.getDelta();
    const computeMs = performance.now() - t0;
    const loss = m.losses.reduce((a, b) => a + b, 0) / m.losses.length;
    const outcome = await conn.submit({
      updateId: `${this.d.clientId}-${Date.now().toString(36)}-${this.round}`,
      baseVersion: this.loadedVersion,
      examples: m.examples,
      metrics: { loss, steps: m.losses.length, msPerStep: m.msPerStep, backend: m.backend },
      delta: transfer(delta, [delta]),
    });
    let wait = this.d.roundGapMs ?? 1000;
    if (!outcome.accepted) {
      this.lastError = `update rejected: ${outcome.code ?? ''} ${outcome.reason ?? ''}`.trim();
      const next = afterRejection({ ok: false, code: outcome.code ?? 'internal', reason: outcome.reason ?? '', version: outcome.version, retryAfterMs: outcome.retryAfterMs });
      if (next.repull) this.loadedVersion = -1;
      wait = Math.max(wait, next.waitMs);
    } else {
      this.lastError = null;
    }
    this.d.log?.(`round ${this.round}: ${m.losses.length} steps on ${m.backend}, ${m.msPerStep.toFixed(0)} ms/step, loss ${loss.toFixed(4)}, ${outcome.accepted ? 'accepted' : 'rejected'} (server v${outcome.version})`);
    await this.report({ steps: m.losses.length, computeMs, losses: m.losses, stepMs: m.msPerStep, submitted: true, accepted: outcome.accepted }, outcome.version);
    return wait;
  }

  private async connection(serverUrl: string, token: string): Promise<FederationConnection> {
    const key = `${serverUrl}\n${token}`;
    if (this.conn && this.connKey === key && this.conn.connected) return this.conn;
    this.conn?.close();
    this.conn = null;
    this.loadedVersion = -1;
    const choice = backendChoice(this.backendPref ?? 'auto');
    this.backend ??= await this.d.trainer.initBackend(choice.order, choice.softwareGpu);
    this.conn = await this.d.connect({ serverUrl, token, backend: this.backend, clientId: this.d.clientId });
    this.conn.onVersion(() => this.scheduleReport());
    this.connKey = key;
    return this.conn;
  }

  private async adoptPlan(plan: Plan): Promise<void> {
    const key = JSON.stringify([plan.runId, plan.method, plan.methodConfig, plan.batchSize, plan.optimizer]);
    if (key === this.planKey && this.init) return;
    const choice = backendChoice(this.backendPref ?? 'auto');
    const tp: TrainerPlan = {
      backends: choice.order,
      softwareGpu: choice.softwareGpu,
      method: plan.method,
      methodConfig: plan.methodConfig as TrainerPlan['methodConfig'],
      batchSize: plan.batchSize,
      optimizer: plan.optimizer,
    };
    this.init = await this.d.trainer.init(tp);
    this.planKey = key;
    this.loadedVersion = -1;
    await this.d.buffer.retainSize(this.init.inputSize);
    this.d.inputSize?.set(this.init.inputSize);
    this.d.log?.(`plan ${plan.method} (input ${this.init.inputSize}px) on ${this.init.backend}`);
  }

  private pump(): void {
    const size = this.init?.inputSize ?? this.d.inputSize?.get();
    if (!size) return; // decode needs the plan's input size
    while (this.ingesting < INGEST_CONCURRENCY && this.queue.length) {
      const url = this.queue.shift()!;
      this.ingesting++;
      void (async () => {
        try {
          if (!(await this.d.buffer.has(url))) await this.d.buffer.add(url, size, await this.d.load(url, size));
        } catch (e) {
          this.d.log?.(`skipped an image: ${(e as Error).message}`);
        } finally {
          this.ingesting--;
          this.pump();
          this.scheduleReport();
          if (this.waiting?.startsWith('collecting')) this.wake();
        }
      })();
    }
  }

  private scheduleReport(): void {
    this.reportTimer ??= setTimeout(() => {
      this.reportTimer = null;
      void this.report().catch(() => {});
    }, 1000);
  }

  /** Never throws: a failing buffer (closed, storage error) must not end the loop that reports it. */
  private async report(round?: TrainerReport['round'], version?: number): Promise<void> {
    let count = 0;
    try {
      ({ count } = await this.d.buffer.stats());
    } catch (e) {
      this.lastError ??= `image buffer unavailable: ${(e as Error).message}`;
    }
    await this.d.policy.report({
      connected: this.conn?.connected ?? false,
      server: this.conn ? this.connKey.split('\n')[0] : '',
      modelVersion: this.conn ? Math.max(version ?? -1, this.conn.latestVersion, this.loadedVersion) : null,
      backend: this.init?.backend ?? this.backend,
      buffered: count,
      waiting: this.waiting,
      lastError: this.lastError?.slice(0, 500) ?? null,
      round,
    }).catch(() => {});
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
