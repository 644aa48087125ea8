/**
 * Starts the trainer in the current page (Chrome's offscreen document or Firefox's background
 * page): the image buffer, the training Web Worker behind comlink, the federation connection and
 * the contributor loop. Returns the handlers for messages addressed to the trainer.
 */
import { wrap } from 'comlink';
import browser from 'webextension-polyfill';
import type { HandlerMap, ToOffscreen } from '../common/messages';
import type { TrainerApi } from '../worker/trainer-api';
import { connectFederation } from './connect';
import { Contributor, type PolicyPort } from './contributor';
import { decodeToRgb } from './decode';
import { deviceReader } from './device';
import { fetchImage } from './fetch-image';
import { ImageBuffer } from './image-buffer';
import { measureBackends } from './measure-backends';
import { watchTrainer } from './trainer-watchdog';
import { MemoryQueue, UrlQueue } from './url-queue';

export const WORKER_PATH = 'worker.js';

export interface TrainerSide {
  handlers: HandlerMap<ToOffscreen>;
  stop(): void;
}

export function startTrainerSide(policy: PolicyPort): TrainerSide {
  const log = (line: string) => console.info(`[glimpse trainer] ${line}`);
  let contributor: Contributor | null = null;
  // A hung or crashed worker is replaced (and its backend dropped) instead of stalling the loop.
  const newWorker = () => new Worker(browser.runtime.getURL(WORKER_PATH), { type: 'module', name: 'glimpse-trainer' });
  const trainer = watchTrainer({
    spawn: () => {
      const worker = newWorker();
      return {
        trainer: wrap<TrainerApi>(worker),
        terminate: () => worker.terminate(),
        onCrash: (listener) => worker.addEventListener('error', (e) => listener(e.message || 'error event')),
      };
    },
    onRestart: () => contributor?.trainerRestarted(),
    log,
  });
  const ready = Promise.all([ImageBuffer.open(), UrlQueue.open().catch(() => new MemoryQueue())]).then(([buffer, queue]) => {
    const c = new Contributor({
      policy,
      buffer,
      queue,
      trainer,
      device: deviceReader(),
      connect: connectFederation,
      load: async (url, size) => decodeToRgb(await fetchImage(url), size),
      clientId: clientId(),
      replaceTrainer: (why) => trainer.replace(why),
      // The Automatic choice's micro-benchmark: each backend in a worker of its own.
      measure: () => measureBackends({
        userAgent: navigator.userAgent,
        spawn: () => {
          const worker = newWorker();
          const api = wrap<TrainerApi>(worker);
          return { benchmark: api.benchmark, softwareGpu: api.softwareGpu, terminate: () => worker.terminate() };
        },
        log,
      }),
      userAgent: navigator.userAgent,
      inputSize: {
        get: () => Number(safeLocalStorage()?.getItem('glimpse-input-size')) || null,
        set: (n) => safeLocalStorage()?.setItem('glimpse-input-size', String(n)),
      },
      log,
    });
    contributor = c;
    void c.run();
    return c;
  });

  return {
    handlers: {
      'offscreen:ingest': {
        from: ['extension-page'],
        async handle(m) {
          return { stored: await (await ready).ingest(m.urls) };
        },
      },
      'offscreen:clear': {
        from: ['extension-page'],
        async handle() {
          return { buffered: await (await ready).clear() };
        },
      },
      'offscreen:wake': {
        from: ['extension-page'],
        async handle() {
          (await ready).wake();
          return { ok: true };
        },
      },
    },
    stop() {
      void ready.then((c) => c.stop());
      trainer.terminate();
    },
  };
}

/** A random pseudonymous id, kept across sessions so the server can count one contributor once. */
function clientId(): string {
  const store = safeLocalStorage();
  let id = store?.getItem('glimpse-client-id');
  if (!id) {
    id = `ext-${crypto.randomUUID()}`;
    store?.setItem('glimpse-client-id', id);
  }
  return id;
}

function safeLocalStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
