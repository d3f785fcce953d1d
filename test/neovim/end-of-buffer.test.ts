/**
 * A peer's change that touches the end of a Neovim buffer: the final line break is kept as 'eol'
 * (Neovim has no line after it), so the buffer must show the file's lines, no more, with 'eol'
 * saying whether the text ends with a line break, and typing after it must land on the right
 * lines everywhere. A user trial: a peer deleting the last line left an empty line in the buffer
 * with 'noeol', and the next line typed went after a blank line, the file losing its final line
 * break on every peer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { converged, neovimSkipReason, Scene, waitFor, type Nvim, type ProtocolClient } from './support.js';

const skip = neovimSkipReason();

const at = (line: number, character: number) => ({ line, character });

interface EndCase {
  name: string;
  initial: string;
  /** The peer's change: [start, end, text]. */
  change: [{ line: number; character: number }, { line: number; character: number }, string];
  /** The text after the change, and what the buffer shows ('eol' as Neovim has it for an empty file too). */
  text: string;
  lines: string[];
  eol: boolean;
  /** Keys typed after the change, and the text everyone must end with. */
  keys: string;
  after: string;
}

const cases: EndCase[] = [
  { name: 'deleting the last line', initial: 'one\ntwo\nthree\n', change: [at(2, 0), at(3, 0), ''], text: 'one\ntwo\n', lines: ['one', 'two'], eol: true, keys: 'Gofour<Esc>', after: 'one\ntwo\nfour\n' },
  { name: 'deleting the last two lines', initial: 'one\ntwo\nthree\n', change: [at(1, 0), at(3, 0), ''], text: 'one\n', lines: ['one'], eol: true, keys: 'Gofour<Esc>', after: 'one\nfour\n' },
  { name: 'deleting the final line break', initial: 'one\ntwo\n', change: [at(1, 3), at(2, 0), ''], text: 'one\ntwo', lines: ['one', 'two'], eol: false, keys: 'Gofour<Esc>', after: 'one\ntwo\nfour' },
  { name: 'deleting from inside the last line to the end', initial: 'one\ntwo\n', change: [at(1, 1), at(2, 0), ''], text: 'one\nt', lines: ['one', 't'], eol: false, keys: 'GAx<Esc>', after: 'one\ntx' },
  { name: 'inserting a line after the final line break', initial: 'one\ntwo\n', change: [at(2, 0), at(2, 0), 'three\n'], text: 'one\ntwo\nthree\n', lines: ['one', 'two', 'three'], eol: true, keys: 'Gofour<Esc>', after: 'one\ntwo\nthree\nfour\n' },
  { name: 'inserting text without a line break after the final one', initial: 'one\ntwo\n', change: [at(2, 0), at(2, 0), 'three'], text: 'one\ntwo\nthree', lines: ['one', 'two', 'three'], eol: false, keys: 'GAx<Esc>', after: 'one\ntwo\nthreex' },
  { name: 'replacing the last line and its line break with a line', initial: 'one\ntwo\n', change: [at(1, 0), at(2, 0), 'TWO\n'], text: 'one\nTWO\n', lines: ['one', 'TWO'], eol: true, keys: 'Gofour<Esc>', after: 'one\nTWO\nfour\n' },
  { name: 'replacing across the final line break with text', initial: 'one\ntwo\n', change: [at(1, 1), at(2, 0), 'X'], text: 'one\ntX', lines: ['one', 'tX'], eol: false, keys: 'Gofour<Esc>', after: 'one\ntX\nfour' },
  { name: 'replacing across the final line break with two lines', initial: 'one\ntwo\n', change: [at(1, 1), at(2, 0), 'X\nY\n'], text: 'one\ntX\nY\n', lines: ['one', 'tX', 'Y'], eol: true, keys: 'Gofour<Esc>', after: 'one\ntX\nY\nfour\n' },
  { name: 'the buffer becoming empty', initial: 'one\ntwo\n', change: [at(0, 0), at(2, 0), ''], text: '', lines: [''], eol: true, keys: 'ifour<Esc>', after: 'four\n' },
  { name: 'a one-line file losing its only line', initial: 'one\n', change: [at(0, 0), at(1, 0), ''], text: '', lines: [''], eol: true, keys: 'ifour<Esc>', after: 'four\n' },
  { name: 'a file of one line break losing it', initial: '\n', change: [at(0, 0), at(1, 0), ''], text: '', lines: [''], eol: true, keys: 'ifour<Esc>', after: 'four\n' },
  { name: 'an empty file getting a line', initial: '', change: [at(0, 0), at(0, 0), 'one\n'], text: 'one\n', lines: ['one'], eol: true, keys: 'Gofour<Esc>', after: 'one\nfour\n' },
  { name: 'no final line break: one added', initial: 'one\ntwo', change: [at(1, 3), at(1, 3), '\n'], text: 'one\ntwo\n', lines: ['one', 'two'], eol: true, keys: 'Gofour<Esc>', after: 'one\ntwo\nfour\n' },
  { name: 'no final line break: a line and a break added', initial: 'one\ntwo', change: [at(1, 3), at(1, 3), '\nthree\n'], text: 'one\ntwo\nthree\n', lines: ['one', 'two', 'three'], eol: true, keys: 'Gofour<Esc>', after: 'one\ntwo\nthree\nfour\n' },
  { name: 'no final line break: a line added', initial: 'one\ntwo', change: [at(1, 3), at(1, 3), '\nthree'], text: 'one\ntwo\nthree', lines: ['one', 'two', 'three'], eol: false, keys: 'Gofour<Esc>', after: 'one\ntwo\nthree\nfour' },
  { name: 'no final line break: the last line deleted', initial: 'one\ntwo', change: [at(0, 3), at(1, 3), ''], text: 'one', lines: ['one'], eol: false, keys: 'Gofour<Esc>', after: 'one\nfour' },
  { name: 'CRLF: deleting the last line', initial: 'one\r\ntwo\r\nthree\r\n', change: [at(2, 0), at(3, 0), ''], text: 'one\r\ntwo\r\n', lines: ['one', 'two'], eol: true, keys: 'Gofour<Esc>', after: 'one\r\ntwo\r\nfour\r\n' },
  { name: 'CRLF: a line added after the final line break', initial: 'one\r\n', change: [at(1, 0), at(1, 0), 'two\r\n'], text: 'one\r\ntwo\r\n', lines: ['one', 'two'], eol: true, keys: 'Gofour<Esc>', after: 'one\r\ntwo\r\nfour\r\n' },
  { name: 'an empty last line deleted', initial: 'one\n\n', change: [at(1, 0), at(2, 0), ''], text: 'one\n', lines: ['one'], eol: true, keys: 'Gofour<Esc>', after: 'one\nfour\n' },
];

