/**
 * The contributor loop of the trainer host (Chrome's offscreen document, Firefox's background
 * page): ingest images the person saw into the local buffer, and while the background grants a
 * lease, run local rounds in the training worker and submit the deltas. Only deltas (and
 * protocol messages) go to the server; pixels never leave this device.
 *
 *   seen URLs ─► persisted queue ─► fetch + decode at the keep size ─► image buffer   (./ingest.ts;
 *                                                                                      no plan, no lease needed)
 *
 *   lease? ─no─► report why, let go of the worker and the connection, wait (back-off or wake)
 *     │yes
 *   connect / plan ─► worker.init on plan change ─► enough images? ─► pull weights if stale
 *     ─► worker.train(sample shrunk to the plan's size) ─► worker.getDelta ─► submit
 *     ─► after a refusal: shared/contributor/after-rejection.ts ─► report round
 *
 * The training worker holds hundreds of MB once a model is built, so it exists only while the
 * trainer may train: it is parked (terminated) whenever the lease is refused, images are still
 * being collected or the server cannot be reached, and started again on demand.
 */
import { transfer } from 'comlink';
import { afterRejection } from '../../shared/contributor/after-rejection';
import { readsBitmaps } from '../../shared/contributor/compression';
import { FederationError } from '../../shared/protocol/client';
import type { Plan } from '../../shared/protocol/messages';
import { BackendChooser } from './backend-chooser';
import type { Lease, TrainerReport } from '../common/messages';
import type { BackendPreference } from '../common/settings';
import type { WaitCode, Waiting } from '../common/stats';
import type { InitResult, TrainerPlan } from '../worker/trainer-api';
import { describeThreads } from '../../shared/backends/wasm/simd/browser-pool';
import { ConnectError } from './connect-error';
import type { FederationConnection } from './federation';
import { ImageIngest } from './ingest';
import { keepSize } from './resize';
import { trainAndSubmit } from './train-and-submit';
import { MemoryQueue, type PendingUrls } from './url-queue';
import { WakeableSleep } from './wakeable-sleep';

import type { ContributorDeps } from './contributor-deps';

export type { ContributorDeps, PolicyPort, TrainerRemote } from './contributor-deps';

const INGEST_CONCURRENCY = 2;

