/**
 * The admin dashboard in the browser: signs in with the admin token (typed, or `/admin#token=…`,
 * kept in sessionStorage only), subscribes to the `/admin` Socket.IO namespace, draws the run
 * from the snapshot and appends every tick. Entry point of the bundle (esbuild,
 * server/dashboard/assets.ts); no framework. The parts: model.ts (the run as the client holds
 * it), tables.ts (stat tiles and tables), charts.ts (uPlot charts), format.ts; this file wires
 * them to the socket, the page states and the operator's actions.
 */
import { io, type Socket } from 'socket.io-client';
import type { ActionRequest, ActionResult, AdminClientEvents, AdminServerEvents, Snapshot, Tick } from '../protocol';
import { observeChartSizes, renderCharts, resetCharts } from './charts';
import { $ } from './format';
import { applyTick, modelOf, type Model } from './model';
import { renderActions, renderContributors, renderRejections, renderStats } from './tables';

const TOKEN_KEY = 'glimpse-admin-token';
const THEME_KEY = 'glimpse-admin-theme';

let model: Model | null = null;
let socket: Socket<AdminServerEvents, AdminClientEvents> | null = null;

function onSnapshot(s: Snapshot): void {
  model = modelOf(s);
  showDashboard();
  resetCharts();
  renderAll();
}

function onTick(t: Tick): void {
  if (!model) return;
  applyTick(model, t);
  renderAll();
}

// ---- page states ------------------------------------------------------------------------------

let renderQueued = false;
function renderAll(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const m = model;
    if (!m) return;
    renderStats(m);
    renderContributors(m, revokeArmed);
    renderRejections(m);
    renderActions(m);
    renderCharts(m);
  });
}

function setLive(state: 'live' | 'retry' | 'off', text: string): void {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function showLogin(error?: string): void {
  $('dash').hidden = true;
  $('toolbar').hidden = true;
  $('login').hidden = false;
  const e = $('login-error');
  e.hidden = !error;
  e.textContent = error ?? '';
  setLive('off', 'signed out');
  $<HTMLInputElement>('token').focus();
}

function showDashboard(): void {
  $('login').hidden = true;
  $('dash').hidden = false;
  $('toolbar').hidden = false;
}

function toast(text: string, ok: boolean): void {
  const t = document.createElement('div');
  t.className = `toast${ok ? '' : ' bad'}`;
  t.textContent = text;
  $('toasts').appendChild(t);
  setTimeout(() => t.remove(), 5000);
}

function connect(token: string): void {
  socket?.close();
  setLive('retry', 'connecting…');
  const s: Socket<AdminServerEvents, AdminClientEvents> = io('/admin', { auth: { token }, transports: ['websocket'], reconnectionDelayMax: 5000 });
  socket = s;
  s.on('connect', () => setLive('live', 'live'));
  s.on('disconnect', (reason) => setLive('retry', reason === 'io client disconnect' ? 'offline' : 'reconnecting…'));
  s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    if (err.data?.code === 'unauthorized' || /unauthorized/i.test(err.message)) {
      s.close();
      sessionStorage.removeItem(TOKEN_KEY);
      model = null;
      showLogin('Access denied: that admin token is not valid.');
    } else setLive('retry', 'server unreachable, retrying…');
  });
  s.on('dash:snapshot', onSnapshot);
  s.on('dash:tick', onTick);
}

async function act(req: ActionRequest, button?: HTMLButtonElement): Promise<void> {
  if (!socket?.connected) return toast('not connected to the server', false);
  if (button) button.disabled = true;
  try {
    const r: ActionResult = await socket.timeout(60_000).emitWithAck('admin:action', req);
    toast(r.message, r.ok);
  } catch {
    toast(`${req.action}: no answer from the server`, false);
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Armed row buttons by socket id, until when. The contributors table is re-rendered every tick, so
 * the armed state lives here, not on the (replaced) button element.
 */
const armedRevokes = new Map<string, number>();
const revokeArmed = (socketId: string) => (armedRevokes.get(socketId) ?? 0) > Date.now();

/** Two-step buttons for destructive actions: the first click arms, the second (within 4 s) fires. */
function armed(button: HTMLButtonElement, label: string): boolean {
  if (button.classList.contains('armed')) return true;
  const original = button.textContent;
  button.classList.add('armed');
  button.textContent = label;
  setTimeout(() => {
    button.classList.remove('armed');
    button.textContent = original;
  }, 4000);
  return false;
}

// ---- theme ----------------------------------------------------------------------------------------

const THEMES = ['auto', 'dark', 'light'] as const;
function applyTheme(theme: string): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('btn-theme').title = `Theme: ${theme}`;
  // uPlot draws on canvas with resolved colours: rebuild the charts in the new palette.
  resetCharts();
  if (model) renderAll();
}

// ---- start ------------------------------------------------------------------------------------------

function start(): void {
  applyTheme(localStorage.getItem(THEME_KEY) ?? 'auto');
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(localStorage.getItem(THEME_KEY) ?? 'auto'));
  $('btn-theme').addEventListener('click', () => {
    const next = THEMES[(THEMES.indexOf((localStorage.getItem(THEME_KEY) ?? 'auto') as (typeof THEMES)[number]) + 1) % THEMES.length];
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
  });
  observeChartSizes();

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login-error').hidden = true;
    connect(token);
  });
  $('btn-logout').addEventListener('click', () => {
    socket?.close();
    socket = null;
    model = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });
  $('btn-pause').addEventListener('click', (e) => void act({ action: model?.state.pausedAt !== null ? 'resume' : 'pause' }, e.currentTarget as HTMLButtonElement));
  $('btn-checkpoint').addEventListener('click', (e) => void act({ action: 'checkpoint' }, e.currentTarget as HTMLButtonElement));
  $('btn-flush').addEventListener('click', (e) => void act({ action: 'flush' }, e.currentTarget as HTMLButtonElement));
  $('t-contributors').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-revoke]');
    if (!b) return;
    const id = b.dataset.revoke!;
    if (revokeArmed(id)) {
      armedRevokes.delete(id);
      void act({ action: 'revoke', socketId: id }, b);
    } else {
      armedRevokes.set(id, Date.now() + 4000);
      b.classList.add('armed');
      b.textContent = 'Click again to revoke';
    }
  });
  $('revoke-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('revoke-token');
    const button = (e.currentTarget as HTMLFormElement).querySelector('button')!;
    if (!input.value.trim() || !armed(button, 'Click again to revoke')) return;
    void act({ action: 'revoke', token: input.value.trim() }, button).then(() => (input.value = ''));
  });

  // A token link (/admin#token=…) signs in once; the fragment never reaches the server, and is removed from the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) connect(token);
  else showLogin();
  // "… ago" texts and durations move even when nothing else happens.
  setInterval(() => model && renderStats(model), 1000);
}

start();
