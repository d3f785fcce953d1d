/**
 * As trial s55a F6 found for Neovim: an editor said nothing while its own daemon was stopped
 * (`kill -STOP`, as a suspended terminal leaves it). The connection stays open, nothing answers,
 * and the person types on unaware. Emacs now says, once, that the daemon has not answered the
 * typing and that nothing is lost; once it answers, that it does again. Every key arrives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chorus, daemonsFor, frozenAfterEach } from '../support/cli.js';
import { waitFor } from '../neovim/support.js';
import { converged, type Emacs, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

describe.skipIf(skip)('Emacs while its daemon is stopped', () => {
  let scene: EmacsScene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });
  const { freeze, thaw } = frozenAfterEach();

  /** Emacs typing `one` into a shared f.txt (`start`), then its daemon stopped, then `two` typed. */
  async function typingOnAStoppedDaemon(): Promise<{ scene: EmacsScene; dir: string; e: Emacs; pid: number }> {
    scene = new EmacsScene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const e = await scene.emacs();
    await e.edit(path.join(dir, 'f.txt'));
    await e.command('(progn (goto-char (point-min)) (end-of-line))');
    await e.type('o n e');
    await e.settled();
    const [pid] = daemonsFor(dir);
    expect(pid).toBeDefined();
    freeze(pid!);
    await e.type('t w o');
    return { scene, dir, e, pid: pid! };
  }

  it('says the daemon has not answered the typing, then that it answers again; every key arrives', async () => {
    const { scene, dir, e, pid } = await typingOnAStoppedDaemon();
    const slow = await waitFor('Emacs to say the daemon does not answer', async () => (await e.messages()).find((m) => m.includes('has not answered your typing')), 30000);
    expect(slow).toContain(dir);
    expect(slow).toMatch(/Nothing is lost/);
    await e.type('t h r e e');

    thaw(pid);
    await waitFor('Emacs to say the daemon answers again', async () => (await e.messages()).some((m) => m.includes('answers again')), 30000);
    await e.settled();
    expect(await converged([e], [await scene.client(dir)], [dir], 'f.txt')).toBe('startonetwothree\n');
    // Said once each.
    const messages = await e.messages();
    expect(messages.filter((m) => m.includes('has not answered your typing'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('answers again'))).toHaveLength(1);
  }, 120_000);

  // Trial s60 F7 (4 people, the daemon stopped 60 s): Bob's saves while his daemon was stopped
  // were written by Emacs itself (the daemon did not answer), and on resume the daemon took that
  // file in as an outside edit on top of the same typing arriving as edits: his words twice, on
  // every member. Emacs now tells the daemon the text it writes (`buffer/save` with `writes`).
  it('a save while the daemon is stopped writes the buffer, and once the daemon answers every key is there once', async () => {
    const { scene, dir, e, pid } = await typingOnAStoppedDaemon();
    await e.command('(save-buffer)'); // waits out the typing's answer (5 s), then Emacs writes the file
    expect(fs.readFileSync(path.join(dir, 'f.txt'), 'utf8')).toBe('startonetwo\n');
    await e.type('t h r e e');
    thaw(pid);
    await e.settled();
    const client = await scene.client(dir);
    expect(await converged([e], [client], [dir], 'f.txt')).toBe('startonetwothree\n');
    await new Promise((res) => setTimeout(res, 1500)); // a late take-in of the write would have come by now
    expect(await converged([e], [client], [dir], 'f.txt')).toBe('startonetwothree\n');
  }, 120_000);

  // Trial s56b P4: `chorus stop` on the stopped daemon ended it with edits waiting. Each waiting
  // edit's error opened its buffer again on the connection that had just died, and Emacs showed
  // "error in process sentinel: Process chorus … not running [2 times]" before its own message
  // (this batch Emacs ends on it).
  it('says only its own words when the stopped daemon is ended with chorus stop while typing waits', async () => {
    const { dir, e } = await typingOnAStoppedDaemon();
    // A stopped daemon cannot finish stopping: `chorus stop` ends it at once, and says so.
    expect(chorus(['stop', dir]).stderr).toMatch(/did not finish stopping within 10 s, so it was ended at once/);
    await waitFor('Emacs to say the daemon was stopped', async () => (await e.messages()).some((m) => /was stopped with .chorus stop/.test(m)), 30000).catch(async (err: Error) => {
      throw new Error(`${err.message}; Emacs said: ${(await e.messages()).join(' | ')}`);
    });
    await new Promise((res) => setTimeout(res, 1000));
    // Emacs writes a sentinel's error to *Messages* itself, not through `message'.
    const log = (await e.command('(with-current-buffer "*Messages*" (buffer-string))')) as string;
    expect(log.split('\n').filter((m) => /error in process|not running/.test(m))).toEqual([]);
    // The buffer keeps what was typed.
    expect(await e.command('(buffer-substring-no-properties (point-min) (point-max))')).toBe('startonetwo\n');
  }, 120_000);
});
