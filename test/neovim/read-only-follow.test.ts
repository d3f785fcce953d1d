/**
 * A read-only member types in a buffer that follows the session (trial s49, fault 6). The daemon
 * refuses the change; the buffer keeps the person's text (as Emacs and VS Code do, and as
 * read-only.test.ts asserts), so it no longer shows the others' changes. That must be said where
 * it stays visible, not once only, and :ChorusReconnect must bring the buffer back to following.
 * Before: the buffer sat `failed` for good, unmarked, and a reconnect re-opened it with the
 * refused change again (`failed` again), even when the daemon's notice said the session's
 * version had replaced the person's in every editor that had it open.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, neovimSkipReason, Nvim, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

describe.skipIf(skip)('Neovim plugin: a read-only member whose own change was refused', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  /** Ada shares doc.txt read-only, Dan joins; Dan's Neovim has it open and types ` DDDDDD` in it. */
  async function typedWhileReadOnly(): Promise<{ a: string; b: string; n: Nvim }> {
    scene = new Scene();
    const a = scene.project({ 'doc.txt': 'line one\nline two\n' }, 'Ada');
    const b = scene.project({}, 'Dan');
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
    const { code } = JSON.parse(run('share', a, '--json', '--host', '127.0.0.1', '--read-only')) as { code: string };
    run('join', code, b, '--json', '--host', '127.0.0.1');
    const n = await scene.nvim();
    await n.edit(path.join(b, 'doc.txt'));
    await n.input('A DDDDDD<Esc>');
    await waitFor('the refusal', async () => (await n.status())?.status === 'failed', 30000);
    return { a, b, n };
  }

  const marks = (n: Nvim) =>
    n.lua<string[]>(`
      local ns = vim.api.nvim_get_namespaces()['chorus_not_following']
      if not ns then return {} end
      local out = {}
      for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
        for _, chunk in ipairs(m[4].virt_text or {}) do out[#out + 1] = chunk[1] end
      end
      return out`);

  const cursorMarks = (n: Nvim) => n.lua<number>(`return #vim.api.nvim_buf_get_extmarks(0, require('chorus.cursors').ns, 0, -1, {})`);

  it('the buffer says it does not follow, persistently, and :ChorusReconnect makes it follow again', async () => {
    const { a, n } = await typedWhileReadOnly();
    // The one message says what happened and what to do.
    const refusals = (await n.messages()).filter((m) => /read-only/.test(m.msg));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.msg).toMatch(/no longer follows the session/);
    // What a save does then (trial s56a R1: "keeps your text", then `:w` and a writer's change took it out of the buffer).
    expect(refusals[0]!.msg).toMatch(/saving writes your text to the file here until a writer changes the session's version, which then replaces it there and in this buffer \(yours is kept in \.chorus\/kept\/\)/);
    expect(refusals[0]!.msg).toMatch(/:ChorusReconnect/);
    // And the buffer carries it for as long as it lasts.
    expect((await n.status()) as unknown).toMatchObject({ not_following: true });
    expect((await marks(n)).join('')).toMatch(/not following the session.*:ChorusReconnect/);

    // Ada types meanwhile, her cursor in the text; the buffer keeps Dan's text (his change stays
    // on this machine), and draws no cursor placed in a text it does not show.
    const ada = await scene.client(a);
    await ada.request('buffer/open', { path: 'doc.txt' });
    fs.writeFileSync(path.join(a, 'doc.txt'), 'line one\nline two\nline three\n');
    await ada.notify('cursor/set', { path: 'doc.txt', selections: [{ anchor: { line: 2, character: 4 }, head: { line: 2, character: 4 } }] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await n.lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)')).toEqual(['line one DDDDDD', 'line two']);
    expect(await cursorMarks(n)).toBe(0);

    await n.command('ChorusReconnect');
    await waitFor("the buffer following Ada's doc.txt", async () => (await n.status())?.status === 'open' && (await n.text()) === 'line one\nline two\nline three\n', 30000);
    expect(await n.lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)')).toEqual(['line one', 'line two', 'line three']);
    expect(await marks(n)).toEqual([]);
    await waitFor("Ada's cursor, drawn again", async () => (await cursorMarks(n)) > 0, 30000);
    expect((await n.status()) as unknown).toMatchObject({ not_following: false });
    expect((await n.messages()).filter((m) => /doc\.txt follows the session again/.test(m.msg))).toHaveLength(1);
    fs.writeFileSync(path.join(a, 'doc.txt'), 'line one\nline two\nline three\nline four\n');
    await waitFor("Ada's next change in the buffer", async () => (await n.text()) === 'line one\nline two\nline three\nline four\n', 30000);
  });

  it("a reconnect's re-open that the daemon's kept-copy notice overtakes: the buffer takes the session's text", async () => {
    const { n } = await typedWhileReadOnly();
    // The connection coming back re-opens the buffer with its refused change (refused again);
    // the notice that the session's version replaced the person's comes while that open is out
    // (as after `chorus stop` and :ChorusReconnect in the trial). It was skipped as "opening".
    await n.lua(`
      local sync = require('chorus.sync')
      local state = sync.buffers[vim.api.nvim_get_current_buf()]
      sync.connection_ready(state.conn)
      sync.take_session_text(state.conn, 'doc.txt')`);
    await waitFor("the buffer following the session's doc.txt", async () => (await n.status())?.status === 'open' && (await n.text()) === 'line one\nline two\n', 30000);
    expect(await marks(n)).toEqual([]);
    // As the message says, undo brings Dan's text back: refused again, and marked again.
    await n.input('u');
    expect(await n.lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)')).toEqual(['line one DDDDDD', 'line two']);
    await waitFor('the refusal again', async () => (await n.status())?.status === 'failed', 30000);
    expect((await marks(n)).join('')).toMatch(/not following the session/);
  });
});
