/**
 * The Chorus core the page runs: the very modules the daemon runs (decision 065), bundled by
 * esbuild from daemon/src. Only this file names that path, so the rest of the page imports `./core.js`.
 */
export * from '../../../../daemon/src/core.js';
