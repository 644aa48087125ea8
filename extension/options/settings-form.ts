/**
 * The settings form's values → a settings patch, or an error in plain words for each field that
 * is wrong (never a schema dump): the page shows each message next to its field.
 */
import { BACKEND_PREFERENCES, settingFields, type Settings, type SettingsPatch } from '../common/settings';

/** The form as the page reads it: checkboxes as booleans, everything else as typed text. */
export interface FormValues {
  optedIn: boolean;
  paused: boolean;
  serverUrl: string;
  token: string;
  idleOnly: boolean;
  dailyBudgetMinutes: string;
  backend: string;
  cpuPercent: string;
  maxCores: string;
  pauseOnBattery: boolean;
  denyList: string;
  allowList: string;
}

export type FieldErrors = Partial<Record<keyof FormValues, string>>;

/** One site per line (commas and spaces separate too). */
export const siteLines = (s: string): string[] => s.split(/[\s,]+/).map((l) => l.trim()).filter(Boolean);

const WHOLE = /^\s*-?\d+\s*$/;

function sites(field: 'denyList' | 'allowList', text: string, errors: FieldErrors): string[] | undefined {
  const list = siteLines(text);
  if (list.length > 500) return void (errors[field] = `That is ${list.length} sites; at most 500 fit here.`);
  const bad = list.find((d) => !settingFields[field].safeParse([d]).success);
  if (bad !== undefined) return void (errors[field] = `“${bad.slice(0, 60)}” is not a site name. Write one site per line, like example.com (its subdomains are included).`);
  return settingFields[field].parse(list);
}

function whole(field: 'dailyBudgetMinutes' | 'cpuPercent' | 'maxCores', text: string, message: string, errors: FieldErrors): number | undefined {
  const n = Number(text);
  if (!WHOLE.test(text) || !settingFields[field].safeParse(n).success) return void (errors[field] = message);
  return n;
}

/** Validates the form; `patch` is set only when every field is valid. */
export function readSettingsForm(f: FormValues): { patch: SettingsPatch | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const serverUrl = f.serverUrl.trim();
  if (!settingFields.serverUrl.safeParse(serverUrl).success) {
    errors.serverUrl = "Enter the server's full address, starting with http:// or https:// — for example https://glimpse.example.org.";
  }
  const token = f.token.trim();
  if (!settingFields.token.safeParse(token).success) errors.token = 'This token is too long: a contributor token has at most 512 characters.';
  const dailyBudgetMinutes = whole('dailyBudgetMinutes', f.dailyBudgetMinutes, 'Enter whole minutes from 0 to 1440 (0 means no training).', errors);
  const cpuPercent = whole('cpuPercent', f.cpuPercent, 'Enter a whole percentage from 10 to 100.', errors);
  const maxCores = whole('maxCores', f.maxCores, "Enter a whole number of cores, or 0 for half of this computer's.", errors);
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(f.backend)) errors.backend = 'Choose one of the listed options.';
  const denyList = sites('denyList', f.denyList, errors);
  const allowList = sites('allowList', f.allowList, errors);
  if (Object.keys(errors).length) return { patch: null, errors };
  return {
    patch: {
      optedIn: f.optedIn, paused: f.paused, serverUrl, token, idleOnly: f.idleOnly, dailyBudgetMinutes, backend: f.backend as Settings['backend'],
      cpuPercent, maxCores, pauseOnBattery: f.pauseOnBattery, denyList, allowList,
    },
    errors,
  };
}

/** The site access the browser granted, in words (no match patterns). */
export function describeAccess(origins: readonly string[]): string {
  const web = origins.filter((o) => /^(https?|\*):\/\//.test(o) || o === '<all_urls>');
  if (!web.length) return "Glimpse can't read images on any website yet: nothing can be collected until you allow it.";
  if (web.some((o) => o === '<all_urls>' || /^(https?|\*):\/\/\*\/\*$/.test(o))) return 'Glimpse may read images on all websites you visit (except the ones you exclude below).';
  const hosts = [...new Set(web.map((o) => o.replace(/^[a-z*]+:\/\//, '').replace(/\/.*$/, '').replace(/^\*\./, '')))];
  return `Glimpse may read images only on ${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? ` and ${hosts.length - 5} more sites` : ''}.`;
}
