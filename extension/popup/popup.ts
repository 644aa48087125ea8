/**
 * The toolbar popup: one plain sentence about what the extension is doing (./popup-state.ts),
 * today's contribution, the shared model's progress from the server, pause/resume, and a
 * Details section for experts. Re-renders when the stats or settings change; never polls hard.
 */
import browser from 'webextension-polyfill';
import { BENCH_KEY } from '../common/keys';
import { describeBench, fastest } from '../common/backend-bench';
import type { ResponseOf } from '../common/messages';
import { formatBytes } from '../common/format';
import { SETTINGS_KEY, STATS_KEY } from '../common/keys';
import { fetchServerStatus, progressLine } from '../common/server-status';
import { localDay } from '../common/day';
import { popupView, todayLine } from './popup-state';
import { renderSparkline } from './sparkline';

const $ = (id: string) => document.getElementById(id)!;

async function siteAccess(): Promise<boolean> {
  const origins = (await browser.permissions.getAll()).origins ?? [];
  return origins.some((o) => /^(https?|\*):\/\//.test(o) || o === '<all_urls>');
}

async function render(): Promise<void> {
  const { settings, stats, budgetLeftMs, bench } = (await browser.runtime.sendMessage({ to: 'background', type: 'status:get' })) as ResponseOf<'status:get'>;
  const view = popupView({ settings, stats, budgetLeftMs, siteAccess: await siteAccess() });
  const state = $('state');
  state.dataset.state = view.state;
  state.dataset.tone = view.tone;
  $('headline').textContent = view.headline;
  $('detail').textContent = view.detail;
  $('today').textContent = todayLine(stats);

  const server = $('server');
  server.textContent = settings.serverUrl ? new URL(settings.serverUrl).host : '—';
  server.title = settings.serverUrl;
  $('conn').textContent = stats.connected ? 'Connected' : 'Not connected';
  $('version').textContent = stats.modelVersion === null ? '—' : String(stats.modelVersion);
  // With Automatic, the measured fastest too (the timings as a tooltip).
  const best = settings.backend === 'auto' ? fastest(bench) : null;
  // On wasm, how many cores a step uses, and why only one when the setting allows more.
  const threads = stats.backend === 'wasm' && stats.threads ? `, ${stats.threads}` : '';
  $('backend').textContent = `${stats.backend ?? '—'}${threads}${best ? ` (Automatic: ${best} measured fastest)` : ''}`;
  $('backend').title = best && bench ? describeBench(bench).join('\n') : '';
  $('buffered').textContent = String(stats.buffered);
  $('steps').textContent = String(stats.steps);
  $('updates').textContent = `${stats.updatesAccepted} of ${stats.updatesSubmitted}`;
  const last = stats.losses.at(-1);
  $('loss').textContent = last === undefined ? '—' : last.toFixed(4);
  $('stepms').textContent = stats.stepMs === null ? '—' : `${(stats.stepMs / 1000).toFixed(2)} s`;
  $('received').textContent = stats.today.day === localDay(Date.now()) ? formatBytes(stats.today.bytesReceived) : '—';
  $('budget').textContent = `${Math.round(budgetLeftMs / 60_000)} min`;
  $('spark').replaceChildren(renderSparkline(document, stats.losses));
  const err = $('error');
  err.hidden = !stats.lastError;
  err.textContent = stats.lastError ?? '';
  const pause = $('pause') as HTMLButtonElement;
  pause.textContent = settings.paused ? 'Resume' : 'Pause';
  pause.disabled = !settings.optedIn;
  pause.dataset.paused = String(settings.paused);
  void showProgress(settings.serverUrl);
}

let progressFor = '';
/** The shared model's progress from the server's public status (once per popup opening and server). */
async function showProgress(serverUrl: string): Promise<void> {
  if (!serverUrl || serverUrl === progressFor) return;
  progressFor = serverUrl;
  const line = progressLine(await fetchServerStatus(serverUrl));
  const p = $('progress');
  p.hidden = !line;
  p.textContent = line ?? '';
}

$('pause').addEventListener('click', async (e) => {
  const paused = (e.currentTarget as HTMLElement).dataset.paused !== 'true';
  await browser.runtime.sendMessage({ to: 'background', type: 'settings:update', patch: { paused } });
  await render();
});
$('options').addEventListener('click', () => void browser.runtime.openOptionsPage());
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && (STATS_KEY in changes || SETTINGS_KEY in changes || BENCH_KEY in changes)) void render();
});
void render();
