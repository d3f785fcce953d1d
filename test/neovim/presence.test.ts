/**
 * Presence and follow in real headless Neovims on one daemon: remote cursors appear as extmarks
 * with the person's name; follow moves the window across files; own-edit undo. Each skips with a
 * printed reason while the daemon lacks the method (and fails under CHORUS_REQUIRE_ALL=1).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { editedCode } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';
import { cli, converged, featureSkipReason, neovimSkipReason, Scene, waitFor, type Nvim } from './support.js';

const skip = neovimSkipReason();

interface Mark {
  row: number;
  col: number;
  endRow?: number;
  endCol?: number;
  hl?: string;
  label?: string;
  labelHl?: string;
}

const readMarks = `
  local ns = vim.api.nvim_create_namespace('chorus_cursors')
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local d = m[4]
    local mark = { row = m[2], col = m[3], endRow = d.end_row, endCol = d.end_col, hl = d.hl_group }
    if d.virt_text and d.virt_text_pos == 'eol' then
      mark.label, mark.labelHl = d.virt_text[1][1], d.virt_text[1][2]
    elseif d.virt_text then
      mark.hl = d.virt_text[1][2]
    end
    table.insert(out, mark)
  end
  return out`;

/** Who a Neovim is in the session (its daemon's peer). */
function whoAmI(n: Nvim, dir: string): Promise<{ id: string; name: string; color: string }> {
  return n.lua(`return require('chorus').connections[${JSON.stringify(dir)}].info.peer`);
}

/** :ChorusFollow, again until the daemon has heard of that person (presence takes a heartbeat). */
async function follow(n: Nvim, name: string): Promise<void> {
  await waitFor(`to follow ${name}`, async () => {
    await n.command(`ChorusFollow ${name}`);
    return waitFor('an answer', async () => {
      const msgs = await n.messages();
      if (msgs.some((m) => m.msg.includes(`following ${name}`))) return true;
      return msgs.some((m) => m.msg.includes('nobody called')) ? 'no' : undefined;
    }, 5000).then(async (r) => {
      if (r === true) return true;
      await n.lua('_G.chorus_messages = {}');
      await new Promise((res) => setTimeout(res, 200));
      return undefined;
    });
  });
}

