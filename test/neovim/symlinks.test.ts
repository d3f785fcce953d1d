/**
 * A shared file opened in one Neovim again through a symbolic link (`link.txt -> real.txt`) after
 * a peer's typing made the daemon write the file anew: Neovim no longer sees it is the file it has
 * and reads it into a second buffer (with swap files, after E325 ATTENTION for its own swap
 * file). A user trial: that buffer was not the shared one, stayed stale while the peer typed, and
 * its `:w!` wrote the stale text over the file, which the daemon took in, deleting the peer's lines
 * on every peer. Now the link's window shows the file's shared buffer (decision 199): it follows
 * the peer, typing in either window is shared, and `:w!` from it deletes nothing; so too for a
 * link outside the project. (A linked folder makes no second buffer: Neovim resolves the folders
 * of a path itself.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sameFolders, unreportedErrors } from '../support/folder-state.js';
import { tempDir } from '../support/project-dir.js';
import { logOf, Scene, waitFor, neovimSkipReason, type Nvim, type ProtocolClient } from './support.js';

const skip = neovimSkipReason();

/** The text Chorus holds for Neovim buffer `bufnr` (nil when it is not shared). */
function bufText(n: Nvim, bufnr: number): Promise<string | null> {
  return n.lua<string | null>('return require("chorus").buffer_text(...)', [bufnr]);
}

/** What buffer `bufnr` shows, as the file it would write (lines joined, final line break). */
function shown(n: Nvim, bufnr: number): Promise<string> {
  return n.lua<string>('local b = ...; return table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, true), "\\n") .. (vim.bo[b].eol and "\\n" or "")', [bufnr]);
}

/** A peer's scripted editor typing at the start of line `line` of `file` (its revision: the changes it was sent). */
async function peerTypes(peer: ProtocolClient, file: string, line: number, text: string): Promise<void> {
  const revision = peer.notes.filter((x) => x.method === 'buffer/didChange' && x.params.path === file).length;
  const at = { line, character: 0 };
  await peer.request('buffer/edit', { path: file, revision, changes: [{ range: { start: at, end: at }, text }] });
}

/** The window's buffer number. */
function bufOf(n: Nvim, win: number): Promise<number> {
  return n.lua<number>('return vim.api.nvim_win_get_buf(...)', [win]);
}

