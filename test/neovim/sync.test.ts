/**
 * The Neovim plugin against the real daemon, in real headless Neovims: every edge case ends with
 * the buffer, the daemon's text and the file on disk identical.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, converged, neovimSkipReason, Scene, waitFor, type Nvim } from './support.js';

const skip = neovimSkipReason();

interface EdgeCase {
  name: string;
  /** The file before Neovim opens it. */
  initial: string;
  /** What the person does. */
  act: (n: Nvim, file: string) => Promise<void>;
  /** The text everyone must end with. */
  expected: string | ((initial: string) => string);
}

const longLine = 'x'.repeat(200_000);
const pasted = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`);

const cases: EdgeCase[] = [
  {
    name: 'multibyte and wide characters',
    initial: 'héllo wörld\n',
    act: async (n) => {
      await n.input('0li漢字🎉<Esc>');
      await n.input('$x');
    },
    expected: 'h漢字🎉éllo wörl\n',
  },
  {
    name: 'CRLF (fileformat=dos)',
    initial: 'one\r\ntwo\r\n',
    act: async (n) => {
      expect(await n.lua('return vim.bo.fileformat')).toBe('dos');
      await n.input('Gothree<Esc>ggAé<Esc>');
    },
    expected: 'oneé\r\ntwo\r\nthree\r\n',
  },
  {
    name: 'no line break at the end of the file',
    initial: 'a\nb',
    act: async (n) => {
      await n.input('GAc<Esc>');
      await n.input('od<Esc>');
    },
    expected: 'a\nbc\nd',
  },
  {
    name: 'line break at the end of the file',
    initial: 'a\nb\n',
    act: async (n) => {
      await n.input('Goc<Esc>');
      await n.input('ggdd');
    },
    expected: 'b\nc\n',
  },
  {
    name: 'deleting every line',
    initial: 'a\nb\nc\n',
    act: async (n) => {
      await n.input('ggdG');
    },
    expected: '\n',
  },
  {
    name: 'empty buffer',
    initial: '',
    act: async (n) => {
      await n.input('ihello<CR>world<Esc>');
    },
    expected: 'hello\nworld',
  },
  {
    name: 'a paste of thousands of lines',
    initial: 'first\nlast\n',
    act: async (n) => {
      await n.lua('vim.api.nvim_win_set_cursor(0, {1, 0}); vim.api.nvim_put(..., "l", true, false)', [pasted]);
    },
    expected: `first\n${pasted.join('\n')}\nlast\n`,
  },
  {
    name: 'a very long line',
    initial: `${longLine}\n`,
    act: async (n) => {
      await n.lua('vim.api.nvim_win_set_cursor(0, {1, 100000})');
      await n.input('iMIDDLE<Esc>$aEND<Esc>');
    },
    expected: `${longLine.slice(0, 100000)}MIDDLE${longLine.slice(100000)}END\n`,
  },
  {
    name: 'Neovim undo and redo',
    initial: 'abc\n',
    act: async (n) => {
      await n.input('A one<Esc>');
      await n.input('A two<Esc>');
      await n.input('u');
      await n.input('u');
      await n.input('<C-r>');
    },
    expected: 'abc one\n',
  },
  {
    name: ':s over many lines',
    initial: Array.from({ length: 300 }, (_, i) => `row ${i}`).join('\n') + '\n',
    act: async (n) => {
      await n.command('%s/row/Zeile/');
    },
    expected: Array.from({ length: 300 }, (_, i) => `Zeile ${i}`).join('\n') + '\n',
  },
  {
    name: ':e! keeps the buffer shared',
    initial: 'one\n',
    act: async (n) => {
      await n.input('Atwo<Esc>');
      await n.settled();
      await waitFor('write-back', () => fs.readFileSync(path.join((n as any).dir, 'f.txt'), 'utf8') === 'onetwo\n' || undefined);
      await n.command('edit!');
      await waitFor('re-attached', async () => (await n.status())?.status === 'open');
      await n.input('Athree<Esc>');
    },
    expected: 'onetwothree\n',
  },
  {
    name: ':w after the daemon wrote the file',
    initial: 'one\n',
    act: async (n) => {
      await n.input('Atwo<Esc>');
      await n.settled();
      await waitFor('write-back', () => fs.readFileSync(path.join((n as any).dir, 'f.txt'), 'utf8') === 'onetwo\n' || undefined);
      await n.input('Athree<Esc>');
      await n.command('write');
      expect(await n.api.eval('v:errmsg')).toBe('');
    },
    expected: 'onetwothree\n',
  },
];

describe.skipIf(skip)('Neovim plugin: edge cases against the daemon', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene.cleanup();
  });

  it.each(cases)('$name', async (c) => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': c.initial });
    const n = await scene.nvim();
    (n as any).dir = dir;
    await n.edit(path.join(dir, 'f.txt'));
    const client = await scene.client(dir);
    // Opening changes nothing.
    expect(await client.text('f.txt')).toBe(c.initial);
    await c.act(n, 'f.txt');
    await n.settled();
    const expected = typeof c.expected === 'string' ? c.expected : c.expected(c.initial);
    const text = await converged([n], client, dir, 'f.txt');
    expect(text).toBe(expected);
  });
});

describe.skipIf(skip)('Neovim plugin: remote changes', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene.cleanup();
  });

  it('applies remote edits without moving the cursor in the text', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'hello world\nsecond\n' });
    const n = await scene.nvim();
    await n.edit(path.join(dir, 'f.txt'));
    await n.lua('vim.api.nvim_win_set_cursor(0, {1, 6})'); // on "w"
    const client = await scene.client(dir);
    await client.text('f.txt');
    await client.request('buffer/edit', {
      path: 'f.txt',
      revision: 0,
      changes: [
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'ÄÖ ' },
        { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: 'third' },
      ],
    });
    await waitFor('remote edit', async () => (await n.text()) === 'ÄÖ hello world\nsecond\nthird');
    // "w" is now 5 bytes further right; the cursor is still on it.
    expect(await n.lua('return vim.api.nvim_win_get_cursor(0)')).toEqual([1, 11]);
    expect(await n.lua('return vim.bo.eol')).toBe(false);
    await n.command('write');
    expect(fs.readFileSync(path.join(dir, 'f.txt'), 'utf8')).toBe('ÄÖ hello world\nsecond\nthird');
  });

  it('two Neovims typing at once end identical', async () => {
    scene = new Scene();
    const initial = 'top\nmiddle\nbottom\n';
    const dir = scene.project({ 'f.txt': initial });
    const a = await scene.nvim();
    const b = await scene.nvim();
    await a.edit(path.join(dir, 'f.txt'));
    await b.edit(path.join(dir, 'f.txt'));
    await a.input('ggA');
    await b.input('GA');
    const typing: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      typing.push(a.input(String.fromCharCode(97 + (i % 26))));
      typing.push(b.input(i % 10 === 9 ? '<CR>' : 'ж'));
      if (i % 8 === 0) typing.push(a.input('<CR>'));
    }
    await Promise.all(typing);
    await a.input('<Esc>');
    await b.input('<Esc>');
    await a.settled();
    await b.settled();
    const client = await scene.client(dir);
    const text = await converged([a, b], client, dir, 'f.txt');
    // Both people's typing is there, in full.
    expect([...text].filter((ch) => ch === 'ж').length).toBe(36);
    expect(text.replace(/[^a-z]/g, '')).toContain('top');
    expect(text.split('\n').length).toBeGreaterThan(8);
  });

  it('reconnects on its own after the daemon dies and keeps the typing', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'start\n' });
    const n = await scene.nvim();
    await n.edit(path.join(dir, 'f.txt'));
    await n.input('Aone<Esc>');
    await n.settled();
    const pid = JSON.parse(execFileSync(process.execPath, [cli, 'status', dir, '--json'], { encoding: 'utf8' })).pid as number;
    expect(Number.isInteger(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    await waitFor('the plugin to notice', async () => (await n.status())?.status === 'offline');
    await n.input('Atwo<Esc>'); // still editable while the daemon is away
    await waitFor('reconnect', async () => (await n.status())?.status === 'open', 60000);
    await n.input('Athree<Esc>');
    await n.settled();
    const client = await scene.client(dir);
    expect(await converged([n], client, dir, 'f.txt')).toBe('startonetwothree\n');
    const lost = (await n.messages()).filter((m) => m.msg.includes('lost the daemon'));
    expect(lost.length).toBe(1);
  });
});