describe.skipIf(skip)('Neovim plugin: presence', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it.skipIf(!skip && featureSkipReason('CursorSet', 'cursor/set'))('shows a remote cursor as an extmark with a name and colour; it moves, selects and clears', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'alpha\nbeta\ngamma\ndelta\n', 'g.txt': 'other\n' });
    const [a, b] = await Promise.all([scene.nvim(), scene.nvim()]); // started together
    await a.edit(path.join(dir, 'f.txt'));
    await b.edit(path.join(dir, 'f.txt'));
    const me = await whoAmI(a, dir);
    const hl = `ChorusPeer${me.color.slice(1).toLowerCase()}`;
    await a.lua('vim.api.nvim_win_set_cursor(0, {2, 2})');
    await a.input('l'); // a real cursor move: beta, on the "a"
    const marks = await waitFor('a cursor from the other Neovim', async () => {
      const m = await b.lua<Mark[]>(readMarks);
      return m.some((x) => x.row === 1 && x.col === 3 && !x.label) ? m : undefined;
    });
    // The caret in the person's colour, and their name at the end of the line.
    expect(marks.find((m) => m.row === 1 && !m.label)).toMatchObject({ col: 3, endRow: 1, endCol: 4, hl });
    expect(marks.find((m) => m.label)).toMatchObject({ row: 1, label: ` ${me.name} `, labelHl: `${hl}Label` });
    expect(await b.lua(`return vim.api.nvim_get_hl_by_name('${hl}', true).background`)).toBe(parseInt(me.color.slice(1), 16));
    // It moves with the cursor (the last of a quick burst of moves arrives).
    await a.input('jjj');
    await a.input('k');
    await waitFor('the cursor on gamma', async () => {
      const m = await b.lua<Mark[]>(readMarks);
      return m.length === 2 && m.every((x) => x.row === 2);
    });
    // Visual mode: a selection from gamma to delta.
    await a.input('0vj');
    await waitFor('the selection', async () => (await b.lua<Mark[]>(readMarks)).some((m) => m.row === 2 && m.col === 0 && m.endRow === 3 && m.hl === hl));
    await a.input('<Esc>');
    // Text typed before it by someone else keeps it on its character.
    await b.lua(`vim.api.nvim_buf_set_lines(0, 0, 0, true, { 'new first line' })`);
    await waitFor('the cursor to shift down', async () => (await b.lua<Mark[]>(readMarks)).every((m) => m.row >= 3));
    // The other file: gone from this one.
    await a.command(`edit ${path.join(dir, 'g.txt')}`);
    await waitFor('the cursor to leave f.txt', async () => (await b.lua<Mark[]>(readMarks)).length === 0);
    await a.command(`buffer ${path.join(dir, 'f.txt')}`);
    await waitFor('back in f.txt', async () => (await b.lua<Mark[]>(readMarks)).length > 0);
    // The other Neovim quits: its cursor goes away.
    await a.quit();
    await waitFor('the cursor to be cleared', async () => (await b.lua<Mark[]>(readMarks)).length === 0);
  });

  it.skipIf(!skip && featureSkipReason('FollowStart', 'follow/start'))('follow moves the window across files and to the viewport, on two peered daemons', async () => {
    scene = new Scene();
    const long = Array.from({ length: 300 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const { a: dirA, b: dirB } = scene.pair({ 'one.txt': 'one\n', 'two.txt': long });
    const [a, b] = await Promise.all([scene.nvim(), scene.nvim()]); // started together
    await a.edit(path.join(dirA, 'one.txt'));
    await b.edit(path.join(dirB, 'one.txt'));
    expect((await whoAmI(a, dirA)).name).toBe('Ada');
    await follow(b, 'Ada');
    // Ada opens another file and moves: Bob's window opens it, his cursor on hers.
    await a.edit(path.join(dirA, 'two.txt'));
    await a.input('120G');
    await waitFor('b to follow into two.txt', async () => String(await b.api.eval('expand("%:p")')) === path.join(dirB, 'two.txt'));
    await waitFor('b at her line', async () => (await b.lua<number[]>('return vim.api.nvim_win_get_cursor(0)'))[0] === 120);
    await waitFor('two.txt shared in b', async () => (await b.status())?.path === 'two.txt');
    // She scrolls without moving the cursor: Bob's window shows what hers shows.
    await a.input('zt');
    expect(await a.api.eval('line("w0")')).toBe(120);
    await waitFor('b to show the same lines', async () => (await b.api.eval('line("w0")')) === 120);
    await a.input('<C-e><C-e>');
    await waitFor('b to scroll along', async () => (await b.api.eval('line("w0")')) === 122);
    // Back to the first file.
    await a.command(`buffer ${path.join(dirA, 'one.txt')}`);
    await waitFor('b back in one.txt', async () => String(await b.api.eval('expand("%:t")')) === 'one.txt');
    // Bob types: following stops, and says why.
    await b.input('Ahi<Esc>');
    await waitFor('following to stop', async () => (await b.messages()).some((m) => /stopped following Ada \(you typed\)/.test(m.msg)));
    expect(await b.lua('return require("chorus").following')).toBeNull();
    await a.command(`buffer ${path.join(dirA, 'two.txt')}`);
    await waitFor('a to settle', async () => (await a.status())?.path === 'two.txt');
    expect(String(await b.api.eval('expand("%:t")'))).toBe('one.txt');
    // Both folders hold Bob's typing.
    await waitFor('one.txt everywhere', () => [dirA, dirB].every((d) => fs.readFileSync(path.join(d, 'one.txt'), 'utf8') === 'onehi\n') || undefined);
  });

  it.skipIf(!skip && featureSkipReason('BufferUndo', 'buffer/undo'))(':ChorusUndo undoes only my edits, also with others typing inside them', async () => {
    scene = new Scene();
    const dir = scene.project({ 'f.txt': 'x\n' });
    const [a, b] = await Promise.all([scene.nvim(), scene.nvim()]); // started together
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
    // A types a word; B types inside it; A's undo takes out A's letters only.
    await a.input('ggOhello world<Esc>');
    await a.settled();
    await waitFor('b sees the word', async () => (await b.text()) === 'hello world\nxmine\ntheirs\n');
    await b.lua('vim.api.nvim_win_set_cursor(0, {1, 3})');
    await b.input('iXX<Esc>');
    await b.settled();
    await waitFor('a sees XX', async () => (await a.text()) === 'helXXlo world\nxmine\ntheirs\n');
    await a.command('ChorusUndo');
    // A's letters and A's line break go; B's XX stays.
    await waitFor("only A's word undone", async () => (await a.text()) === 'XXxmine\ntheirs\n' && (await b.text()) === 'XXxmine\ntheirs\n');
    await a.command('ChorusRedo');
    await waitFor('redone around XX', async () => {
      const [ta, tb] = [await a.text(), await b.text()];
      return ta === tb && ta !== null && /^hel.*XX.*lo world\nxmine\ntheirs\n$/.test(ta) ? ta : undefined;
    });
    // Neovim's own undo blocks are steps: two separate changes undo one at a time.
    await a.input('Gofirst<Esc>');
    await a.input('osecond<Esc>');
    await a.settled();
    await a.command('ChorusUndo');
    await waitFor('the second change undone', async () => (await b.text())?.endsWith('theirs\nfirst\n'));
    const client = await scene.client(dir);
    await converged([a, b], client, dir, 'f.txt');
  });
});

