import { describe, expect, it } from 'vitest';
import { addUsage, budgetLeftMs, hostMatches, httpHost, mayObservePage, mayTrain } from '../../extension/common/policy';
import { DEFAULT_SETTINGS, applyPatch, coresAllowed, localDay, parseSettings, usageToday, type Settings } from '../../extension/common/settings';

const on: Settings = { ...DEFAULT_SETTINGS, optedIn: true, serverUrl: 'http://127.0.0.1:8080', idleOnly: false };

describe('page policy', () => {
  it('does nothing before opt-in or while paused', () => {
    expect(mayObservePage(DEFAULT_SETTINGS, 'https://a.com/')).toEqual({ ok: false, reason: 'not opted in' });
    expect(mayObservePage({ ...on, paused: true }, 'https://a.com/')).toEqual({ ok: false, reason: 'paused' });
    expect(mayObservePage(on, 'https://a.com/').ok).toBe(true);
  });

  it('watches only http(s) pages', () => {
    for (const u of ['file:///x', 'chrome://settings', 'about:blank', undefined, 'not a url']) expect(mayObservePage(on, u).ok).toBe(false);
    expect(httpHost('HTTP://Sub.Example.COM:8080/x')).toBe('sub.example.com');
  });

  it('applies the deny list to subdomains and lets it win over the allow list', () => {
    const s = { ...on, denyList: ['bank.com'], allowList: ['bank.com', 'news.org'] };
    expect(mayObservePage(s, 'https://www.bank.com/').ok).toBe(false);
    expect(mayObservePage(s, 'https://notbank.com/').ok).toBe(false); // not in allow list
    expect(mayObservePage(s, 'https://news.org/a').ok).toBe(true);
    expect(mayObservePage(s, 'https://x.news.org/a').ok).toBe(true);
    expect(hostMatches('evilnews.org', 'news.org')).toBe(false);
  });

  it('an empty allow list allows every domain not denied', () => {
    expect(mayObservePage({ ...on, denyList: ['a.com'] }, 'https://b.com').ok).toBe(true);
  });
});

describe('training policy', () => {
  const today = localDay(Date.now());
  it('needs opt-in, no pause and a server', () => {
    const u = { day: today, computeMs: 0 };
    expect(mayTrain(DEFAULT_SETTINGS, u, 'idle').ok).toBe(false);
    expect(mayTrain({ ...on, paused: true }, u, 'idle')).toEqual({ ok: false, code: 'paused', reason: 'paused' });
    expect(mayTrain({ ...on, serverUrl: '' }, u, 'idle')).toEqual({ ok: false, code: 'no-server', reason: 'no server configured' });
    expect(mayTrain(on, u, 'active')).toEqual({ ok: true });
  });

  it('honours idle-only', () => {
    const u = { day: today, computeMs: 0 };
    const s = { ...on, idleOnly: true };
    expect(mayTrain(s, u, 'active').ok).toBe(false);
    expect(mayTrain(s, u, 'idle').ok).toBe(true);
    expect(mayTrain(s, u, 'locked').ok).toBe(true);
  });

  it('stops when the daily budget is spent and starts again the next day', () => {
    const s = { ...on, dailyBudgetMinutes: 1 };
    let u = addUsage({ day: today, computeMs: 0 }, today, 59_000);
    expect(budgetLeftMs(s, u)).toBe(1000);
    expect(mayTrain(s, u, 'idle').ok).toBe(true);
    u = addUsage(u, today, 1500);
    expect(mayTrain(s, u, 'idle').ok).toBe(false);
    expect(addUsage(u, '2999-01-01', 10)).toEqual({ day: '2999-01-01', computeMs: 10 });
    expect(usageToday({ day: '2000-01-01', computeMs: 5 }, Date.now())).toEqual({ day: today, computeMs: 0 });
    expect(mayTrain({ ...on, dailyBudgetMinutes: 0 }, { day: today, computeMs: 0 }, 'idle').ok).toBe(false);
  });
});

describe('device conditions', () => {
  const u = { day: localDay(Date.now()), computeMs: 0 };
  it('rests on battery (when asked to) and whenever the browser asks to save data', () => {
    expect(mayTrain(on, u, 'idle', { onBattery: true, saveData: false })).toMatchObject({ ok: false, code: 'on-battery' });
    expect(mayTrain({ ...on, pauseOnBattery: false }, u, 'idle', { onBattery: true, saveData: false }).ok).toBe(true);
    expect(mayTrain({ ...on, pauseOnBattery: false }, u, 'idle', { onBattery: false, saveData: true })).toMatchObject({ ok: false, code: 'data-saver' });
    expect(mayTrain(on, u, 'idle', { onBattery: false, saveData: false }).ok).toBe(true);
  });

  it('a condition the browser does not expose never blocks', () => {
    expect(mayTrain(on, u, 'idle', { onBattery: null, saveData: null }).ok).toBe(true);
    expect(mayTrain(on, u, 'idle').ok).toBe(true);
  });

  it('the budget check comes before the device: a used-up day says so', () => {
    expect(mayTrain({ ...on, dailyBudgetMinutes: 0 }, u, 'idle', { onBattery: true, saveData: true })).toMatchObject({ code: 'budget-used' });
  });
});

describe('settings parsing', () => {
  it('falls back to defaults field by field', () => {
    const s = parseSettings({ paused: 'yes', serverUrl: 'http://h:1', denyList: ['*.Bank.com'], dailyBudgetMinutes: -5 });
    expect(s.paused).toBe(false);
    expect(s.serverUrl).toBe('http://h:1');
    expect(s.denyList).toEqual(['bank.com']);
    expect(s.dailyBudgetMinutes).toBe(DEFAULT_SETTINGS.dailyBudgetMinutes);
    expect(parseSettings(undefined)).toEqual(DEFAULT_SETTINGS);
  });

  it('a patch changes only the fields it names (a Pause click keeps every other setting)', () => {
    const mine: Settings = { ...on, denyList: ['mybank.com'], dailyBudgetMinutes: 120, token: 'tok', cpuPercent: 30 };
    expect(applyPatch(mine, { paused: true })).toEqual({ ...mine, paused: true });
    expect(applyPatch(mine, { paused: false, denyList: ['a.org'] })).toEqual({ ...mine, paused: false, denyList: ['a.org'] });
    expect(() => applyPatch(mine, { serverUrl: 'not a url' })).toThrow();
    expect(() => applyPatch(mine, { unknownField: 1 })).toThrow();
  });

  it('cores: the setting, capped by the device, or half of the device', () => {
    expect(coresAllowed({ maxCores: 0 }, 8)).toBe(4);
    expect(coresAllowed({ maxCores: 0 }, 1)).toBe(1);
    expect(coresAllowed({ maxCores: 3 }, 8)).toBe(3);
    expect(coresAllowed({ maxCores: 16 }, 8)).toBe(8);
  });
});
