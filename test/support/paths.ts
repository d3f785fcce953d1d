import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (tests run after `npm run build`). */
export const CLI = path.join(REPO, 'daemon/dist/cli.js');
export const TRACES = path.join(REPO, 'test/fixtures/traces');
