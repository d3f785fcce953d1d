/**
 * A folder joined with a read-only code: an edit in Neovim stays in the buffer and, after :write,
 * on this machine's disk, and is not shared. The person is told so once for the buffer, in words
 * that say what happened (the change stays here) and what to do (ask for a writer's code).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, neovimSkipReason, Nvim, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

describe.skipIf(skip)('Neovim plugin: a folder joined read-only', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  /** Ada shares one.txt read-only, Bob joins; Bob's Neovim has it open. */
  async function readOnlyJoin(): Promise<{ a: string; b: string; n: Nvim }> {
    scene = new Scene();
    const a = scene.project({ 'one.txt': 'shared\n' }, 'Ada');
    const b = scene.project({}, 'Bob');
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
    const { code } = JSON.parse(run('share', a, '--json', '--host', '127.0.0.1', '--read-only')) as { code: string };
    run('join', code, b, '--json', '--host', '127.0.0.1');
    const n = await scene.nvim();
    await n.edit(path.join(b, 'one.txt'));
    return { a, b, n };
  }

  it('an edit and :write stay on this machine, and the buffer says so once, not once per edit', async () => {
    const { a, b, n } = await readOnlyJoin();
    const told = async () => (await n.messages()).filter((m) => /read-only/.test(m.msg));
    const pause = () => new Promise((r) => setTimeout(r, 1500));
    await n.input('Ofirst<Esc>');
    await waitFor('the refusal', async () => (await told()).length > 0, 30000);
    await n.input('Osecond<Esc>');
    await pause();
    await n.command('write');
    await pause(); // the daemon sees the written file, and the buffer may be re-read
    await n.input('Othird<Esc>');
    await n.command('write');
    // The daemon connection coming back re-opens every buffer, and meets the same refusal.
    await n.lua(`local sync = require('chorus.sync'); sync.connection_ready(sync.buffers[vim.api.nvim_get_current_buf()].conn)`);
    // Give any repeat the time to arrive before counting.
    await pause();
    const messages = await told();
    expect(messages.map((m) => m.msg)).toHaveLength(1);
    expect(messages[0]!.msg).toMatch(/one\.txt/);
    expect(messages[0]!.msg).toMatch(/stays on this machine/);
    expect(messages[0]!.msg).toMatch(/writer's join code/);
    expect(messages[0]!.msg).not.toMatch(/was not made/);
    expect(fs.readFileSync(path.join(b, 'one.txt'), 'utf8')).toBe('third\nsecond\nfirst\nshared\n');
    expect(fs.readFileSync(path.join(a, 'one.txt'), 'utf8')).toBe('shared\n');
  });

  // Regression: :ChorusStatus said the bare role ("guest, read-only"), and "guest" while a daemon
  // that had just started was rejoining its session; it now says what `chorus status` says, in
  // the words generated from protocol/src/session-words.ts.
  it(':ChorusStatus names the session as chorus status does: read-only, and reconnecting while a daemon rejoins', async () => {
    const dirs = await readOnlyJoin();
    const { n } = dirs;
    await n.command('ChorusStatus');
    const line = await waitFor('the status', async () => (await n.messages()).map((m) => /^session {2}(.*)$/m.exec(m.msg)?.[1]).find((l) => l !== undefined));
    expect(line).toBe("joined; read-only: you can see the files and follow others, not edit (changes you make stay on this machine; ask whoever shared the session for a code that can edit)");
    // A session not started yet (session/status `starting`): never the role alone.
    const said = (session: Record<string, unknown>) => n.lua<string>('return require("chorus.util").session_text(...)', [session]);
    expect(await said({ role: 'guest', readOnly: false, starting: 'rejoining' })).toBe('reconnecting: the daemon has just started and rejoins the session once it has read the folder');
    expect(await said({ role: 'host', readOnly: false, starting: 'rejoining' })).toMatch(/^reconnecting: /);
    expect(await said({ role: 'guest', readOnly: false, disk: false, starting: 'joining' })).toBe('joining: the join waits for the daemon to finish reading the folder; view mode: nothing is written to this folder; files live in your editors only');
    expect(await said({ role: 'host', readOnly: false })).toBe('sharing');

    // (Same two daemons, to keep the suite fast.) Bob's own new file, open in Neovim (its open
    // refused: not shared), then Ada makes the same path: the daemon keeps Bob's text in
    // .chorus/kept and says so (session/notice, decision 184), shown as a warning, and the buffer
    // takes the session's text and follows it again. It was told nothing and kept Bob's text.
    const { a, b } = dirs;
    fs.writeFileSync(path.join(b, 'newro.txt'), 'bob local\n');
    await n.command(`edit ${path.join(b, 'newro.txt')}`);
    await waitFor('the refused open', async () => (await n.status())?.status === 'failed');
    fs.writeFileSync(path.join(a, 'newro.txt'), 'ada writes\n');
    const notice = await waitFor('the notice', async () => (await n.messages()).find((m) => /newro\.txt/.test(m.msg) && /\.chorus\/kept\/newro\.txt\./.test(m.msg)), 60000);
    expect(notice.level).toBe(3); // vim.log.levels.WARN
    await waitFor("the buffer following Ada's newro.txt", async () => (await n.status())?.status === 'open' && (await n.text()) === 'ada writes\n');
    expect(await n.lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)')).toEqual(['ada writes']);
    fs.writeFileSync(path.join(a, 'newro.txt'), 'ada writes\nmore\n');
    await waitFor("Ada's next change in the buffer", async () => (await n.text()) === 'ada writes\nmore\n');
  });
});
