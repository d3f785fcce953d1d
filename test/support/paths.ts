import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (tests run after `npm run build`). */
export const CLI = path.join(REPO, 'daemon/dist/cli.js');
export const TRACES = path.join(REPO, 'test/fixtures/traces');

/**
 * The Chromium the browser-page and VS Code tests drive through playwright-core:
 * `CHORUS_CHROMIUM` if set, else Debian's old headless shell (`chromium-headless-shell`, what
 * Playwright itself runs headless) where it is installed, else Debian's `chromium`. The shell is
 * the same Blink at a third of the CPU per page load (decision 216).
 */
export const CHROMIUM = process.env.CHORUS_CHROMIUM ?? ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((p) => existsSync(p)) ?? '/usr/bin/chromium-headless-shell';

/** Why the Chromium tests cannot run, for a skip message; undefined when CHROMIUM is there. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium-headless-shell, or set CHORUS_CHROMIUM)`;
}

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
