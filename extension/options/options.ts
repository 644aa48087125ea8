/**
 * The options page: the settings form (each wrong field gets its own message, ./settings-form.ts),
 * site access granted or withdrawn in plain words, the extension id for server operators, and
 * deleting the buffered images (no pause needed: the trainer empties its own buffer).
 */
import browser from 'webextension-polyfill';
import { BENCH_KEY } from '../common/keys';
import type { ResponseOf } from '../common/messages';
import { benchSummary, describeBench, parseBench, type BackendBench } from '../common/backend-bench';
import type { Settings } from '../common/settings';
import { grantImageAccess, revokeImageAccess, showExtensionId } from './access';
import { describeAccess, readSettingsForm, type FieldErrors, type FormValues } from './settings-form';

const form = document.getElementById('form') as HTMLFormElement;
const field = <T extends HTMLElement = HTMLInputElement>(id: string) => document.getElementById(id) as unknown as T;
const FIELDS = ['serverUrl', 'token', 'dailyBudgetMinutes', 'cpuPercent', 'maxCores', 'backend', 'denyList', 'allowList'] as const;

async function load(): Promise<void> {
  const { settings, bench } = (await browser.runtime.sendMessage({ to: 'background', type: 'status:get' })) as ResponseOf<'status:get'>;
  fill(settings);
  showBench(bench);
  await showAccess();
  showExtensionId(field('extId'), field('extOrigin'));
  field('maxCores-hint').textContent = `0 means half of this computer's ${navigator.hardwareConcurrency || 'unknown number of'} cores.`;
}

function fill(s: Settings): void {
  for (const k of ['optedIn', 'paused', 'idleOnly', 'pauseOnBattery'] as const) field(k).checked = s[k];
  field('serverUrl').value = s.serverUrl;
  field('token').value = s.token;
  field('dailyBudgetMinutes').value = String(s.dailyBudgetMinutes);
  field('cpuPercent').value = String(s.cpuPercent);
  field('maxCores').value = String(s.maxCores);
  field<HTMLSelectElement>('backend').value = s.backend;
  field<HTMLTextAreaElement>('denyList').value = s.denyList.join('\n');
  field<HTMLTextAreaElement>('allowList').value = s.allowList.join('\n');
}

function values(): FormValues {
  const text = (id: string) => field<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(id).value;
  return {
    optedIn: field('optedIn').checked, paused: field('paused').checked, idleOnly: field('idleOnly').checked, pauseOnBattery: field('pauseOnBattery').checked,
    serverUrl: text('serverUrl'), token: text('token'), dailyBudgetMinutes: text('dailyBudgetMinutes'), cpuPercent: text('cpuPercent'),
    maxCores: text('maxCores'), backend: text('backend'), denyList: text('denyList'), allowList: text('allowList'),
  };
}

/** Each message next to its field (aria-invalid + aria-describedby), and a summary that names how many. */
function showErrors(errors: FieldErrors): void {
  for (const k of FIELDS) {
    const msg = errors[k];
    const el = field(`${k}-error`);
    el.hidden = !msg;
    el.textContent = msg ?? '';
    if (msg) field(k).setAttribute('aria-invalid', 'true');
    else field(k).removeAttribute('aria-invalid');
  }
  const n = Object.keys(errors).length;
  const summary = field('summary');
  summary.hidden = n === 0;
  summary.textContent = n === 1 ? 'Not saved: one setting needs a fix (marked below).' : `Not saved: ${n} settings need a fix (marked below).`;
  const first = FIELDS.find((k) => errors[k]);
  if (first) field(first).focus();
}

/** The Automatic choice's timings, one line per backend. */
function showBench(bench: BackendBench | null): void {
  field('bench-summary').textContent = benchSummary(bench);
  field('bench').replaceChildren(...(bench ? describeBench(bench) : []).map((line) => Object.assign(document.createElement('li'), { textContent: line })));
}

async function showAccess(): Promise<void> {
  field('access').textContent = describeAccess((await browser.permissions.getAll()).origins ?? []);
}

field('grant').addEventListener('click', async () => {
  // Must run inside the click (a user gesture) for the browser to show its prompt.
  const ok = await grantImageAccess();
  field('result').textContent = ok ? 'Glimpse may now read images on websites.' : 'Access was not granted: nothing new can be collected.';
  await showAccess();
});
field('revoke').addEventListener('click', async () => {
  await revokeImageAccess();
  field('result').textContent = 'Glimpse no longer reads images on websites.';
  await showAccess();
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  // A save's outcome replaces the last one's: a stale "Saved." must not stand for this save.
  field('result').textContent = '';
  const { patch, errors } = readSettingsForm(values());
  showErrors(errors);
  if (!patch) {
    field('result').textContent = '';
    return;
  }
  try {
    const { settings } = (await browser.runtime.sendMessage({ to: 'background', type: 'settings:update', patch })) as ResponseOf<'settings:update'>;
    fill(settings);
    field('result').textContent = 'Saved.';
  } catch (err) {
    console.warn('[glimpse] saving settings failed', err);
    field('result').textContent = 'Not saved: the extension could not store the settings. Please try again.';
  }
});

field('forget').addEventListener('click', async () => {
  try {
    await browser.runtime.sendMessage({ to: 'background', type: 'buffer:clear' });
    field('result').textContent = 'Buffered images deleted.';
  } catch (err) {
    console.warn('[glimpse] deleting the buffer failed', err);
    field('result').textContent = 'The images could not be deleted. Please try again.';
  }
});

field('remeasure').addEventListener('click', async () => {
  await browser.runtime.sendMessage({ to: 'background', type: 'bench:reset' });
  showBench(null);
  field('result').textContent = 'The backends will be measured again before the next training round.';
});
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && BENCH_KEY in changes) showBench(parseBench(changes[BENCH_KEY].newValue));
});

void load();
