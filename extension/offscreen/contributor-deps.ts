/**
 * What the contributor loop (./contributor.ts) is given: the training worker as comlink shows it,
 * the background's lease and report port, the image buffer, the server connection, and the
 * timings of its waits. Tests pass their own; the offscreen document (./trainer-side.ts) the real ones.
 */
import type { BackendBench } from '../common/backend-bench';
import type { DeviceConditions, Lease, TrainerReport } from '../common/messages';
import type { WasmThreads } from '../../shared/backends/wasm/simd/browser-pool';
import type { TrainerApi } from '../worker/trainer-api';
import type { Connect } from './federation';
import type { ImageBuffer } from './image-buffer';
import type { PendingUrls } from './url-queue';

/** The trainer as seen through comlink: every method async; `park` ends the worker until the next call. */
export type TrainerRemote = Pick<TrainerApi, 'initBackend' | 'init' | 'setWeights' | 'train' | 'getDelta'> & {
  park?(): void;
  deltaAccepted?(): Promise<void>;
  wasmThreads?(): Promise<WasmThreads | null>;
};

export interface PolicyPort {
  lease(device?: DeviceConditions): Promise<Lease>;
  report(r: TrainerReport): Promise<void>;
  /** Remembers the Automatic choice's timings (the background stores them). */
  saveBench?(bench: BackendBench): Promise<void>;
}

export interface ContributorDeps {
  policy: PolicyPort;
  buffer: ImageBuffer;
  /** Seen URLs waiting to be fetched (default: in memory). */
  queue?: PendingUrls;
  trainer: TrainerRemote;
  connect: Connect;
  /** Fetches and decodes one URL to [size, size, 3] RGB. */
  load: (url: string, size: number) => Promise<Uint8Array>;
  clientId: string;
  /** The input size of the last plan seen (remembered across restarts). */
  inputSize?: { get(): number | null; set(size: number): void };
  /** Battery and Data Saver, where the page can see them. */
  device?: () => Promise<DeviceConditions>;
  /** Back-off while the lease is refused or the server is unreachable. */
  idleWaitMs?: number;
  /** Back-off after the server refused this browser or its token (a settings change wakes it sooner). */
  refusedWaitMs?: number;
  /** Pause between rounds, so a long session leaves the machine breathing. */
  roundGapMs?: number;
  /** Most images sampled from the buffer for one round. */
  samplePerRound?: number;
  /** Replaces the training worker with a fresh one (trainer-watchdog.ts `replace`). */
  replaceTrainer?: (why: string) => void;
  /**
   * The Automatic choice's micro-benchmark (./measure-backends.ts), run when the remembered
   * timings are missing or from another browser version; without it 'auto' is the fixed order.
   */
  measure?: () => Promise<BackendBench>;
  /** navigator.userAgent: a browser update changes it and makes remembered timings stale. */
  userAgent?: string;
  log?: (line: string) => void;
}
