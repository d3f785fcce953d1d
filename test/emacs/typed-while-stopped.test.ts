/**
 * A user trial (decision 196): in Emacs, the line typed while the daemon was stopped was lost, from
 * the buffer and the file, with nothing said, when the file was also appended to on disk and
 * `chorus-reconnect`'s re-open landed while the restarted daemon was taking the folder in (held
 * open here by the test-only CHORUS_TEST_TAKE_IN_HOLD_MS, which the daemons this Emacs starts
 * inherit from its environment).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, waitFor } from '../neovim/support.js';
import { converged, emacsSkipReason, EmacsScene, type Emacs } from './support.js';

const skip = emacsSkipReason();
const HOLD = 'CHORUS_TEST_TAKE_IN_HOLD_MS';

describe.skipIf(skip)('Emacs client: typing while the daemon is stopped', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  /** An Emacs whose daemons wait `hold` ms between reading the folder at start and taking it in. */
  async function emacsHolding(hold: string): Promise<Emacs> {
    const saved = process.env[HOLD];
    process.env[HOLD] = hold;
    try {
      return await scene.emacs();
    } finally {
      if (saved === undefined) delete process.env[HOLD];
      else process.env[HOLD] = saved;
    }
  }

  it('chorus-reconnect keeps both the typing done while stopped and an append made on disk meanwhile', async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const file = path.join(dir, 'f.txt');
    const e = await emacsHolding('6000');
    await e.edit(file);
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    await e.type('o n e'); // the folder's text is then one the daemon wrote from a live document
    await e.settled();
    await waitFor('the typing on disk', () => fs.readFileSync(file, 'utf8') === 'startone\n', 30000);
    execFileSync(process.execPath, [cli, 'stop', dir], { timeout: 30000 });
    await waitFor('Emacs to notice', async () => (await e.status())?.connection === 'stopped');
    await e.command('(progn (goto-char (point-min)) (insert "typed\\n"))');
    fs.appendFileSync(file, 'x\n');
    await e.eval('(chorus-reconnect)');
    await waitFor('the buffer to be shared again', async () => {
      const st = await e.status();
      return st?.connection === 'ready' && st.status === 'open';
    }, 60000);
    const log = () => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8').split(/ serving /).at(-1) ?? '';
    expect(log()).not.toMatch(/took in \d+ files? from the folder/); // the re-open landed inside the take-in
    await waitFor('the start-up take-in', () => /took in \d+ files? from the folder/.test(log()), 60000);
    await e.settled();
    expect(await converged([e], [await scene.client(dir)], [dir], 'f.txt')).toBe('typed\nstartone\nx\n');
  });
});
