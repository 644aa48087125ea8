/**
 * What the popup says, as a pure function of the settings, the trainer's last report, today's
 * budget and whether any site access is granted: one state with a headline and a sentence in
 * plain words (details such as the backend or the loss go in the popup's Details section).
 */
import { runsOnGpu } from '../common/backend-choice';
import { formatBytes, plural } from '../common/format';
import { localDay } from '../common/day';
import type { Settings } from '../common/settings';
import type { Stats } from '../common/stats';

export type PopupState =
  | 'not-contributing' | 'paused' | 'no-server' | 'budget-used' | 'server-down' | 'origin-refused' | 'token-missing'
  | 'token-refused' | 'incompatible' | 'no-site-access' | 'training' | 'idle-only' | 'on-battery' | 'data-saver'
  | 'collecting' | 'starting' | 'error';

export interface PopupView {
  state: PopupState;
  headline: string;
  detail: string;
  /** ok: training; wait: resting as asked; problem: something the person may need to fix. */
  tone: 'ok' | 'wait' | 'problem';
}

export interface PopupInput {
  settings: Settings;
  stats: Stats;
  budgetLeftMs: number;
  /** Whether the person granted reading images on any site. */
  siteAccess: boolean;
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

export function popupView({ settings: s, stats, budgetLeftMs, siteAccess }: PopupInput): PopupView {
  const v = (state: PopupState, tone: PopupView['tone'], headline: string, detail: string): PopupView => ({ state, tone, headline, detail });
  if (!s.optedIn) return v('not-contributing', 'wait', 'Not contributing', 'Open Settings to choose a server and start.');
  if (s.paused) return v('paused', 'wait', 'Paused', 'Nothing is watched or trained until you resume.');
  if (!s.serverUrl) return v('no-server', 'problem', 'No server chosen', "Enter the Glimpse server's address in Settings.");
  if (budgetLeftMs <= 0) {
    return s.dailyBudgetMinutes === 0
      ? v('budget-used', 'wait', 'No training time set', 'The training time per day is 0 minutes; change it in Settings to contribute.')
      : v('budget-used', 'wait', 'Done for today', `Today's training time (${plural(s.dailyBudgetMinutes, 'minute')}) is used up. Training continues tomorrow.`);
  }
  const host = hostOf(s.serverUrl);
  switch (stats.waiting?.code) {
    case 'server-down':
      return v('server-down', 'problem', "Can't reach the server", `${host} is not answering. Glimpse keeps trying.`);
    case 'origin-refused':
      return v('origin-refused', 'problem', 'The server refused this browser', `Ask the operator of ${host} to allow this extension; its id is in Settings.`);
    case 'token-refused':
      return s.token
        ? v('token-refused', 'problem', 'The server did not accept your token', 'Check the contributor token in Settings.')
        : v('token-missing', 'problem', 'The server needs a contributor token', `Enter the token the operator of ${host} gave you in Settings.`);
    case 'incompatible':
      return v('incompatible', 'problem', "This version can't talk to the server", 'Update the extension, or ask the server operator.');
  }
  const training = stats.waiting === null && stats.connected;
  if (!siteAccess && !training) {
    return v('no-site-access', 'problem', "Glimpse can't see any images", 'Allow it to read images on websites (in Settings); until then nothing new is collected.');
  }
  if (training) {
    return v('training', 'ok', `Training on your ${runsOnGpu(stats.backend) ? 'graphics card' : 'processor'}`, 'Improving the shared model with spare compute.');
  }
  switch (stats.waiting?.code) {
    case 'idle-only':
      return v('idle-only', 'wait', "Waiting until you're away", 'Glimpse trains only while you are not using the computer (you can change this in Settings).');
    case 'on-battery':
      return v('on-battery', 'wait', 'Resting while on battery', 'Training resumes when the computer is plugged in.');
    case 'data-saver':
      return v('data-saver', 'wait', 'Resting to save data', 'Your browser asks sites to save data, so Glimpse sends nothing.');
    case 'collecting':
      return v('collecting', 'wait', 'Collecting images', `${stats.waiting.text.replace(/^collecting images/, 'Seen so far:')}. Training starts once there are enough.`);
    case 'error':
      return v('error', 'problem', 'Something went wrong; retrying', stats.lastError ?? 'See Details.');
    default:
      return v('starting', 'wait', 'Starting…', 'Connecting to the server.');
  }
}

/** "Contributed 37 updates today · 4.2 MB sent", or that nothing was sent today. */
export function todayLine(stats: Stats, now = Date.now()): string {
  const t = stats.today.day === localDay(now) ? stats.today : null;
  if (!t || (t.updates === 0 && t.bytesSent === 0)) return 'No updates sent today yet.';
  return `Contributed ${plural(t.updates, 'update')} today · ${formatBytes(t.bytesSent)} sent`;
}
