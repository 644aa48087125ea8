/** The toolbar popup: what the extension is doing, and pause/resume. Reads stats, never polls hard. */
import browser from 'webextension-polyfill';
import type { ResponseOf } from '../common/messages';
import { SETTINGS_KEY, STATS_KEY } from '../common/keys';
import { renderSparkline } from './sparkline';

const $ = (id: string) => document.getElementById(id)!;

async function render(): Promise<void> {
  const { settings, stats, budgetLeftMs } = (await browser.runtime.sendMessage({ to: 'background', type: 'status:get' })) as ResponseOf<'status:get'>;
  const conn = $('conn');
  const active = settings.optedIn && !settings.paused;
  conn.textContent = !settings.optedIn ? 'Not contributing' : settings.paused ? 'Paused' : stats.connected ? 'Connected' : 'Not connected';
  conn.className = `badge ${active && stats.connected ? 'ok' : 'off'}`;
  $('waiting').textContent = !settings.optedIn ? 'Open Settings to opt in.' : settings.paused ? 'Nothing is watched or trained while paused.' : (stats.waiting ?? 'Training');
  const server = $('server');
  server.textContent = settings.serverUrl ? new URL(settings.serverUrl).host : '—';
  server.title = settings.serverUrl;
  $('version').textContent = stats.modelVersion === null ? '—' : String(stats.modelVersion);
  $('backend').textContent = stats.backend ?? '—';
  $('buffered').textContent = String(stats.buffered);
  $('steps').textContent = String(stats.steps);
  $('updates').textContent = `${stats.updatesAccepted} of ${stats.updatesSubmitted}`;
  const last = stats.losses.at(-1);
  $('loss').textContent = last === undefined ? '—' : last.toFixed(4);
  $('stepms').textContent = stats.stepMs === null ? '—' : `${(stats.stepMs / 1000).toFixed(2)} s`;
  $('budget').textContent = `${Math.round(budgetLeftMs / 60_000)} min`;
  $('spark').replaceChildren(renderSparkline(document, stats.losses));
  const err = $('error');
  err.hidden = !stats.lastError;
  err.textContent = stats.lastError ?? '';
  const pause = $('pause') as HTMLButtonElement;
  pause.textContent = settings.paused ? 'Resume' : 'Pause';
  pause.disabled = !settings.optedIn;
  pause.dataset.paused = String(settings.paused);
}

$('pause').addEventListener('click', async (e) => {
  const paused = (e.currentTarget as HTMLElement).dataset.paused !== 'true';
  await browser.runtime.sendMessage({ to: 'background', type: 'settings:update', patch: { paused } });
  await render();
});
$('options').addEventListener('click', () => void browser.runtime.openOptionsPage());
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && (STATS_KEY in changes || SETTINGS_KEY in changes)) void render();
});
void render();
