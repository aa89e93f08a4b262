import { defineConfig } from 'vitest/config';

// Each test file starts its own redis-server and sandbox on free ports, so files can run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
