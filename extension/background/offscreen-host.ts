/// <reference types="chrome" />
/**
 * Chrome's offscreen document as the trainer host. Only one offscreen document may exist per
 * extension, and the service worker can be stopped and restarted at any time, so creation is
 * guarded twice (as in Chrome's offscreen samples): `runtime.getContexts` asks the browser
 * whether the document already exists (true after a service-worker restart too), and an
 * in-progress promise stops two concurrent callers of one worker lifetime from both creating it.
 */
import type { ToOffscreen } from '../common/messages';
import type { TrainerHost } from './trainer-host';

export const OFFSCREEN_PATH = 'offscreen.html';

export function createOffscreenHost(): TrainerHost {
  const url = chrome.runtime.getURL(OFFSCREEN_PATH);
  let creating: Promise<void> | null = null;

  const exists = async () =>
    (await chrome.runtime.getContexts({ contextTypes: [chrome.runtime.ContextType.OFFSCREEN_DOCUMENT], documentUrls: [url] })).length > 0;

  return {
    async ensure() {
      if (creating) return creating;
      if (await exists()) return;
      if (creating) return creating; // another caller started while we awaited
      creating = chrome.offscreen
        .createDocument({
          url: OFFSCREEN_PATH,
          reasons: [chrome.offscreen.Reason.WORKERS],
          justification: 'Runs the Glimpse training Web Worker (TensorFlow.js on WebGPU) and decodes images into the local buffer.',
        })
        .catch(async (e: Error) => {
          // Lost a race with a previous worker lifetime's request: fine if it exists now.
          if (!(await exists())) throw e;
        })
        .finally(() => {
          creating = null;
        });
      return creating;
    },
    async close() {
      if (creating) await creating.catch(() => {});
      if (await exists()) await chrome.offscreen.closeDocument().catch(() => {});
    },
    async send(msg: ToOffscreen) {
      if (!(await exists())) return undefined;
      return chrome.runtime.sendMessage(msg);
    },
    isRunning: exists,
  };
}