describe.skipIf(skip)('Neovim: one shared file opened again through a symbolic link', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene.cleanup();
  });

  for (const { swapfile, outside } of [
    { swapfile: false, outside: false },
    { swapfile: true, outside: false },
    { swapfile: false, outside: true },
  ]) {
    const variant = swapfile ? ' (with swap files: no E325 question for its own swap file)' : outside ? ' (a link from outside the project)' : '';
    it(`both windows follow the peer's typing, typing in either is shared, and :w! from the link's window deletes nothing${variant}`, async () => {
      scene = new Scene();
      const { a, b } = scene.pair({ 'real.txt': 'one\ntwo\n' });
      const link = outside ? path.join(tempDir('chorus-nvim-out-'), 'link.txt') : path.join(a, 'link.txt');
      fs.symlinkSync(path.join(a, 'real.txt'), link);
      const peer = await scene.client(b);
      expect(await peer.text('real.txt')).toBe('one\ntwo\n');
      const n = await scene.nvim();
      // (The tests start Neovim with -n: no swap files. These ones go to a folder of the test's own.)
      if (swapfile) await n.command(`set swapfile updatecount=200 directory=${tempDir('chorus-nvim-swap-')}//`);
      await n.edit(path.join(a, 'real.txt'));
      const realWin = await n.lua<number>('return vim.api.nvim_get_current_win()');
      const first = await bufOf(n, realWin);
      // The peer types; the daemon writes the file anew (a new inode), so Neovim no longer sees
      // that link.txt is this buffer's file, and reads it into a buffer of its own.
      await peerTypes(peer, 'real.txt', 0, 'B1\n');
      await waitFor('the first buffer to follow', async () => (await bufText(n, first)) === 'B1\none\ntwo\n');
      await waitFor('the file written', () => fs.readFileSync(path.join(a, 'real.txt'), 'utf8') === 'B1\none\ntwo\n');
      await n.command(`split ${link}`);
      const linkWin = await n.lua<number>('return vim.api.nvim_get_current_win()');
      expect(linkWin).not.toBe(realWin);
      await waitFor("the link's window on a shared buffer", async () => (await bufText(n, await bufOf(n, linkWin))) !== null);
      expect(await shown(n, await bufOf(n, linkWin))).toBe('B1\none\ntwo\n');

      // The peer types again: both windows show it.
      await peerTypes(peer, 'real.txt', 1, 'B2\n');
      const want = 'B1\nB2\none\ntwo\n';
      await waitFor("the peer's second line in the first window", async () => (await shown(n, await bufOf(n, realWin))) === want);
      await waitFor("the peer's second line in the link's window", async () => (await shown(n, await bufOf(n, linkWin))) === want, 10000);

      // Typing in the link's window reaches the other window and the peer, and the other way round.
      await n.input('GoA-link<Esc>');
      await n.settled();
      await waitFor("the link window's typing in the first window", async () => (await shown(n, await bufOf(n, realWin))) === want + 'A-link\n');
      await waitFor("the link window's typing at the peer", async () => (await peer.text('real.txt')) === want + 'A-link\n');
      await n.lua('vim.api.nvim_set_current_win(...)', [realWin]);
      await n.input('ggOA-real<Esc>');
      await n.settled();
      const typed = 'A-real\n' + want + 'A-link\n';
      await waitFor("the first window's typing in the link's window", async () => (await shown(n, await bufOf(n, linkWin))) === typed);
      await waitFor("the first window's typing at the peer", async () => (await peer.text('real.txt')) === typed);

      // :w! from the link's window writes the shared text: the peer's lines stay, everywhere.
      await n.lua('vim.api.nvim_set_current_win(...)', [linkWin]);
      await n.command('write!');
      expect(await n.api.eval('v:errmsg')).toBe('');
      await new Promise((r) => setTimeout(r, 500)); // the watcher's turn
      const state = await sameFolders([a, b], 'real.txt with every line on both peers', (s) => s['real.txt']?.content === typed);
      expect(Object.keys(state)).toEqual(['real.txt']);
      expect(fs.readFileSync(link, 'utf8')).toBe(typed);
      expect(await peer.text('real.txt')).toBe(typed);
      expect(await shown(n, await bufOf(n, realWin))).toBe(typed);
      expect(await shown(n, await bufOf(n, linkWin))).toBe(typed);
      expect(unreportedErrors([...logOf(a), ...logOf(b)])).toEqual([]);
    });
  }

  it('a second buffer of the file with changes of its own stays, unshared and told so, and cannot be written over the shared file', async () => {
    // Reached when buffers are shared after they were changed (autostart off and :ChorusAttach,
    // or a join): dropping the second buffer would lose the person's changes.
    scene = new Scene();
    const a = scene.project({ 'real.txt': 'one\ntwo\n' });
    fs.symlinkSync('real.txt', path.join(a, 'link.txt'));
    const other = await scene.client(a);
    expect(await other.text('real.txt')).toBe('one\ntwo\n');
    const n = await scene.nvim({ autostart: false });
    await n.command(`edit ${path.join(a, 'real.txt')}`);
    const first = await n.lua<number>('return vim.api.nvim_get_current_buf()');
    // The file written anew (a new inode), as the daemon does: Neovim reads the link into a second buffer.
    fs.writeFileSync(path.join(a, '.chorus', 'swap.tmp'), 'one\ntwo\n');
    fs.renameSync(path.join(a, '.chorus', 'swap.tmp'), path.join(a, 'real.txt'));
    await n.command(`split ${path.join(a, 'link.txt')}`);
    const second = await n.lua<number>('return vim.api.nvim_get_current_buf()');
    expect(second).not.toBe(first);
    await n.input('ggiMINE <Esc>');
    expect(await n.lua('return require("chorus").attach(...)', [first])).toBe(true);
    await waitFor('the first buffer shared', async () => (await n.lua<{ status: string } | null>('return require("chorus").buffer_status(...)', [first]))?.status === 'open');
    await peerTypes(other, 'real.txt', 0, 'B1\n');
    const want = 'B1\none\ntwo\n';
    await waitFor('the first buffer to follow', async () => (await bufText(n, first)) === want);
    await waitFor('the file written', () => fs.readFileSync(path.join(a, 'real.txt'), 'utf8') === want);

    expect(await n.lua('return require("chorus").attach(...)', [second])).toBe(null);
    expect((await n.messages()).some((m) => m.msg.includes('has changes of its own') && m.msg.includes(`shared in buffer ${first}`))).toBe(true);
    expect(await bufText(n, second)).toBe(null);
    await n.command('silent! write!');
    await new Promise((r) => setTimeout(r, 500)); // the watcher's turn, had anything been written
    expect(fs.readFileSync(path.join(a, 'real.txt'), 'utf8')).toBe(want);
    expect(await other.text('real.txt')).toBe(want);
    expect((await n.messages()).some((m) => /not written: .*link\.txt is the shared file/.test(m.msg))).toBe(true);
    expect(await n.lua('return vim.bo.modified')).toBe(true);
    expect(await shown(n, second)).toBe('MINE one\ntwo\n');
    // Written elsewhere, as asked: the person's changes are theirs to keep.
    await n.command(`write ${path.join(a, 'mine.txt')}`);
    expect(fs.readFileSync(path.join(a, 'mine.txt'), 'utf8')).toBe('MINE one\ntwo\n');
    expect(fs.readFileSync(path.join(a, 'real.txt'), 'utf8')).toBe(want);
  });

  // Two ways to write (decision 222): the daemon writes the shared text (`buffer/save`), or, with
  // a daemon that lacks it, the plugin writes the buffer whole into the file the link names.
  for (const [how, daemonSaves] of [
    ['the daemon writes it (buffer/save)', true],
    ['with an older daemon, the plugin writes it whole', false],
  ] as const) {
    it(`:w of a buffer opened through a link puts the whole text in the file it names: the link stays a link, the mode stays (${how})`, async () => {
      // Guards the whole-file write (decision 199): written in place, the daemon's watcher could
      // read the file emptied and not yet written again, and duplicate a line.
      scene = new Scene();
      const a = scene.project({ 'run.sh': 'echo one\n' });
      fs.chmodSync(path.join(a, 'run.sh'), 0o755);
      fs.symlinkSync('run.sh', path.join(a, 'link.sh'));
      const other = await scene.client(a);
      expect(await other.text('run.sh')).toBe('echo one\n');
      const n = await scene.nvim();
      await n.edit(path.join(a, 'link.sh'));
      expect((await n.status())?.path).toBe('run.sh');
      await n.input('Goecho two<Esc>');
      await n.settled();
      // (Which way it wrote: by the daemon, or whole by the plugin, never in place.)
      await n.lua('local s = require("chorus.sync"); local w = s.write_whole; s.write_whole = function(...) _G.whole = w(...); return _G.whole end');
      if (!daemonSaves) await n.lua('for _, st in pairs(require("chorus.sync").buffers) do st.conn.unsupported["buffer/save"] = true end');
      await n.command('write');
      expect(await n.lua('return _G.whole')).toBe(daemonSaves ? null : true);
      expect(await n.api.eval('v:errmsg')).toBe('');
      expect(await n.api.eval('&modified')).toBe(0);
      const want = 'echo one\necho two\n';
      expect(fs.readFileSync(path.join(a, 'run.sh'), 'utf8')).toBe(want);
      expect(fs.lstatSync(path.join(a, 'link.sh')).isSymbolicLink()).toBe(true);
      expect(fs.statSync(path.join(a, 'run.sh')).mode & 0o777).toBe(0o755);
      expect(fs.readdirSync(path.join(a, '.chorus', 'tmp')).filter((f) => f.startsWith('nvim-'))).toEqual([]);
      await waitFor('the daemon in step', async () => (await other.text('run.sh')) === want);
      await new Promise((r) => setTimeout(r, 500)); // the watcher's turn
      expect(await other.text('run.sh')).toBe(want);
      expect(fs.readFileSync(path.join(a, 'run.sh'), 'utf8')).toBe(want);
    });
  }
});
