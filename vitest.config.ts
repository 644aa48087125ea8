import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the wasm SIMD kernels (dist/wasm/) the backend tests run on.
    globalSetup: ['test/global-setup.ts'],
    // tfjs training on a 2-core CPU is slow; tests that train set their own budgets.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only thrash.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
