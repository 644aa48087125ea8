/**
 * The background's message handlers, by name. Each declares which senders may use it: content
 * scripts may only ask about their page and report images; settings, stats, the buffer and
 * trainer leases are for the extension's own pages.
 */
import browser from 'webextension-polyfill';
import type { HandlerMap, ResponseOf, ToBackground } from '../common/messages';
import { budgetLeftMs, mayObservePage, mayTrain, type IdleState } from '../common/policy';
import { coresAllowed } from '../common/settings';
import { applyReport, getBench, getSettings, getStats, getUsage, setBench, setBuffered, updateSettings } from './state';
import type { TrainerHost } from './trainer-host';

/** chrome.idle: the person counts as away after this many seconds without input. */
export const IDLE_AFTER_S = 60;

/** The IndexedDB databases of the image buffer and the URL queue (extension/offscreen/image-buffer.ts, url-queue.ts). */
export const BUFFER_DBS = ['glimpse-buffer', 'glimpse-queue'];

export interface BackgroundDeps {
  host: TrainerHost;
  /** Re-applies settings: trainer up or down, content script registration. */
  reconcile: () => Promise<void>;
  /** Shows whether the trainer is training (the toolbar badge). */
  showTraining?: (training: boolean, backend: string | null) => void;
}

export function createHandlers({ host, reconcile, showTraining }: BackgroundDeps): HandlerMap<ToBackground> {
  return {
    'page:query': {
      from: ['content'],
      async handle(_m, sender) {
        if (sender.incognito) return { observe: false, reason: 'incognito' };
        const d = mayObservePage(await getSettings(), sender.url);
        return d.ok ? { observe: true } : { observe: false, reason: d.reason };
      },
    },
    'images:seen': {
      from: ['content'],
      async handle(m, sender) {
        if (sender.incognito || !mayObservePage(await getSettings(), sender.url).ok) return { forwarded: 0 };
        try {
          await host.ensure();
          await host.send({ to: 'offscreen', type: 'offscreen:ingest', urls: m.urls });
          return { forwarded: m.urls.length };
        } catch {
          return { forwarded: 0 }; // trainer starting up or gone; the page keeps watching
        }
      },
    },
    'status:get': {
      from: ['extension-page'],
      async handle() {
        const settings = await getSettings();
        return { settings, stats: await getStats(), budgetLeftMs: budgetLeftMs(settings, await getUsage()), bench: await getBench() };
      },
    },
    'settings:update': {
      from: ['extension-page'],
      async handle(m) {
        const settings = await updateSettings(m.patch);
        await reconcile();
        return { settings };
      },
    },
    'buffer:clear': {
      from: ['extension-page'],
      async handle() {
        // The trainer owns the open database: it clears it in place. Without a trainer nobody
        // holds it, and it is deleted here.
        const answer = (await host.send({ to: 'offscreen', type: 'offscreen:clear' }).catch(() => undefined)) as ResponseOf<'offscreen:clear'> | undefined;
        if (!answer) for (const db of BUFFER_DBS) await deleteDatabase(db);
        await setBuffered(answer?.buffered ?? 0);
        return { buffered: answer?.buffered ?? 0 };
      },
    },
    'trainer:lease': {
      from: ['extension-page'],
      async handle(m) {
        const settings = await getSettings();
        const usage = await getUsage();
        const idle = (await browser.idle.queryState(IDLE_AFTER_S)) as IdleState;
        const d = mayTrain(settings, usage, idle, m.device);
        if (!d.ok) return d;
        return {
          ok: true, serverUrl: settings.serverUrl, token: settings.token, budgetMs: budgetLeftMs(settings, usage), backend: settings.backend,
          cpuPercent: settings.cpuPercent, cores: coresAllowed(settings, globalThis.navigator?.hardwareConcurrency ?? 1),
          ...(settings.backend === 'auto' ? { bench: await getBench() } : {}),
        };
      },
    },
    'trainer:bench': {
      from: ['extension-page'],
      async handle(m) {
        await setBench(m.bench);
        return { ok: true };
      },
    },
    'bench:reset': {
      from: ['extension-page'],
      async handle() {
        await setBench(null);
        await reconcile(); // wakes the trainer, which measures before its next round
        return { ok: true };
      },
    },
    'trainer:report': {
      from: ['extension-page'],
      async handle(m) {
        const stats = await applyReport(m.report);
        showTraining?.(stats.waiting === null && stats.connected, stats.backend);
        return { ok: true };
      },
    },
  };
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
    // Blocked means an open connection remains (a trainer page going away); it completes once that closes.
    r.onblocked = () => resolve();
  });
}
