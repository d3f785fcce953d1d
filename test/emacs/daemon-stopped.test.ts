/**
 * As trial s55a F6 found for Neovim: an editor said nothing while its own daemon was stopped
 * (`kill -STOP`, as a suspended terminal leaves it). The connection stays open, nothing answers,
 * and the person types on unaware. Emacs now says, once, that the daemon has not answered the
 * typing and that nothing is lost; once it answers, that it does again. Every key arrives.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonsFor, frozenAfterEach } from '../support/cli.js';
import { waitFor } from '../neovim/support.js';
import { converged, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

describe.skipIf(skip)('Emacs while its daemon is stopped', () => {
  let scene: EmacsScene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });
  const { freeze, thaw } = frozenAfterEach();

  it('says the daemon has not answered the typing, then that it answers again; every key arrives', async () => {
    scene = new EmacsScene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const file = path.join(dir, 'f.txt');
    const e = await scene.emacs();
    await e.edit(file);
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    await e.type('o n e');
    await e.settled();
    const [pid] = daemonsFor(dir);
    expect(pid).toBeDefined();
    freeze(pid!);

    await e.type('t w o');
    const slow = await waitFor('Emacs to say the daemon does not answer', async () => (await e.messages()).find((m) => m.includes('has not answered your typing')), 30000);
    expect(slow).toContain(dir);
    expect(slow).toMatch(/Nothing is lost/);
    await e.type('t h r e e');

    thaw(pid!);
    await waitFor('Emacs to say the daemon answers again', async () => (await e.messages()).some((m) => m.includes('answers again')), 30000);
    await e.settled();
    expect(await converged([e], [await scene.client(dir)], [dir], 'f.txt')).toBe('startonetwothree\n');
    // Said once each.
    const messages = await e.messages();
    expect(messages.filter((m) => m.includes('has not answered your typing'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('answers again'))).toHaveLength(1);
  }, 120_000);
});
