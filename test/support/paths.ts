import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (tests run after `npm run build`). */
export const CLI = path.join(REPO, 'daemon/dist/cli.js');
export const TRACES = path.join(REPO, 'test/fixtures/traces');

/**
 * The last `chars` characters of project `dir`'s daemon log (`.chorus/daemon.log`), or "(none)",
 * for a failing test's message: what the daemon did is what CI's output then shows.
 */
export function daemonLogTail(dir: string, chars = 3000): string {
  try {
    return readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8').slice(-chars);
  } catch {
    return '(none)';
  }
}