export class Contributor {
  private readonly queue: PendingUrls;
  private readonly ingestion: ImageIngest;
  private readonly pause = new WakeableSleep();
  /** After an accepted update: a version newer than this ends the pause before the next round. */
  private awaitingVersionAfter: number | null = null;
  private stopped = false;
  private conn: FederationConnection | null = null;
  private connKey = '';
  private server = '';
  private planKey = '';
  private init: InitResult | null = null;
  /** The plan's batch size, remembered while the worker is parked: fewer images need no worker. */
  private batchSize: number | null = null;
  private backend: string | null = null;
  /** On wasm: the kernels' threads in words (describeThreads), for the popup. */
  private threads: string | null = null;
  /** The person's backend setting the current worker was set up with. */
  private backendPref: BackendPreference | null = null;
  private readonly chooser: BackendChooser;
  private loadedVersion = -1;
  private lastVersion: number | null = null;
  private round = 0;
  private lastError: string | null = null;
  private waiting: Waiting | null = { code: 'starting', text: 'starting' };
  private reportTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly d: ContributorDeps) {
    this.queue = d.queue ?? new MemoryQueue();
    this.chooser = new BackendChooser({ measure: d.measure, userAgent: d.userAgent, save: d.policy.saveBench?.bind(d.policy), log: d.log });
    this.ingestion = new ImageIngest({
      buffer: d.buffer, queue: this.queue, load: d.load, log: d.log,
      planSize: () => this.init?.inputSize ?? d.inputSize?.get(),
      onProgress: () => {
        this.scheduleReport();
        if (this.waiting?.code === 'collecting') this.wake();
      },
    });
  }

  /** Queues image URLs for fetching and decoding (no plan or lease needed); returns how many were queued. */
  ingest(urls: string[]): Promise<number> {
    return this.ingestion.push(urls);
  }

  /** Deletes every buffered image and queued URL; returns the count left (0). */
  async clear(): Promise<number> {
    await this.queue.clear();
    await this.d.buffer.clear();
    await this.report();
    return (await this.d.buffer.stats()).count;
  }

  /**
   * The training worker was replaced (trainer-watchdog.ts): everything it held — backend, model,
   * weights — is gone, so the next step sets up again from the backend choice on. The connection
   * is redone too, so the server hears the backend actually in use.
   */
  trainerRestarted(): void {
    this.forgetWorker();
    this.conn?.close();
    this.conn = null;
    this.wake();
  }

  /** Ask for a lease now instead of after the back-off. */
  wake(): void {
    this.pause.wake();
  }

  stop(): void {
    this.stopped = true;
    this.ingestion.stop();
    this.wake();
    this.conn?.close();
  }

  /** Runs until stop(). Never throws: every failure is reported and retried after a back-off. */
  async run(): Promise<void> {
    this.ingestion.pump(); // URLs queued before a restart
    while (!this.stopped) {
      let wait = this.d.idleWaitMs ?? 20_000;
      try {
        const lease = await this.d.policy.lease(await this.d.device?.().catch(() => undefined));
        if (!lease.ok) {
          this.setWaiting(lease.code, lease.reason);
          this.release();
        } else {
          this.server = lease.serverUrl;
          wait = (await this.step(lease)) ?? wait;
        }
      } catch (e) {
        if (e instanceof ConnectError) {
          this.setWaiting(e.code, e.message);
          this.release();
          if (e.code !== 'server-down') wait = this.d.refusedWaitMs ?? 5 * 60_000;
        } else if (e instanceof FederationError && (e.code === 'disconnected' || e.code === 'timeout')) {
          // The connection went away during a round (and did not come back in time).
          this.setWaiting('server-down', 'the connection to the server was lost');
          this.release();
        } else {
          this.setWaiting('error', 'a round failed; retrying');
        }
        this.lastError = (e as Error).message ?? String(e);
        this.d.log?.(`round failed: ${this.lastError}`);
      }
      if (this.stopped) break;
      await this.report();
      await this.pause.sleep(wait);
    }
    this.release();
  }

  /**
   * One pass: returns how long to wait before the next one when a round ran (the round gap, or
   * the server's wait after a refusal), null when none ran.
   */
  private async step(lease: Extract<Lease, { ok: true }>): Promise<number | null> {
    this.awaitingVersionAfter = null;
    const backend = lease.backend ?? 'auto';
    if (backend !== this.backendPref) {
      // A worker picks its backend once: a changed setting needs a fresh one.
      if (this.backendPref !== null && this.backend !== null && this.d.replaceTrainer) {
        this.d.replaceTrainer(`the backend setting changed to ${backend}`);
        this.trainerRestarted();
      }
      this.backendPref = backend;
    }
    let bench = lease.bench;
    if (this.chooser.mustMeasure(backend, bench)) {
      this.release(); // the probes need the memory the training worker holds
      this.setWaiting('starting', 'measuring which backend trains fastest here');
      await this.report();
      bench = await this.chooser.measure();
      this.setWaiting('starting', 'starting');
      await this.report();
    }
    if (this.chooser.choose(backend, bench) && this.backend !== null && this.d.replaceTrainer) {
      this.d.replaceTrainer('new backend timings'); // a worker picks its backend once
      this.trainerRestarted();
    }
    if (this.batchSize !== null && (await this.collecting(this.batchSize))) return null;
    const conn = await this.connection(lease.serverUrl, lease.token, lease.cores);
    const plan = conn.plan;
    await this.adoptPlan(plan);
    this.batchSize = plan.batchSize;
    if (await this.collecting(plan.batchSize)) return null;
    let bytesReceived = 0;
    if (this.loadedVersion < 0 || conn.latestVersion > this.loadedVersion) {
      const { version, weights } = await conn.pull();
      bytesReceived = weights.byteLength;
      await this.d.trainer.setWeights(transfer(weights, [weights]));
      this.loadedVersion = version;
    }
    this.waiting = null;
    await this.report();
    const seed = (Date.now() ^ (this.round++ * 0x9e3779b9)) >>> 0;
    const { m, loss, outcome, computeMs, bytesSent } = await trainAndSubmit(this.d, conn, {
      inputSize: this.init!.inputSize, localSteps: plan.localSteps, seed, cpuPercent: lease.cpuPercent,
      baseVersion: this.loadedVersion, updateId: `${this.d.clientId}-${Date.now().toString(36)}-${this.round}`,
    });
    let wait = this.d.roundGapMs ?? 1000;
    if (!outcome.accepted) {
      this.lastError = `update rejected: ${outcome.code ?? ''} ${outcome.reason ?? ''}`.trim();
      const next = afterRejection({ ok: false, code: outcome.code ?? 'internal', reason: outcome.reason ?? '', version: outcome.version, retryAfterMs: outcome.retryAfterMs });
      if (next.repull) this.loadedVersion = -1;
      wait = Math.max(wait, next.waitMs);
    } else {
      this.lastError = null;
      await this.d.trainer.deltaAccepted?.();
      if (conn.latestVersion <= this.loadedVersion) {
        // Wait, boundedly, for the version this update goes into: a round started from the version
        // before it lacks this contributor's own last update (shared/contributor/loop.ts,
        // nextVersionWaitMs, has the measurement). The version's arrival ends the wait.
        this.awaitingVersionAfter = this.loadedVersion;
        wait = Math.max(wait, 2000, computeMs);
      }
    }
    this.d.log?.(`round ${this.round}: ${m.losses.length} steps on ${m.backend}, ${m.msPerStep.toFixed(0)} ms/step, loss ${loss.toFixed(4)}, ${outcome.accepted ? 'accepted' : 'rejected'} (server v${outcome.version})`);
    await this.report({ steps: m.losses.length, computeMs, losses: m.losses, stepMs: m.msPerStep, submitted: true, accepted: outcome.accepted, bytesSent, bytesReceived }, outcome.version);
    return wait;
  }

  /** Too few images for a batch: say so and let go of the worker until there are enough. */
  private async collecting(batchSize: number): Promise<boolean> {
    const { count } = await this.d.buffer.stats();
    if (count >= batchSize) return false;
    this.setWaiting('collecting', `collecting images (${count} of ${batchSize})`);
    this.release();
    return true;
  }

  private async connection(serverUrl: string, token: string, cores?: number): Promise<FederationConnection> {
    const key = `${serverUrl}\n${token}`;
    if (this.conn && this.connKey === key && this.conn.connected) return this.conn;
    this.conn?.close();
    this.conn = null;
    this.loadedVersion = -1;
    const choice = this.chooser.choice();
    if (this.backend === null) {
      this.backend = await this.d.trainer.initBackend(choice.order, choice.softwareGpu, cores ?? 1);
      const t = this.backend === 'wasm' ? await this.d.trainer.wasmThreads?.().catch(() => null) : null;
      this.threads = t ? describeThreads(t) : null;
      if (this.threads) this.d.log?.(`wasm kernels on ${this.threads}`);
    }
    const conn = await this.d.connect({ serverUrl, token, backend: this.backend, clientId: this.d.clientId, cores });
    conn.onVersion((v) => {
      this.scheduleReport();
      if (this.awaitingVersionAfter !== null && v > this.awaitingVersionAfter) {
        this.awaitingVersionAfter = null;
        this.wake();
      }
    });
    // A dropped connection shows at once, not after the next round.
    conn.onConnectionChange?.(() => void this.report());
    this.conn = conn;
    this.connKey = key;
    return conn;
  }

  private async adoptPlan(plan: Plan): Promise<void> {
    const key = JSON.stringify([plan.runId, plan.method, plan.methodConfig, plan.batchSize, plan.optimizer, plan.compression?.upload, plan.compression?.positions]);
    if (key === this.planKey && this.init) return;
    const choice = this.chooser.choice();
    const tp: TrainerPlan = {
      backends: choice.order,
      softwareGpu: choice.softwareGpu,
      method: plan.method,
      methodConfig: plan.methodConfig as TrainerPlan['methodConfig'],
      batchSize: plan.batchSize,
      optimizer: plan.optimizer,
      upload: plan.compression?.upload,
      bitmaps: readsBitmaps(plan),
    };
    this.init = await this.d.trainer.init(tp);
    this.planKey = key;
    this.loadedVersion = -1;
    await this.d.buffer.retainSize(keepSize(this.init.inputSize));
    this.d.inputSize?.set(this.init.inputSize);
    this.d.log?.(`plan ${plan.method} (input ${this.init.inputSize}px) on ${this.init.backend}`);
  }

  /** Ends the connection and parks the worker, when either is held. */
  private release(): void {
    if (this.conn) {
      this.lastVersion = Math.max(this.lastVersion ?? -1, this.conn.latestVersion, this.loadedVersion);
      this.conn.close();
      this.conn = null;
    }
    if (this.backend !== null || this.init !== null) {
      this.d.trainer.park?.();
      this.forgetWorker();
    }
  }

  private forgetWorker(): void {
    this.backend = null;
    this.init = null;
    this.planKey = '';
    this.loadedVersion = -1;
  }

  private setWaiting(code: WaitCode, text: string): void {
    this.waiting = { code, text: text.slice(0, 200) };
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
    const connected = this.conn?.connected ?? false;
    // Training but the socket dropped: it reconnects by itself; until then the server is away.
    const waiting = this.conn && !connected && this.waiting === null ? { code: 'server-down' as const, text: 'connection lost; reconnecting' } : this.waiting;
    const known = this.conn ? Math.max(version ?? -1, this.conn.latestVersion, this.loadedVersion) : (this.lastVersion ?? -1);
    await this.d.policy.report({
      connected,
      server: this.conn ? this.connKey.split('\n')[0] : this.server,
      modelVersion: known >= 0 ? known : null,
      backend: this.init?.backend ?? this.backend,
      threads: this.threads,
      buffered: count,
      waiting,
      lastError: this.lastError?.slice(0, 500) ?? null,
      round,
    }).catch(() => {});
  }
}
