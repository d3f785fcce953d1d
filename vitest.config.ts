import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // A private temp folder per run, checked for leftovers at the end (issue #12).
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts', 'protocol/test/**/*.test.ts', 'daemon/test/**/*.test.ts'],
    // Real daemons, real sockets, real editors: generous limits, never timing assertions.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
