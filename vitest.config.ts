import { defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/support/sequencer.js';

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
    // The longest files start first, so both workers end together (test/support/sequencer.ts).
    sequence: { sequencer: SlowestFirstSequencer },
  },
});
