import { describe, expect, it } from 'vitest';
import { dispatch, senderKind, toBackgroundSchema, toOffscreenSchema, type HandlerMap, type ToBackground } from '../../extension/common/messages';
import { DEFAULT_SETTINGS } from '../../extension/common/settings';
import { EMPTY_STATS } from '../../extension/common/stats';

const ext = { id: 'abc', origin: 'chrome-extension://abc/' };

describe('message schemas', () => {
  it('accepts well-formed messages per direction', () => {
    expect(toBackgroundSchema.safeParse({ to: 'background', type: 'images:seen', urls: ['https://a.com/x.png', 'data:image/png;base64,AAAA'] }).success).toBe(true);
    expect(toBackgroundSchema.safeParse({ to: 'background', type: 'settings:update', patch: { paused: true } }).success).toBe(true);
    expect(toOffscreenSchema.safeParse({ to: 'offscreen', type: 'offscreen:wake' }).success).toBe(true);
  });

  it("a settings patch parses to exactly the fields it names: no defaults filled in (zod's .partial() keeps .default()s)", () => {
    const pause = toBackgroundSchema.parse({ to: 'background', type: 'settings:update', patch: { paused: true } });
    expect(pause).toEqual({ to: 'background', type: 'settings:update', patch: { paused: true } });
    const two = toBackgroundSchema.parse({ to: 'background', type: 'settings:update', patch: { denyList: [' *.Bank.com'], dailyBudgetMinutes: 120 } });
    expect(two).toMatchObject({ patch: { denyList: ['bank.com'], dailyBudgetMinutes: 120 } });
    expect(Object.keys((two as { patch: object }).patch).sort()).toEqual(['dailyBudgetMinutes', 'denyList']);
  });

  it('rejects unknown types, wrong recipients, bad URLs and oversized batches', () => {
    const bad = [
      { to: 'background', type: 'nope' },
      { to: 'offscreen', type: 'images:seen', urls: ['https://a.com/x.png'] },
      { to: 'background', type: 'images:seen', urls: ['javascript:alert(1)'] },
      { to: 'background', type: 'images:seen', urls: ['data:image/svg+xml;base64,AAAA'] },
      { to: 'background', type: 'images:seen', urls: ['file:///etc/passwd'] },
      { to: 'background', type: 'images:seen', urls: [] },
      { to: 'background', type: 'images:seen', urls: Array(65).fill('https://a.com/x.png') },
      { to: 'background', type: 'images:seen', urls: ['data:image/png;base64,' + 'A'.repeat(1_000_001)] },
      { to: 'background', type: 'settings:update', patch: { serverUrl: 'not a url' } },
      { to: 'background', type: 'settings:update', patch: { dailyBudgetMinutes: 1e9 } },
    ];
    for (const m of bad) expect(toBackgroundSchema.safeParse(m).success, JSON.stringify(m).slice(0, 80)).toBe(false);
  });
});

describe('dispatch', () => {
  const calls: string[] = [];
  const handlers: HandlerMap<ToBackground> = {
    'page:query': { from: ['content'], handle: () => (calls.push('page'), { observe: true }) },
    'images:seen': { from: ['content'], handle: (m) => ({ forwarded: m.urls.length }) },
    'status:get': { from: ['extension-page'], handle: () => ({ settings: DEFAULT_SETTINGS, stats: EMPTY_STATS, budgetLeftMs: 0, bench: null }) },
    'settings:update': { from: ['extension-page'], handle: () => (calls.push('settings'), { settings: DEFAULT_SETTINGS }) },
    'trainer:lease': { from: ['extension-page'], handle: () => ({ ok: false, code: 'paused', reason: 'x' }) },
    'buffer:clear': { from: ['extension-page'], handle: () => ({ buffered: 0 }) },
    'trainer:report': { from: ['extension-page'], handle: () => ({ ok: true }) },
    'trainer:bench': { from: ['extension-page'], handle: () => ({ ok: true }) },
    'bench:reset': { from: ['extension-page'], handle: () => ({ ok: true }) },
  };
  const content = { kind: senderKind({ id: 'abc', url: 'https://page.com/', tab: {} }, ext.id, ext.origin), incognito: false };
  const page = { kind: senderKind({ id: 'abc', url: 'chrome-extension://abc/popup.html' }, ext.id, ext.origin), incognito: false };

  it('classifies senders', () => {
    expect(content.kind).toBe('content');
    expect(page.kind).toBe('extension-page');
    expect(senderKind({ id: 'other', url: 'chrome-extension://abc/x' }, ext.id, ext.origin)).toBeNull();
    expect(senderKind({ id: 'abc', url: 'https://page.com/' }, ext.id, ext.origin)).toBeNull();
  });

  it('routes by type and ignores messages for other recipients', async () => {
    expect(await dispatch(toBackgroundSchema, 'background', handlers, { to: 'background', type: 'images:seen', urls: ['https://a/b.png'] }, content)).toEqual({ forwarded: 1 });
    expect(await dispatch(toBackgroundSchema, 'background', handlers, { to: 'offscreen', type: 'offscreen:wake' }, page)).toBeUndefined();
    expect(await dispatch(toBackgroundSchema, 'background', handlers, 'hello', page)).toBeUndefined();
  });

  it('refuses a content script changing settings, and invalid payloads', async () => {
    await expect(dispatch(toBackgroundSchema, 'background', handlers, { to: 'background', type: 'settings:update', patch: { paused: false } }, content)).rejects.toThrow(/not accepted from content/);
    await expect(dispatch(toBackgroundSchema, 'background', handlers, { to: 'background', type: 'images:seen', urls: 'x' }, content)).rejects.toThrow(/invalid message/);
    expect(calls).not.toContain('settings');
  });
});
