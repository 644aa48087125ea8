/**
 * The background's persistent state in `storage.local`: settings, today's compute usage and the
 * popup's statistics. Read-modify-write updates run one at a time (a service worker handles
 * messages concurrently; two reports must not overwrite each other's counters).
 */
import browser from 'webextension-polyfill';
import { BENCH_KEY, parseBench, type BackendBench } from '../common/backend-bench';
import type { TrainerReport } from '../common/messages';
import { addUsage } from '../common/policy';
import { SETTINGS_KEY, USAGE_KEY, applyPatch, localDay, parseSettings, usageToday, type Settings, type Usage } from '../common/settings';
import { MAX_LOSSES, STATS_KEY, parseStats, todayOn, type Stats } from '../common/stats';

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every earlier serial update has finished. */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => {});
  return next;
}

export async function getSettings(): Promise<Settings> {
  return parseSettings((await browser.storage.local.get(SETTINGS_KEY))[SETTINGS_KEY]);
}

/** Validates and stores a settings patch: only the fields it names change; throws (nothing stored) when one is invalid. */
export function updateSettings(patch: unknown): Promise<Settings> {
  return serial(async () => {
    const next = applyPatch(await getSettings(), patch);
    await browser.storage.local.set({ [SETTINGS_KEY]: next });
    return next;
  });
}

export async function getUsage(now = Date.now()): Promise<Usage> {
  return usageToday((await browser.storage.local.get(USAGE_KEY))[USAGE_KEY], now);
}

export async function getStats(): Promise<Stats> {
  return parseStats((await browser.storage.local.get(STATS_KEY))[STATS_KEY]);
}

/** Folds a trainer report into the stats (and today's usage when a round finished). */
export function applyReport(r: TrainerReport, now = Date.now()): Promise<Stats> {
  return serial(async () => {
    const s = await getStats();
    const day = localDay(now);
    const next: Stats = {
      ...s,
      connected: r.connected,
      server: r.server,
      modelVersion: r.modelVersion,
      backend: r.backend ?? s.backend,
      threads: r.threads !== undefined ? r.threads : (s.threads ?? null),
      buffered: r.buffered,
      waiting: r.waiting,
      lastError: r.lastError,
      today: todayOn(s.today, day),
      updatedAt: now,
    };
    if (r.round) {
      next.steps += r.round.steps;
      next.updatesSubmitted += r.round.submitted ? 1 : 0;
      next.updatesAccepted += r.round.accepted ? 1 : 0;
      next.losses = [...s.losses, ...r.round.losses].slice(-MAX_LOSSES);
      next.stepMs = r.round.stepMs;
      next.today = {
        day,
        updates: next.today.updates + (r.round.accepted ? 1 : 0),
        bytesSent: next.today.bytesSent + r.round.bytesSent,
        bytesReceived: next.today.bytesReceived + r.round.bytesReceived,
      };
      const usage = addUsage(await getUsage(now), day, r.round.computeMs);
      await browser.storage.local.set({ [STATS_KEY]: next, [USAGE_KEY]: usage });
    } else {
      await browser.storage.local.set({ [STATS_KEY]: next });
    }
    return next;
  });
}

/** Sets the buffered-image count the popup shows (after the buffer was emptied). */
export function setBuffered(buffered: number, now = Date.now()): Promise<Stats> {
  return serial(async () => {
    const next = { ...(await getStats()), buffered, updatedAt: now };
    await browser.storage.local.set({ [STATS_KEY]: next });
    return next;
  });
}

/** The remembered backend timings (the Automatic choice), or null when none are stored. */
export async function getBench(): Promise<BackendBench | null> {
  return parseBench((await browser.storage.local.get(BENCH_KEY))[BENCH_KEY]);
}

/** Stores new timings (null forgets them, so the trainer measures again). */
export async function setBench(bench: BackendBench | null): Promise<void> {
  if (bench === null) await browser.storage.local.remove(BENCH_KEY);
  else await browser.storage.local.set({ [BENCH_KEY]: bench });
}
