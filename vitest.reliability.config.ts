import { defineConfig } from 'vitest/config';

// Fault scenarios (kills, restarts, outages, fuzzing, cluster): slower, run separately and in CI.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
