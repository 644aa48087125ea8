import { describe, expect, it } from 'vitest';
import { describeAccess, readSettingsForm, type FormValues } from '../../extension/options/settings-form';

const good: FormValues = {
  optedIn: true, paused: false, serverUrl: ' https://glimpse.example.org ', token: 't', idleOnly: false, dailyBudgetMinutes: '120', backend: 'auto',
  cpuPercent: '50', maxCores: '0', pauseOnBattery: true, denyList: 'mybank.com\n*.Health.org', allowList: '',
};

describe('settings form', () => {
  it('turns valid values into a full patch', () => {
    const { patch, errors } = readSettingsForm(good);
    expect(errors).toEqual({});
    expect(patch).toMatchObject({ serverUrl: 'https://glimpse.example.org', dailyBudgetMinutes: 120, cpuPercent: 50, denyList: ['mybank.com', 'health.org'], allowList: [] });
  });

  it('gives each wrong field its own message in plain words, with no schema jargon', () => {
    const { patch, errors } = readSettingsForm({ ...good, serverUrl: 'glimpse.example.org', dailyBudgetMinutes: '', cpuPercent: '5', maxCores: '1.5', denyList: 'mybank.com\nmy_bank.com' });
    expect(patch).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(['cpuPercent', 'dailyBudgetMinutes', 'denyList', 'maxCores', 'serverUrl']);
    expect(errors.serverUrl).toMatch(/starting with http:\/\/ or https:\/\//);
    expect(errors.denyList).toMatch(/“my_bank.com” is not a site name/);
    for (const m of Object.values(errors)) expect(m).not.toMatch(/invalid|zod|Uncaught|patch\.|✖|→/i);
  });

  it('describes site access without match patterns', () => {
    expect(describeAccess(['http://*/*', 'https://*/*'])).toBe('Glimpse may read images on all websites you visit (except the ones you exclude below).');
    expect(describeAccess([])).toMatch(/can't read images on any website yet/);
    expect(describeAccess(['https://*.example.com/*', 'http://127.0.0.1/*'])).toBe('Glimpse may read images only on example.com, 127.0.0.1.');
    for (const o of [['http://*/*'], ['https://a.com/*']]) expect(describeAccess(o)).not.toMatch(/\*|:\/\//);
  });
});