describe.skipIf(skip)('Neovim plugin: sharing from Neovim', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it.skipIf(!skip && featureSkipReason('SessionShare', 'session/share'))(':ChorusShare and :ChorusJoin (host from setup) connect two daemons', async () => {
    scene = new Scene();
    const dirA = scene.project({ 'f.txt': 'shared\n' }, 'Ada');
    const dirB = scene.project({}, 'Bob');
    // host: the daemons listen on loopback only (and so only loopback is ever dialled).
    const a = await scene.nvim({ host: '127.0.0.1' });
    const b = await scene.nvim({ host: '127.0.0.1' });
    await a.edit(path.join(dirA, 'f.txt'));
    await a.command('ChorusShare');
    const code = await waitFor('a join code', async () => {
      const m = (await a.messages()).find((x) => x.msg.includes('join code'));
      return m ? String(await a.api.eval('@"')) : undefined;
    });
    expect(code).toMatch(/^chorus2\./);
    await b.command(`cd ${dirB}`);
    await b.command(`ChorusJoin ${code}`);
    await waitFor('joined', async () => (await b.messages()).some((m) => /joined: 1 files/.test(m.msg)), 60000);
    await b.edit(path.join(dirB, 'f.txt'));
    expect(await b.text()).toBe('shared\n');
    await b.input('Ofrom Bob<Esc>');
    await waitFor('a sees it', async () => (await a.text()) === 'from Bob\nshared\n');
    await b.command('ChorusPeers');
    await waitFor('Ada among the peers', async () => (await b.messages()).some((m) => m.msg.includes('peers:') && m.msg.includes('Ada')));
    const status = JSON.parse(execFileSync(process.execPath, [cli, 'status', dirA, '--json'], { encoding: 'utf8' }));
    expect(status.session).toMatchObject({ role: 'host' });
    // :ChorusStatus lists the peer as `chorus status` does: name, colour, the id's start (peers
    // of one name told apart), how it is reached and its state, with no gap for a part not known.
    const bob = (status.peers as Array<{ id: string; name: string }>).find((p) => p.name === 'Bob')!;
    await a.command('ChorusStatus');
    const said = await waitFor(':ChorusStatus', async () => (await a.messages()).find((m) => m.msg.includes('peers    1'))?.msg);
    expect(said).toMatch(new RegExp(`\\n  Bob \\(#[0-9a-f]{6}\\) ${bob.id.slice(0, 8)}( via \\S+)? connected(\\n|$)`));
    expect(said.split('\n').filter((l) => /\S {2,}\S/.test(l.trimStart()) && !/^(project|daemon|session|buffers|peers|you|writing|editors) /.test(l))).toEqual([]);
    const text = execFileSync(process.execPath, [cli, 'status', dirA], { encoding: 'utf8' });
    expect(text).toMatch(new RegExp(`\\npeers     1\\n  Bob ${bob.id.slice(0, 8)} via \\S+ connected`));
    expect(text.split('\n').filter((l) => / $/.test(l))).toEqual([]);
  });
});