describe.skipIf(skip)("Neovim plugin: a peer's change at the end of the buffer", () => {
  const scene = new Scene();
  let dir: string;
  let n: Nvim;
  let client: ProtocolClient;
  beforeAll(async () => {
    dir = scene.project(Object.fromEntries(cases.map((c, i) => [`end${i}.txt`, c.initial])));
    [n, client] = await Promise.all([scene.nvim(), scene.client(dir)]);
  });
  afterAll(async () => {
    await scene.cleanup();
  });

  it.each(cases)('$name', async (c) => {
    const file = `end${cases.indexOf(c)}.txt`;
    await n.edit(path.join(dir, file));
    expect(await client.text(file)).toBe(c.initial); // (opens it for the client: revision 0)
    const [start, end, text] = c.change;
    await client.request('buffer/edit', { path: file, revision: 0, changes: [{ range: { start, end }, text }] });
    await waitFor("the peer's change in the buffer", async () => (await n.text()) === c.text);
    expect(await n.lua('return { vim.api.nvim_buf_get_lines(0, 0, -1, true), vim.bo.eol }')).toEqual([c.lines, c.eol]);
    expect(await converged([n], client, dir, file)).toBe(c.text);
    await n.input(c.keys);
    await n.settled();
    expect(await converged([n], client, dir, file)).toBe(c.after);
    // :write writes the same text.
    await n.command('write');
    expect(fs.readFileSync(path.join(dir, file), 'utf8')).toBe(c.after);
  });
});

describe.skipIf(skip)('Neovim plugin: a peer removing the last line on disk (the trial)', () => {
  let scene: Scene | undefined;
  afterEach(async () => {
    await scene?.cleanup();
    scene = undefined;
  });

  it('the buffer shows the lines left with eol set, and a line typed after them lands right on every peer', async () => {
    scene = new Scene();
    const { a, b } = scene.pair({ 'eol.txt': 'one\ntwo\nthree\n' });
    const n = await scene.nvim();
    await n.edit(path.join(a, 'eol.txt'));
    await waitFor("the file in Bob's folder", () => fs.existsSync(path.join(b, 'eol.txt')) && fs.readFileSync(path.join(b, 'eol.txt'), 'utf8') === 'one\ntwo\nthree\n');
    fs.writeFileSync(path.join(b, 'eol.txt'), 'one\ntwo\n');
    await waitFor("Bob's change in the buffer", async () => (await n.text()) === 'one\ntwo\n');
    expect(await n.lua('return { vim.api.nvim_buf_get_lines(0, 0, -1, true), vim.bo.eol }')).toEqual([['one', 'two'], true]);
    await n.input('Gofour<Esc>');
    await n.settled();
    const client = await scene.client(a);
    expect(await converged([n], client, a, 'eol.txt')).toBe('one\ntwo\nfour\n');
    await waitFor("Bob's folder", () => fs.readFileSync(path.join(b, 'eol.txt'), 'utf8') === 'one\ntwo\nfour\n');
  });
});
