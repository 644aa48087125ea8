/**
 * Pages that were open before the content script was registered (opt-in, a new site grant) or
 * whose script was orphaned by an extension update get it injected now, instead of collecting
 * nothing until reloaded. The script itself asks the background whether it may watch the page
 * (content.ts), and stops an orphaned copy of itself.
 */
import browser from 'webextension-polyfill';
import { mayObservePage } from '../common/policy';
import type { Settings } from '../common/settings';

export const CONTENT_SCRIPT_FILE = 'content.js';

/** Injects the content script into every open tab the settings allow; returns how many. */
export async function injectIntoOpenTabs(s: Settings): Promise<number> {
  // tabs.query reveals a tab's URL only on origins the extension may access: exactly those.
  const tabs = await browser.tabs.query({});
  let n = 0;
  for (const tab of tabs) {
    if (tab.id === undefined || tab.incognito || !mayObservePage(s, tab.url).ok) continue;
    try {
      await browser.scripting.executeScript({ target: { tabId: tab.id }, files: [CONTENT_SCRIPT_FILE] });
      n++;
    } catch {
      // Not injectable (an error page, a discarded tab, access revoked): it gets the script on its next load.
    }
  }
  return n;
}
