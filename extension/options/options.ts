/** The options page: settings form, opt-in with the optional host permission, buffer deletion. */
import browser from 'webextension-polyfill';
import type { ResponseOf } from '../common/messages';
import type { Settings } from '../common/settings';

/** The optional host permission a person grants when opting in: fetching the images they see. */
export const IMAGE_ORIGINS = ['http://*/*', 'https://*/*'];

const form = document.getElementById('form') as HTMLFormElement;
const field = <T extends HTMLElement = HTMLInputElement>(id: string) => document.getElementById(id) as unknown as T;
const lines = (s: string) => s.split(/[\s,]+/).map((l) => l.trim()).filter(Boolean);

async function load(): Promise<void> {
  const { settings } = (await browser.runtime.sendMessage({ to: 'background', type: 'status:get' })) as ResponseOf<'status:get'>;
  fill(settings);
  await showAccess();
}

function fill(s: Settings): void {
  field('optedIn').checked = s.optedIn;
  field('paused').checked = s.paused;
  field('serverUrl').value = s.serverUrl;
  field('token').value = s.token;
  field('idleOnly').checked = s.idleOnly;
  field('dailyBudgetMinutes').value = String(s.dailyBudgetMinutes);
  field<HTMLSelectElement>('backend').value = s.backend;
  field<HTMLTextAreaElement>('denyList').value = s.denyList.join('\n');
  field<HTMLTextAreaElement>('allowList').value = s.allowList.join('\n');
}

async function showAccess(): Promise<void> {
  const origins = ((await browser.permissions.getAll()).origins ?? []).filter((o) => /^(https?|\*):/.test(o));
  field('access').textContent = origins.length
    ? `Image access granted for: ${origins.join(', ')}`
    : 'No image access granted yet: nothing can be collected until you allow it.';
}

field('grant').addEventListener('click', async () => {
  // Must run inside the click (a user gesture) for the browser to show its prompt.
  const ok = await browser.permissions.request({ origins: IMAGE_ORIGINS });
  field('result').textContent = ok ? 'Image access granted.' : 'Image access not granted.';
  await showAccess();
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const patch = {
    optedIn: field('optedIn').checked,
    paused: field('paused').checked,
    serverUrl: field('serverUrl').value.trim(),
    token: field('token').value.trim(),
    idleOnly: field('idleOnly').checked,
    dailyBudgetMinutes: Number(field('dailyBudgetMinutes').value),
    backend: field<HTMLSelectElement>('backend').value as Settings['backend'],
    denyList: lines(field<HTMLTextAreaElement>('denyList').value),
    allowList: lines(field<HTMLTextAreaElement>('allowList').value),
  };
  try {
    const { settings } = (await browser.runtime.sendMessage({ to: 'background', type: 'settings:update', patch })) as ResponseOf<'settings:update'>;
    fill(settings);
    field('result').textContent = 'Saved.';
  } catch (err) {
    field('result').textContent = `Not saved: ${(err as Error).message}`;
  }
});

field('forget').addEventListener('click', () => {
  const r = indexedDB.deleteDatabase('glimpse-buffer');
  r.onsuccess = () => (field('result').textContent = 'Buffered images deleted.');
  r.onblocked = () => (field('result').textContent = 'Pause first, then delete (the trainer is using the buffer).');
});

void load();
