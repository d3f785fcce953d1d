/**
 * What real projects do to files open in Neovim 0.7 (issue 11): a file created with :edit, an
 * ignored file, a file renamed by a peer while open. Two peered daemons started by the CLI; each
 * test ends with both folders compared file by file with modes, every buffer, and the daemons'
 * logs free of failures nobody was told of.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sameFolders, unreportedErrors } from '../support/folder-state.js';
import { logOf, Scene, waitFor } from './support.js';
import { neovimSkipReason } from './support.js';

const skip = neovimSkipReason();

describe.skipIf(skip)('Neovim: files of a real project', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene.cleanup();
  });

  it(':edit of a new file + typing + :write gives the file its final line break, on both peers (item 1)', async () => {
    // Pins: the new file's shared text (and so :write) lacked the line break Neovim writes.
    scene = new Scene();
    const { a, b } = scene.pair({ 'README.md': '# r\n' });
    const n = await scene.nvim();
    await n.edit(path.join(a, 'new.py'));
    await n.input('iprint(1)<CR>print(2)<Esc>');
    await n.settled();
    await n.command('write');
    expect(await n.api.eval('v:errmsg')).toBe('');
    const want = 'print(1)\nprint(2)\n';
    const state = await sameFolders([a, b], 'new.py on both peers', (s) => s['new.py']?.content === want);
    expect(Object.keys(state)).toEqual(['README.md', 'new.py']);
    expect(await n.text()).toBe(want);
    const client = await scene.client(b);
    expect(await client.text('new.py')).toBe(want);
    expect(unreportedErrors([...logOf(a), ...logOf(b)])).toEqual([]);
  });

  it('an ignored file opened in Neovim stays local, and the buffer shows it is not shared (item 3)', async () => {
    // Pins: opening `.env` shared it with every peer.
    scene = new Scene();
    const { a, b } = scene.pair({ '.gitignore': '.env\n', '.env': 'SECRET=1\n', 'app.js': 'x\n' });
    const n = await scene.nvim();
    await n.command(`edit ${path.join(a, '.env')}`);
    const st = await waitFor('the open answer', async () => {
      const s = await n.status();
      return s?.status === 'local' ? s : undefined;
    });
    expect((st as unknown as { not_shared: string }).not_shared).toMatch(/ignored/);
    expect((await n.messages()).some((m) => /stays on this machine/.test(m.msg))).toBe(true);
    await n.input('ASECRET2=2<Esc>');
    await n.command('write');
    expect(await n.api.eval('v:errmsg')).toBe('');
    expect(fs.readFileSync(path.join(a, '.env'), 'utf8')).toBe('SECRET=1SECRET2=2\n');
    // a shared edit afterwards arrives, the secret never does
    await n.edit(path.join(a, 'app.js'));
    await n.input('Ay<Esc>');
    await n.settled();
    const state = await sameFolders([b], 'app.js on B', (s) => s['app.js']?.content === 'xy\n');
    expect(Object.keys(state)).toEqual(['.gitignore', 'app.js']);
    const client = await scene.client(b);
    const files = (await client.request('workspace/files', {})) as { files: Array<{ path: string }> };
    expect(files.files.map((f) => f.path).sort()).toEqual(['.gitignore', 'app.js']);
    expect(unreportedErrors([...logOf(a), ...logOf(b)])).toEqual([]);
  });

  it('a file renamed by a peer while open: the buffer follows, and typing lands in the new file on both sides (item 7)', async () => {
    // Pins: the buffer kept the old name; typing re-created old_name.ts from the one typed line
    // and new_name.ts never got it.
    scene = new Scene();
    const initial = 'export const a = 1;\nexport const b = 2;\n';
    const { a, b } = scene.pair({ 'src/old_name.ts': initial });
    const n = await scene.nvim();
    await n.edit(path.join(b, 'src', 'old_name.ts'));
    fs.renameSync(path.join(a, 'src', 'old_name.ts'), path.join(a, 'src', 'new_name.ts'));
    await waitFor('the rename to reach the buffer', async () => ((await n.api.eval('expand("%:t")')) === 'new_name.ts' ? true : undefined));
    expect((await n.status())?.path).toBe('src/new_name.ts');
    await n.input('Goexport const c = 3;<Esc>');
    await n.settled();
    const want = initial + 'export const c = 3;\n';
    const state = await sameFolders([a, b], 'new_name.ts with the typed line on both', (s) => s['src/new_name.ts']?.content === want);
    expect(Object.keys(state)).toEqual(['src/new_name.ts']);
    expect(await n.text()).toBe(want);
    await n.command('write');
    expect(await n.api.eval('v:errmsg')).toBe('');
    await new Promise((r) => setTimeout(r, 500));
    expect(Object.keys(await sameFolders([a, b], 'still one file'))).toEqual(['src/new_name.ts']);
    expect(unreportedErrors([...logOf(a), ...logOf(b)])).toEqual([]);
  });
});
