/**
 * Trial s55a F6: Neovim said nothing while its own daemon was stopped (`kill -STOP`, as a
 * suspended terminal leaves it): the connection stays open, nothing answers, and the person typed
 * on unaware. The plugin now says, once, that the daemon has not answered the typing and that
 * nothing is lost; once it answers, that it does again. Every key arrives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonsFor, frozenAfterEach } from '../support/cli.js';
import { converged, neovimSkipReason, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

describe.skipIf(skip)('Neovim while its daemon is stopped', () => {
  let scene: Scene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });
  const { freeze, thaw } = frozenAfterEach();

  it('says the daemon has not answered the typing, then that it answers again; every key arrives', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const n = await scene.nvim();
    await n.edit(path.join(dir, 'f.txt'));
    await n.input('Aone<Esc>');
    await n.settled();
    const [pid] = daemonsFor(dir);
    expect(pid).toBeDefined();
    freeze(pid!);

    await n.input('Atwo<Esc>');
    const slow = await waitFor('the plugin to say the daemon does not answer', async () => (await n.messages()).find((m) => m.msg.includes('has not answered your typing')), 30000);
    expect(slow.msg).toContain(dir);
    expect(slow.msg).toMatch(/Nothing is lost/);
    await n.input('Athree<Esc>');

    thaw(pid!);
    await waitFor('the plugin to say the daemon answers again', async () => (await n.messages()).some((m) => m.msg.includes('answers again')), 30000);
    await n.settled();
    const client = await scene.client(dir);
    expect(await converged([n], client, dir, 'f.txt')).toBe('startonetwothree\n');
    // Said once each.
    const messages = await n.messages();
    expect(messages.filter((m) => m.msg.includes('has not answered your typing'))).toHaveLength(1);
    expect(messages.filter((m) => m.msg.includes('answers again'))).toHaveLength(1);
  }, 120_000);

  // Trial s60 F7 (Emacs; the same path here): a save while the daemon is stopped goes unanswered
  // for its 10 s, and the plugin writes the buffer itself. On resume the daemon took that file in
  // as an outside edit on top of the same typing arriving as edits: doubled on every member. The
  // plugin now tells the daemon the text it writes (`buffer/save` with `writes`, decision 271).
  it('a :w while the daemon is stopped writes the buffer, and once the daemon answers every key is there once', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const n = await scene.nvim();
    await n.edit(path.join(dir, 'f.txt'));
    const [pid] = daemonsFor(dir);
    expect(pid).toBeDefined();
    // Stopped right after the typing, before it wrote it: the folder still holds `start`.
    await n.input('Aone<Esc>');
    freeze(pid!);
    await n.input('Atwo<Esc>:w<CR>');
    await waitFor('Neovim to write the file itself', () => (readFile(dir) === 'startonetwo\n' ? true : undefined), 30000);
    await n.input('Athree<Esc>');
    thaw(pid!);
    await n.settled();
    const client = await scene.client(dir);
    expect(await converged([n], client, dir, 'f.txt')).toBe('startonetwothree\n');
    await new Promise((r) => setTimeout(r, 1500)); // a late take-in of the write would have come by now
    expect(await converged([n], client, dir, 'f.txt')).toBe('startonetwothree\n');
  }, 120_000);
});

function readFile(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, 'f.txt'), 'utf8');
  } catch {
    return undefined;
  }
}
