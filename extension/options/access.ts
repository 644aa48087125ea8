/** Site access (the optional host permission) and the extension's id, shared by the options and first-run pages. */
import browser from 'webextension-polyfill';

/** The optional host permission a person grants when opting in: fetching the images they see. */
export const IMAGE_ORIGINS = ['http://*/*', 'https://*/*'];

/** Asks the browser (call inside a click: the prompt needs a user gesture). */
export const grantImageAccess = (): Promise<boolean> => browser.permissions.request({ origins: IMAGE_ORIGINS });

/** Withdraws every site access the person granted; the content script goes with it. */
export async function revokeImageAccess(): Promise<void> {
  // Everything granted at run time (all sites, or the few a person chose); not what the manifest requires.
  const required = new Set((browser.runtime.getManifest() as { host_permissions?: string[] }).host_permissions ?? []);
  const granted = ((await browser.permissions.getAll()).origins ?? []).filter((o) => (/^(https?|\*):\/\//.test(o) || o === '<all_urls>') && !required.has(o));
  if (granted.length) await browser.permissions.remove({ origins: granted });
}

/** Fills in this extension's id and origin (what a server operator adds to its allowed origins). */
export function showExtensionId(idEl: HTMLElement, originEl: HTMLElement): void {
  idEl.textContent = browser.runtime.id;
  originEl.textContent = new URL(browser.runtime.getURL('')).origin;
}
