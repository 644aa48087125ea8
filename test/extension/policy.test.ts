import { describe, expect, it } from 'vitest';
import { addUsage, budgetLeftMs, hostMatches, httpHost, mayObservePage, mayTrain } from '../../extension/common/policy';
import { DEFAULT_SETTINGS, localDay, parseSettings, usageToday, type Settings } from '../../extension/common/settings';

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
    expect(mayTrain({ ...on, paused: true }, u, 'idle')).toEqual({ ok: false, reason: 'paused' });
    expect(mayTrain({ ...on, serverUrl: '' }, u, 'idle')).toEqual({ ok: false, reason: 'no server configured' });
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

describe('settings parsing', () => {
  it('falls back to defaults field by field', () => {
    const s = parseSettings({ paused: 'yes', serverUrl: 'http://h:1', denyList: ['*.Bank.com'], dailyBudgetMinutes: -5 });
    expect(s.paused).toBe(false);
    expect(s.serverUrl).toBe('http://h:1');
    expect(s.denyList).toEqual(['bank.com']);
    expect(s.dailyBudgetMinutes).toBe(DEFAULT_SETTINGS.dailyBudgetMinutes);
    expect(parseSettings(undefined)).toEqual(DEFAULT_SETTINGS);
  });
});
