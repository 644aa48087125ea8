/**
 * The contribution policy as pure functions: may images be noticed on this page, and may the
 * trainer run now. The service worker feeds them the stored settings, today's usage and
 * chrome.idle's state; nothing here touches a browser API, so tests call them directly.
 */
import type { DeviceConditions } from './messages';
import type { Settings, Usage } from './settings';
import type { WaitCode } from './stats';

export type IdleState = 'active' | 'idle' | 'locked';

export type Decision = { ok: true } | { ok: false; reason: string };
/** A training decision: a refusal carries a stable code for the popup. */
export type TrainDecision = { ok: true } | { ok: false; code: WaitCode; reason: string };

/** The host of an http(s) URL, lower-cased; null for any other scheme or an unparsable URL. */
export function httpHost(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** `host` is `domain` or one of its subdomains (`a.example.com` matches `example.com`). */
export function hostMatches(host: string, domain: string): boolean {
  return host === domain || host.endsWith('.' + domain);
}

/**
 * May the content script notice images on the page at `pageUrl`? Only http(s) pages, only after
 * opt-in, never while paused, never on a denied domain, and only on allowed domains when the
 * allow list is non-empty. Incognito tabs are refused by the caller (the extension is
 * `"incognito": "not_allowed"` as well).
 */
export function mayObservePage(s: Settings, pageUrl: string | undefined): Decision {
  if (!s.optedIn) return { ok: false, reason: 'not opted in' };
  if (s.paused) return { ok: false, reason: 'paused' };
  const host = httpHost(pageUrl);
  if (!host) return { ok: false, reason: 'not an http(s) page' };
  if (s.denyList.some((d) => hostMatches(host, d))) return { ok: false, reason: `${host} is excluded` };
  if (s.allowList.length > 0 && !s.allowList.some((d) => hostMatches(host, d))) {
    return { ok: false, reason: `${host} is not in the allow list` };
  }
  return { ok: true };
}

/** Milliseconds of training left today (never negative). */
export function budgetLeftMs(s: Settings, usage: Usage): number {
  return Math.max(0, s.dailyBudgetMinutes * 60_000 - usage.computeMs);
}

/**
 * May the trainer run a round now? Checks, in order: opted in, not paused, a server configured,
 * budget left today, the device not saving data (Data Saver) nor, with pause-on-battery, on
 * battery, and (with idle-only) that the person is away. `device` comes from the trainer's page;
 * a condition the browser does not expose (null) never blocks.
 */
export function mayTrain(s: Settings, usage: Usage, idle: IdleState, device: DeviceConditions = { onBattery: null, saveData: null }): TrainDecision {
  const no = (code: WaitCode, reason: string): TrainDecision => ({ ok: false, code, reason });
  if (!s.optedIn) return no('not-opted-in', 'not opted in');
  if (s.paused) return no('paused', 'paused');
  if (!s.serverUrl) return no('no-server', 'no server configured');
  if (budgetLeftMs(s, usage) <= 0) return no('budget-used', "today's compute budget is used up");
  if (device.saveData) return no('data-saver', 'the browser asks to save data (Data Saver)');
  if (s.pauseOnBattery && device.onBattery) return no('on-battery', 'running on battery');
  if (s.idleOnly && idle === 'active') return no('idle-only', 'waiting until you are away (idle-only)');
  return { ok: true };
}

/** Adds a finished round's compute to today's usage (a new day starts from zero). */
export function addUsage(usage: Usage, day: string, ms: number): Usage {
  return { day, computeMs: (usage.day === day ? usage.computeMs : 0) + Math.max(0, ms) };
}
