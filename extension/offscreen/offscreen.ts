/**
 * Chrome's offscreen document (reason WORKERS): hosts the trainer. It can only use
 * runtime messaging, so the policy port is messages to the service worker (which wake it if it
 * was stopped).
 */
import browser from 'webextension-polyfill';
import { dispatch, senderKind, toOffscreenSchema, type Lease } from '../common/messages';
import { startTrainerSide } from './trainer-side';

const side = startTrainerSide({
  lease: (device) => browser.runtime.sendMessage({ to: 'background', type: 'trainer:lease', device }) as Promise<Lease>,
  report: async (report) => {
    await browser.runtime.sendMessage({ to: 'background', type: 'trainer:report', report });
  },
  saveBench: async (bench) => {
    await browser.runtime.sendMessage({ to: 'background', type: 'trainer:bench', bench });
  },
});

const origin = browser.runtime.getURL('');
browser.runtime.onMessage.addListener((raw: unknown, sender: browser.Runtime.MessageSender) => {
  if ((raw as { to?: unknown } | null)?.to !== 'offscreen') return undefined;
  // The service worker's sender has our origin and no tab.
  return dispatch(toOffscreenSchema, 'offscreen', side.handlers, raw, { kind: senderKind(sender, browser.runtime.id, origin), url: sender.url, incognito: false });
});
