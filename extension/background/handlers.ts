/**
 * The background's message handlers, by name. Each declares which senders may use it: content
 * scripts may only ask about their page and report images; settings, stats and trainer leases
 * are for the extension's own pages.
 */
import browser from 'webextension-polyfill';
import type { HandlerMap, ToBackground } from '../common/messages';
import { budgetLeftMs, mayObservePage, mayTrain, type IdleState } from '../common/policy';
import { applyReport, getSettings, getStats, getUsage, updateSettings } from './state';
import type { TrainerHost } from './trainer-host';

/** chrome.idle: the person counts as away after this many seconds without input. */
export const IDLE_AFTER_S = 60;

export interface BackgroundDeps {
  host: TrainerHost;
  /** Re-applies settings: trainer up or down, content script registration. */
  reconcile: () => Promise<void>;
}

export function createHandlers({ host, reconcile }: BackgroundDeps): HandlerMap<ToBackground> {
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
        return { settings, stats: await getStats(), budgetLeftMs: budgetLeftMs(settings, await getUsage()) };
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
    'trainer:lease': {
      from: ['extension-page'],
      async handle() {
        const settings = await getSettings();
        const usage = await getUsage();
        const idle = (await browser.idle.queryState(IDLE_AFTER_S)) as IdleState;
        const d = mayTrain(settings, usage, idle);
        if (!d.ok) return d;
        return { ok: true, serverUrl: settings.serverUrl, token: settings.token, budgetMs: budgetLeftMs(settings, usage), backend: settings.backend };
      },
    },
    'trainer:report': {
      from: ['extension-page'],
      async handle(m) {
        await applyReport(m.report);
        return { ok: true };
      },
    },
  };
}
