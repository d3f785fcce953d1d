/**
 * A guard for issue #12 (each run left ~150 folders in the temp dir): the whole run gets its own
 * temp folder (TMPDIR, which os.tmpdir() and every spawned daemon and editor use), and at the end
 * any folder a test left there is named and the run fails, after removing it. Tests clean up
 * after themselves (test/support/project-dir.ts); this catches the ones that do not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-run-')));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    // Editors and tools make short-lived folders of their own (e.g. Neovim's nvimXXXXXX): only
    // what our tests make counts as left over.
    const left = fs.readdirSync(root).filter((name) => name.startsWith('chorus-'));
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    if (left.length > 0) {
      // vitest reports an error thrown here but still exits 0: set the exit code ourselves.
      process.exitCode = 1;
      throw new Error(`tests left ${left.length} temporary folder(s) behind (removed now): ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''}`);
    }
  };
}
