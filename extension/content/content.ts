/**
 * Content script entry: asks the background whether this page may be watched (opt-in, pause,
 * domain lists, never incognito), then reports the images the person sees. Only URLs leave the
 * page, and only to the extension's own background.
 *
 * It may be injected into a page that already runs an older copy (after an extension update the
 * old one is orphaned, its messages fail): a start event on the shared DOM stops any other copy.
 */
import browser from 'webextension-polyfill';
import type { ResponseOf } from '../common/messages';
import { watchImages } from './image-watch';

const START_EVENT = 'glimpse:content-start';

async function main(): Promise<void> {
  if (browser.extension.inIncognitoContext) return;
  const stop = new AbortController();
  document.dispatchEvent(new CustomEvent(START_EVENT));
  document.addEventListener(START_EVENT, () => stop.abort(), { once: true, signal: stop.signal });
  const answer = (await browser.runtime.sendMessage({ to: 'background', type: 'page:query' })) as ResponseOf<'page:query'> | undefined;
  if (!answer?.observe || stop.signal.aborted) return;
  const watch = watchImages(document, (urls) => {
    browser.runtime.sendMessage({ to: 'background', type: 'images:seen', urls }).catch(() => {
      // "Extension context invalidated": the extension was reloaded or removed; stop for good.
      if (!browser.runtime?.id) stop.abort();
    });
  }, stop.signal);
  // Leaving the page (or hiding it, which may be the last chance on mobile): report what is
  // waiting now; a pending batch would otherwise die with the page.
  window.addEventListener('pagehide', () => watch.flush(), { signal: stop.signal });
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && watch.flush(), { signal: stop.signal });
}

main().catch(() => {});
