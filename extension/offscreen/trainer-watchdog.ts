/**
 * Keeps the training worker answering. A Web Worker that hangs (a GPU driver that never returns,
 * an infinite shader compile) or dies (an uncaught error, a lost WebGPU device) would otherwise
 * stall the contributor forever: comlink calls to it simply never settle.
 *
 * Every call to the worker runs against a deadline. A call that misses it, a worker that reports
 * a crash, or an error that names a lost GPU device ends that worker: it is terminated, a fresh
 * one is spawned, and the backend it was on moves out of the preference order for the rest of
 * the session (a backend that hung once is not trusted again; 'cpu', the last resort, is never
 * removed). The failed call rejects with the reason; `onRestart` tells the contributor to set up
 * again (backend, plan, weights) on the new worker. Ordinary errors (a bad plan, mismatched
 * weights) pass through untouched: restarting would not fix them.
 *
 * A worker is spawned on the first call, not before, and `park()` terminates it without a
 * successor (the trainer cannot train now: its model and tfjs backend would only hold memory);
 * the next call spawns a fresh one.
 */
import { DEFAULT_BACKEND_ORDER, type BackendName, type SoftwareGpu } from '../common/backend-choice';
import type { TrainerPlan, TrainLimits } from '../worker/trainer-api';
import type { TrainerRemote } from './contributor';

/** One worker as the watchdog sees it. */
export interface WorkerHandle {
  trainer: TrainerRemote;
  terminate(): void;
  /** Registers the callback for the worker's own death (its 'error' event). */
  onCrash(listener: (why: string) => void): void;
}

export interface Deadlines {
  /** Backend selection and building the plan's model (shader compilation on first use). */
  initMs: number;
  setWeightsMs: number;
  /** A round may take trainBaseMs + steps × trainPerStepMs. */
  trainBaseMs: number;
  trainPerStepMs: number;
  getDeltaMs: number;
}

/** Generous: SwiftShader's software WebGPU takes ~10 s a step; a real hang is minutes to forever. */
export const DEFAULT_DEADLINES: Deadlines = { initMs: 180_000, setWeightsMs: 60_000, trainBaseMs: 120_000, trainPerStepMs: 60_000, getDeltaMs: 60_000 };

export interface WatchdogOptions {
  spawn: () => WorkerHandle;
  deadlines?: Partial<Deadlines>;
  onRestart?: (why: string) => void;
  log?: (line: string) => void;
}

export interface WatchedTrainer extends TrainerRemote {
  /** Workers replaced so far. */
  restarts(): number;
  /** Backends still allowed, best first. */
  allowedBackends(): BackendName[];
  /** Replaces a healthy worker (e.g. to switch backends: a worker picks its backend once); keeps every backend allowed. */
  replace(why: string): void;
  /** Terminates the worker, if any, until the next call starts a fresh one. */
  park(): void;
  /** Whether a worker exists now. */
  running(): boolean;
  terminate(): void;
}

/** Errors that mean the worker's device is gone, not that the request was wrong. */
const DEVICE_LOST = /device (was |is )?lost|GPU (device|process) (was )?(lost|crashed)|context lost/i;

export function watchTrainer(o: WatchdogOptions): WatchedTrainer {
  const d = { ...DEFAULT_DEADLINES, ...(o.deadlines ?? {}) };
  let allowed: BackendName[] = [...DEFAULT_BACKEND_ORDER];
  let backend: string | null = null;
  let restarts = 0;
  type Current = ReturnType<typeof start>;
  let current: Current | null = null;
  const worker = (): Current => (current ??= start());

  function start() {
    const h = o.spawn();
    let crash: (why: string) => void = () => {};
    const crashed = new Promise<never>((_, reject) => {
      crash = (why) => reject(new TrainerRestartedError(why));
    });
    crashed.catch(() => {}); // observed through the race below; never unhandled
    const w = { h, crashed, dead: false };
    h.onCrash((why) => {
      if (w !== current || w.dead) return;
      crash(`the training worker crashed (${why})`);
      restart(`the training worker crashed (${why})`);
    });
    return w;
  }

  function restart(why: string, blame = true) {
    if (!current || current.dead) return;
    current.dead = true;
    current.h.terminate();
    if (blame && backend && backend !== 'cpu' && allowed.length > 1) allowed = allowed.filter((b) => b !== backend);
    o.log?.(`trainer restarted: ${why}; backends now ${allowed.join(' → ')}`);
    backend = null;
    restarts++;
    current = start();
    o.onRestart?.(why);
  }

  async function call<T>(what: string, ms: number, f: (t: TrainerRemote) => Promise<T>): Promise<T> {
    const w = worker();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = `${what} did not answer within ${Math.round(ms / 1000)} s on ${backend ?? 'an unknown backend'}`;
        restart(why);
        reject(new TrainerRestartedError(why));
      }, ms);
    });
    try {
      return await Promise.race([f(w.h.trainer), timeout, w.crashed]);
    } catch (e) {
      if (!(e instanceof TrainerRestartedError) && DEVICE_LOST.test(String((e as Error)?.message ?? e))) {
        const why = `${what} failed: ${(e as Error).message}`;
        if (w === current) restart(why);
        throw new TrainerRestartedError(why);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  const order = (requested?: readonly BackendName[]) => {
    const r = (requested && requested.length ? requested : DEFAULT_BACKEND_ORDER).filter((b) => allowed.includes(b));
    return r.length ? r : allowed;
  };

  return {
    async initBackend(requested?: readonly BackendName[], softwareGpu?: SoftwareGpu, threads?: number) {
      backend = await call('choosing a backend', d.initMs, (t) => t.initBackend(order(requested), softwareGpu, threads));
      return backend;
    },
    async init(plan: TrainerPlan) {
      const r = await call('building the model', d.initMs, (t) => t.init({ ...plan, backends: order(plan.backends) }));
      backend = r.backend;
      return r;
    },
    setWeights: (glwt: ArrayBuffer) => call('loading weights', d.setWeightsMs, (t) => t.setWeights(glwt)),
    // The CPU cap rests between steps: the deadline grows with it (a 10 % cap makes a round 10× longer).
    train: (pixels: ArrayBuffer, steps: number, seed: number, limits?: TrainLimits) =>
      call(`a ${steps}-step round`, (d.trainBaseMs + steps * d.trainPerStepMs) * (100 / Math.min(100, Math.max(1, limits?.cpuPercent ?? 100))), (t) => t.train(pixels, steps, seed, limits)),
    getDelta: () => call('encoding the delta', d.getDeltaMs, (t) => t.getDelta()),
    wasmThreads: () => call('asking for the threads', d.initMs, (t) => t.wasmThreads?.() ?? Promise.resolve(null)),
    deltaAccepted: () => call('keeping the upload error', d.getDeltaMs, (t) => t.deltaAccepted?.() ?? Promise.resolve()),
    restarts: () => restarts,
    allowedBackends: () => [...allowed],
    replace: (why) => restart(why, false),
    park: () => {
      if (!current) return;
      current.dead = true;
      current.h.terminate();
      current = null;
      backend = null;
      o.log?.('trainer parked: nothing to train now');
    },
    running: () => current !== null && !current.dead,
    terminate: () => {
      if (!current) return;
      current.dead = true;
      current.h.terminate();
    },
  };
}

export class TrainerRestartedError extends Error {
  override name = 'TrainerRestartedError';
  constructor(why: string) {
    super(`trainer restarted: ${why}`);
  }
}
