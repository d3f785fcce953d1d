/**
 * Presence and follow in real headless Neovims on one daemon: remote cursors appear as extmarks
 * with the person's name; follow moves the window across files; own-edit undo. Each skips with a
 * printed reason while the daemon lacks the method (and fails under CHORUS_REQUIRE_ALL=1).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureSkipReason, neovimSkipReason, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

interface Mark {
  row: number;
  col: number;
  label?: string;
}

const readMarks = `
  local ns = vim.api.nvim_create_namespace('chorus_cursors')
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local d = m[4]
    local label = d.virt_text and d.virt_text_pos == 'eol' and d.virt_text[1][1] or nil
    table.insert(out, { row = m[2], col = m[3], label = label })
  end
  return out`;

describe.skipIf(skip)('Neovim plugin: presence', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it.skipIf(!skip && featureSkipReason('CursorSet', 'cursor/set'))('shows a remote cursor as an extmark with a name, and clears it', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'alpha\nbeta\ngamma\n' });
    const a = await scene.nvim();
    const b = await scene.nvim();
    await a.edit(path.join(dir, 'f.txt'));
    await b.edit(path.join(dir, 'f.txt'));
    await a.lua('vim.api.nvim_win_set_cursor(0, {2, 2})');
    await a.input('l'); // a real cursor move
    const marks = await waitFor('a cursor from the other Neovim', async () => {
      const m = await b.lua<Mark[]>(readMarks);
      return m.some((x) => x.row === 1) ? m : undefined;
    });
    expect(marks.some((m) => typeof m.label === 'string' && m.label.trim().length > 0)).toBe(true);
    // Selecting in visual mode draws a selection.
    await a.input('vj');
    await waitFor('the selection', async () => (await b.lua<Mark[]>(readMarks)).some((m) => m.row === 1));
    await a.input('<Esc>');
    // The other Neovim leaves: its cursor goes away.
    await a.quit();
    await waitFor('the cursor to be cleared', async () => (await b.lua<Mark[]>(readMarks)).length === 0, 60000);
  });

  it.skipIf(!skip && featureSkipReason('FollowStart', 'follow/start'))('follow moves the window across files', async () => {
    scene = new Scene();
    const dir = scene.project({ 'one.txt': 'one\n', 'two.txt': 'two\nsecond line\n' });
    const a = await scene.nvim();
    const b = await scene.nvim();
    await a.edit(path.join(dir, 'one.txt'));
    await b.edit(path.join(dir, 'one.txt'));
    const name = await a.lua<string>(`return require('chorus').connections[${JSON.stringify(dir)}].info.peer.name`);
    await b.command(`ChorusFollow ${name}`);
    await a.edit(path.join(dir, 'two.txt'));
    await a.lua('vim.api.nvim_win_set_cursor(0, {2, 3})');
    await a.input('l');
    await waitFor('b to follow into two.txt', async () => String(await b.api.eval('expand("%:t")')) === 'two.txt');
    await waitFor('b at the cursor line', async () => (await b.lua<number[]>('return vim.api.nvim_win_get_cursor(0)'))[0] === 2);
    await b.command('ChorusUnfollow');
  });

  it.skipIf(!skip && featureSkipReason('BufferUndo', 'buffer/undo'))(':ChorusUndo undoes only my edits', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'x\n' });
    const a = await scene.nvim();
    const b = await scene.nvim();
    await a.edit(path.join(dir, 'f.txt'));
    await b.edit(path.join(dir, 'f.txt'));
    await a.input('Amine<Esc>');
    await a.settled();
    await waitFor('b sees it', async () => (await b.text()) === 'xmine\n');
    await b.input('Gotheirs<Esc>');
    await b.settled();
    await waitFor('a sees it', async () => (await a.text()) === 'xmine\ntheirs\n');
    await a.command('ChorusUndo');
    await waitFor('undo everywhere', async () => (await a.text()) === 'x\ntheirs\n' && (await b.text()) === 'x\ntheirs\n');
    await a.command('ChorusRedo');
    await waitFor('redo everywhere', async () => (await a.text()) === 'xmine\ntheirs\n' && (await b.text()) === 'xmine\ntheirs\n');
  });
});

describe.skipIf(skip)('Neovim plugin: commands on a daemon without a feature', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('reports a missing method once and keeps working', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'x\n' });
    const n = await scene.nvim();
    await n.edit(path.join(dir, 'f.txt'));
    await n.command('ChorusStatus');
    await waitFor('status shown', async () => (await n.messages()).some((m) => m.msg.includes('project  ')));
    await n.command('ChorusPeers');
    await n.command('ChorusUndo');
    await n.command('ChorusFollow nobody');
    await waitFor('an answer for each', async () => (await n.messages()).length >= 3);
    // Whatever the daemon supports, editing still works.
    await n.input('Ay<Esc>');
    await n.settled();
    expect(await n.text()).toBe('xy\n');
  });
});

describe('Neovim plugin: setup() validation', () => {
  it.skipIf(skip)('gives clear errors for bad options', async () => {
    const scene = new Scene();
    try {
      const n = await scene.nvim();
      const err = await n.lua<string>(`local ok, e = pcall(require('chorus').setup, { cmd = 'chorus' }); return e`);
      expect(err).toContain('cmd must be a list');
      const err2 = await n.lua<string>(`local ok, e = pcall(require('chorus').setup, { colour = 1 }); return e`);
      expect(err2).toContain('unknown option "colour"');
      const health = await n.lua<string>(`vim.cmd('checkhealth chorus'); return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')`);
      expect(health).toContain('chorus');
    } finally {
      await scene.cleanup();
    }
  });
});
