/** storage.local keys, apart from their schemas so that pages reading them stay small. */
export const SETTINGS_KEY = 'settings';
export const STATS_KEY = 'stats';
export const USAGE_KEY = 'usage';
export const BENCH_KEY = 'backendBench';
