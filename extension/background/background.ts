/**
 * The background's wiring, shared by Chrome's service worker and Firefox's background page.
 * Listeners are registered synchronously on load (an MV3 service worker only receives events
 * whose listeners exist after its first turn). Policy lives in ../common/policy.ts, handlers in
 * ./handlers.ts; this file only connects browser events to them.
 */
import browser from 'webextension-polyfill';
import { dispatch, senderKind, toBackgroundSchema, type HandlerMap, type ToBackground } from '../common/messages';
import { SETTINGS_KEY, type Settings } from '../common/settings';
import { showTraining } from './badge';
import { createHandlers, IDLE_AFTER_S } from './handlers';
import { CONTENT_SCRIPT_FILE, injectIntoOpenTabs } from './reinject';
import { getSettings } from './state';
import type { TrainerHost } from './trainer-host';

export const TICK_ALARM = 'glimpse-tick';
export const CONTENT_SCRIPT_ID = 'glimpse-images';
/** The first-run page: what is collected and sent, and the consent to start. */
export const WELCOME_PAGE = 'welcome.html';

export interface Background {
  handlers: HandlerMap<ToBackground>;
  reconcile(): Promise<void>;
}

export function startBackground(host: TrainerHost): Background {
  let reconciling: Promise<void> | null = null;
  /** Brings the world in line with the settings; concurrent calls share one run. */
  const reconcile = (): Promise<void> =>
    (reconciling ??= (async () => {
      try {
        const s = await getSettings();
        const newlyRegistered = await syncContentScript(s.optedIn && !s.paused, s.denyList).catch((e) => (logError(e), false));
        if (newlyRegistered) await injectIntoOpenTabs(s).catch(logError);
        if (s.optedIn && !s.paused) {
          await host.ensure();
          await host.send({ to: 'offscreen', type: 'offscreen:wake' }).catch(() => {});
        } else {
          await host.close();
          showTraining(false, null);
        }
      } finally {
        reconciling = null;
      }
    })());

  const handlers = createHandlers({ host, reconcile, showTraining });
  const extensionOrigin = browser.runtime.getURL('');

  browser.runtime.onMessage.addListener((raw: unknown, sender: browser.Runtime.MessageSender) => {
    if ((raw as { to?: unknown } | null)?.to !== 'background') return undefined; // someone else's
    const kind = senderKind(sender, browser.runtime.id, extensionOrigin);
    return dispatch(toBackgroundSchema, 'background', handlers, raw, {
      kind,
      // A content script's frame URL (the page whose images it reports).
      url: sender.url ?? sender.tab?.url,
      tabId: sender.tab?.id,
      incognito: sender.tab?.incognito ?? false,
    });
  });

  browser.alarms.onAlarm.addListener((a) => {
    if (a.name === TICK_ALARM) void reconcile().catch(logError);
  });
  browser.idle.setDetectionInterval(IDLE_AFTER_S);
  browser.idle.onStateChanged.addListener(() => void reconcile().catch(logError));
  browser.permissions.onAdded.addListener(() => void reconcile().catch(logError));
  browser.permissions.onRemoved.addListener(() => void reconcile().catch(logError));
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && SETTINGS_KEY in changes) void reconcile().catch(logError);
  });
  browser.runtime.onInstalled.addListener((details) => void onInstalled(details.reason).catch(logError));

  // Every start of the worker (install, browser start, restart after being stopped): make sure
  // the alarm exists and the trainer runs if it should. ensure() finds an existing offscreen
  // document instead of creating a second one.
  void browser.alarms.get(TICK_ALARM).then(async (a) => {
    if (!a) await browser.alarms.create(TICK_ALARM, { periodInMinutes: 1 });
  });
  void reconcile().catch(logError);
  return { handlers, reconcile };
}

/**
 * A first install opens the first-run page, once. An update (of the extension, not of the
 * browser) orphans the content scripts of open tabs: they get the new one.
 */
async function onInstalled(reason: string): Promise<void> {
  if (reason === 'install') await browser.tabs.create({ url: browser.runtime.getURL(WELCOME_PAGE) });
  else if (reason === 'update') {
    const s: Settings = await getSettings();
    if (s.optedIn && !s.paused) await injectIntoOpenTabs(s);
  }
}

/**
 * The content script is registered at run time, only while the person contributes, and only
 * for the http(s) origins they granted: before opt-in no extension code runs on any page.
 * Returns true when the registration changed to a new, active one.
 */
async function syncContentScript(active: boolean, denyList: string[]): Promise<boolean> {
  const granted = ((await browser.permissions.getAll()).origins ?? []).filter((o) => /^(https?|\*):\/\//.test(o) || o === '<all_urls>');
  // Excluded sites get no script at all (the background would refuse them anyway).
  const excluded = denyList.flatMap((d) => (/^[\d.]+$/.test(d) ? [`*://${d}/*`] : [`*://${d}/*`, `*://*.${d}/*`]));
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  const want = active && granted.length > 0;
  const same =
    existing.length === 1 &&
    JSON.stringify(existing[0].matches ?? []) === JSON.stringify(granted) &&
    JSON.stringify(existing[0].excludeMatches ?? []) === JSON.stringify(excluded);
  if (want && same) return false;
  if (existing.length) await browser.scripting.unregisterContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (want) {
    await browser.scripting.registerContentScripts([
      { id: CONTENT_SCRIPT_ID, matches: granted, excludeMatches: excluded, js: [CONTENT_SCRIPT_FILE], runAt: 'document_idle', allFrames: false, persistAcrossSessions: true },
    ]);
  }
  /** Open tabs need the script injected when it was just registered or its sites changed. */
  return want;
}

function logError(e: unknown): void {
  console.warn('[glimpse]', e);
}
