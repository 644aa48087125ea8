/**
 * The first-run page (opened once, on install): what is collected and sent, what an update can
 * reveal and whether the chosen server adds differential privacy, the data used per update and
 * per day, and the consent itself — grant site access and opt in, or revoke both.
 */
import browser from 'webextension-polyfill';
import type { ResponseOf } from '../common/messages';
import { bandwidthLine, dpLine, fetchServerStatus, updatesPerDayBound } from '../common/server-status';
import { settingFields, type Settings } from '../common/settings';
import { grantImageAccess, revokeImageAccess, showExtensionId } from '../options/access';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const url = $<HTMLInputElement>('serverUrl');
let current: ResponseOf<'status:get'> | null = null;

async function describeServer(): Promise<void> {
  const address = url.value.trim();
  if (!settingFields.serverUrl.safeParse(address).success || !address) return;
  const status = await fetchServerStatus(address);
  const s: Settings | undefined = current?.settings;
  $('dp').textContent = dpLine(status);
  const t = status?.transfer ?? null;
  const perDay = t && s
    ? updatesPerDayBound({ budgetMinutes: s.dailyBudgetMinutes, maxUpdatesPerMinute: t.maxUpdatesPerMinute, localSteps: t.localSteps, stepMs: current?.stats.stepMs ?? null, cpuPercent: s.cpuPercent })
    : null;
  $('bandwidth').textContent = status
    ? `${bandwidthLine(t, perDay)}${perDay === null && t ? ' How many updates a day depends on how fast this computer trains; the popup shows what was actually sent.' : ''}`
    : "The server could not be reached, so its model size is unknown.";
}

async function save(patch: Partial<Settings>): Promise<void> {
  ({ settings: current!.settings } = (await browser.runtime.sendMessage({ to: 'background', type: 'settings:update', patch })) as ResponseOf<'settings:update'>);
}

$('start').addEventListener('click', async () => {
  const address = url.value.trim();
  const error = $('serverUrl-error');
  const ok = address !== '' && settingFields.serverUrl.safeParse(address).success;
  error.hidden = ok;
  error.textContent = ok ? '' : "Enter the server's full address, starting with http:// or https://.";
  url.toggleAttribute('aria-invalid', !ok);
  if (!ok) return url.focus();
  // The permission prompt needs this click's user gesture: ask before anything else.
  const granted = await grantImageAccess();
  await save({ optedIn: true, paused: false, serverUrl: address });
  $('result').textContent = granted
    ? 'Thank you: Glimpse is on. The toolbar button shows what it is doing.'
    : 'Glimpse is on, but without access to websites it cannot collect pictures. Allow it here or in the settings.';
});

$('stop').addEventListener('click', async () => {
  await revokeImageAccess();
  await save({ optedIn: false });
  $('result').textContent = 'Glimpse is off and may no longer read images on websites.';
});

$('settings').addEventListener('click', () => void browser.runtime.openOptionsPage());
url.addEventListener('change', () => void describeServer());

void (async () => {
  showExtensionId($('extId'), $('extOrigin'));
  current = (await browser.runtime.sendMessage({ to: 'background', type: 'status:get' })) as ResponseOf<'status:get'>;
  url.value = current.settings.serverUrl;
  await describeServer();
})();
