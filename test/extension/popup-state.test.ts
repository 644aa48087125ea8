/** The popup's words for each state, from settings + the trainer's report; and today's line. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, localDay, type Settings } from '../../extension/common/settings';
import { EMPTY_STATS, type Stats, type WaitCode } from '../../extension/common/stats';
import { popupView, todayLine } from '../../extension/popup/popup-state';

const on: Settings = { ...DEFAULT_SETTINGS, optedIn: true, serverUrl: 'https://glimpse.example.org', token: 'tok' };
const training: Stats = { ...EMPTY_STATS, connected: true, waiting: null, backend: 'wasm' };
const waiting = (code: WaitCode, text: string = code): Stats => ({ ...EMPTY_STATS, waiting: { code, text } });
const view = (settings: Settings, stats: Stats, o: { budgetLeftMs?: number; siteAccess?: boolean } = {}) =>
  popupView({ settings, stats, budgetLeftMs: o.budgetLeftMs ?? 60_000, siteAccess: o.siteAccess ?? true });

describe('popupView', () => {
  it('says where it trains, in words', () => {
    expect(view(on, training)).toMatchObject({ state: 'training', tone: 'ok', headline: 'Training on your processor' });
    expect(view(on, { ...training, backend: 'webgpu' }).headline).toBe('Training on your graphics card');
  });

  it('names each problem so a person can act on it', () => {
    expect(view(on, waiting('server-down')).headline).toBe("Can't reach the server");
    expect(view(on, waiting('server-down')).detail).toMatch(/glimpse\.example\.org is not answering/);
    expect(view(on, waiting('origin-refused')).headline).toBe('The server refused this browser');
    expect(view({ ...on, token: '' }, waiting('token-refused'))).toMatchObject({ state: 'token-missing', headline: 'The server needs a contributor token' });
    expect(view(on, waiting('token-refused')).state).toBe('token-refused');
    expect(view(on, waiting('collecting', 'collecting images (0 of 32)'), { siteAccess: false })).toMatchObject({ state: 'no-site-access', headline: "Glimpse can't see any images" });
    // Connected but the socket dropped mid-training: not "training".
    expect(view(on, { ...training, connected: false }).state).not.toBe('training');
  });

  it('settings come first: opted out, paused, no server, budget used', () => {
    expect(view(DEFAULT_SETTINGS, training).state).toBe('not-contributing');
    expect(view({ ...on, paused: true }, training).state).toBe('paused');
    expect(view({ ...on, serverUrl: '' }, training).state).toBe('no-server');
    expect(view(on, training, { budgetLeftMs: 0 })).toMatchObject({ state: 'budget-used', headline: 'Done for today', detail: "Today's training time (30 minutes) is used up. Training continues tomorrow." });
    expect(view({ ...on, dailyBudgetMinutes: 0 }, training, { budgetLeftMs: 0 })).toMatchObject({ state: 'budget-used', headline: 'No training time set' });
  });

  it('resting states say why', () => {
    expect(view(on, waiting('idle-only')).headline).toBe("Waiting until you're away");
    expect(view(on, waiting('on-battery')).state).toBe('on-battery');
    expect(view(on, waiting('data-saver')).state).toBe('data-saver');
    expect(view(on, waiting('collecting', 'collecting images (5 of 32)')).detail).toMatch(/^Seen so far: \(5 of 32\)|5 of 32/);
    // A report from before the person resumed ('paused') is not shown as paused.
    expect(view(on, waiting('paused')).state).toBe('starting');
  });
});

describe('todayLine', () => {
  const now = Date.now();
  it('"Contributed N updates today · X sent", and nothing from yesterday', () => {
    const today = { day: localDay(now), updates: 37, bytesSent: 4_200_000, bytesReceived: 0 };
    expect(todayLine({ ...EMPTY_STATS, today }, now)).toBe('Contributed 37 updates today · 4.2 MB sent');
    expect(todayLine({ ...EMPTY_STATS, today: { ...today, updates: 1, bytesSent: 30_500 } }, now)).toBe('Contributed 1 update today · 30.5 kB sent');
    expect(todayLine({ ...EMPTY_STATS, today: { ...today, day: '2000-01-01' } }, now)).toBe('No updates sent today yet.');
  });
});