describe.skipIf(skip)('Neovim plugin: joining from a folder that is not a project yet', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it(':ChorusJoin with a bad code leaves nothing behind and says why; with a good one the folder joins and its buffers are shared', async () => {
    scene = new Scene();
    const dirA = scene.project({ 'f.txt': 'shared\n' }, 'Ada');
    const plain = tempDir('chorus-nvim-plain-');
    scene.dirs.push(plain);
    const b = await scene.nvim({ host: '127.0.0.1' });
    await b.command(`cd ${plain}`);
    await b.command('ChorusJoin chorus2.garbage');
    await waitFor('the error', async () => (await b.messages()).some((m) => /join code is damaged/.test(m.msg) && m.level === 4), 60000);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4); // no daemon runs there

    const code = JSON.parse(execFileSync(process.execPath, [cli, 'share', dirA, '--json', '--host', '127.0.0.1'], { encoding: 'utf8' })).code as string;
    // A well-formed code with a wrong secret, for a live sharer: the CLI says why first, then what it
    // undid; the message shows both, in that order, each once prefixed.
    const wrongSecret = editedCode(code, (c) => (c.k = Buffer.alloc(32, 7).toString('base64url')));
    await b.command(`ChorusJoin ${wrongSecret}`);
    await waitFor('the refusal', async () => (await b.messages()).some((m) => /the join left things as they were/.test(m.msg)), 60000);
    const refusal = (await b.messages()).find((m) => /the join left things as they were/.test(m.msg))!;
    expect(refusal.level).toBe(4);
    expect(refusal.msg).toMatch(/^Chorus: the session refused to let this folder in: .*secret does not match.*\nthe join left things as they were: stopped the daemon it started/);
    expect(refusal.msg).not.toMatch(/chorus: chorus:/i);
    expect(refusal.msg.split('\n').some((l) => l.startsWith('chorus: '))).toBe(false);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4);

    await b.command(`ChorusJoin ${code}`);
    await waitFor('joined', async () => (await b.messages()).some((m) => /joined: 1 files/.test(m.msg)), 60000);
    await b.edit(path.join(plain, 'f.txt'));
    await b.input('Ofrom Bob<Esc>');
    await waitFor('the sharer has it', () => fs.readFileSync(path.join(dirA, 'f.txt'), 'utf8') === 'from Bob\nshared\n');
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

  it.skipIf(skip)('a `chorus` that is not on PATH is said once, with the fix, and not retried until :ChorusReconnect (a trial)', async () => {
    const scene = new Scene();
    try {
      const dir = scene.project({ 'f.txt': 'x\n' });
      const missing = 'chorus-not-installed-here';
      const n = await scene.nvim({ cmd: [missing] });
      await n.command(`edit ${path.join(dir, 'f.txt')}`);
      const said = (m: { msg: string }) => m.msg.includes(`cannot start the daemon for ${dir}: \`${missing}\` is not a program on your PATH. Install the chorus command`);
      await waitFor('the message', async () => (await n.messages()).some(said));
      // Retries were every 0.1–1 s here: two seconds would have shown several.
      await new Promise((r) => setTimeout(r, 2000));
      const messages = await n.messages();
      expect(messages.filter(said)).toHaveLength(1);
      expect(messages.filter((m) => /Spawning language server|: nil|lost the daemon/.test(m.msg))).toEqual([]);
      // (Through pcall: shown at ERROR level, the message is a Vim error to nvim_command.)
      await n.lua("pcall(vim.cmd, 'ChorusReconnect')");
      await waitFor('said again on :ChorusReconnect', async () => (await n.messages()).filter(said).length === 2);
      // :checkhealth says why, not only "failed".
      const health = await n.lua<string>(`vim.cmd('checkhealth chorus'); local t = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'); vim.cmd('tabclose'); return t`);
      expect(health).toContain(`${dir}: failed: cannot start the daemon for ${dir}: \`${missing}\` is not a program on your PATH`);
      expect(health).toContain('fix that, then run :ChorusReconnect');
      // The buffer stays as it was, editable.
      await n.input('Ay<Esc>');
      expect(await n.lua<string>('return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\\n")')).toBe('xy');
    } finally {
      await scene.cleanup();
    }
  });

  it.skipIf(skip)('a cmd that runs but exits at once (a wrong path to cli.js) is said as a connection never made, naming the command (a trial)', async () => {
    const scene = new Scene();
    try {
      const dir = scene.project({ 'f.txt': 'x\n' });
      const cliPath = path.join(dir, 'not-built', 'cli.js');
      const n = await scene.nvim({ cmd: [process.execPath, cliPath] });
      await n.command(`edit ${path.join(dir, 'f.txt')}`);
      const said = (m: { msg: string }) => m.msg.includes(`could not connect to the daemon for ${dir} (\`${process.execPath} ${cliPath} connect`) && m.msg.includes('exited (code 1) before the daemon answered: check cmd in setup()');
      await waitFor('the message', async () => (await n.messages()).some(said));
      expect((await n.messages()).filter((m) => /lost the daemon/.test(m.msg))).toEqual([]);
    } finally {
      await scene.cleanup();
    }
  });

  it.skipIf(skip)(':checkhealth chorus names the project of the file shown, and never says there is none beside a project it is connected to', async () => {
    const scene = new Scene();
    try {
      const dir = scene.project({ 'f.txt': 'x\n' });
      const outside = tempDir('chorus-nvim-outside-');
      scene.dirs.push(outside);
      const n = await scene.nvim();
      await n.edit(path.join(dir, 'f.txt'));
      const health = () => n.lua<string>(`vim.cmd('checkhealth chorus'); local t = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'); vim.cmd('tabclose'); return t`);
      const inside = await health();
      expect(inside).toContain(`project: ${dir}`);
      expect(inside).toContain(`${dir}: ready`);
      expect(inside).not.toContain('no .chorus/ folder');
      // A file outside any project, in a folder outside any project: the connection is still there.
      await n.command(`cd ${outside}`);
      await n.command(`edit ${path.join(outside, 'notes.txt')}`);
      const away = await health();
      expect(away).toContain('the current file and folder are outside the projects connected below');
      expect(away).not.toContain('no .chorus/ folder');
      expect(away).not.toContain(`project: ${dir}`);
      expect(away).toContain(': ready');
    } finally {
      await scene.cleanup();
    }
  });
});
