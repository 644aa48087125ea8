/**
 * Content script entry: asks the background whether this page may be watched (opt-in, pause,
 * domain lists, never incognito), then reports the images the person sees. Only URLs leave the
 * page, and only to the extension's own background.
 */
import browser from 'webextension-polyfill';
import type { ResponseOf } from '../common/messages';
import { watchImages } from './image-watch';

async function main(): Promise<void> {
  if (browser.extension.inIncognitoContext) return;
  const answer = (await browser.runtime.sendMessage({ to: 'background', type: 'page:query' })) as ResponseOf<'page:query'> | undefined;
  if (!answer?.observe) return;
  const stop = new AbortController();
  watchImages(document, (urls) => {
    browser.runtime.sendMessage({ to: 'background', type: 'images:seen', urls }).catch(() => {
      // "Extension context invalidated": the extension was reloaded or removed; stop for good.
      if (!browser.runtime?.id) stop.abort();
    });
  }, stop.signal);
  // The extension was reloaded or removed: this script is orphaned, stop watching.
  window.addEventListener('pagehide', () => stop.abort(), { once: true });
}

main().catch(() => {});
