// :ChorusShare in a folder that is not a Chorus project yet makes it one (the plugin runs
// `chorus connect --create` there, which makes one even inside another project, where `chorus
// connect` alone refuses: test/cli/connect-outside.test.ts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/project-dir.js';
import { cli, neovimSkipReason, Scene, waitFor } from './support.js';

const skip = neovimSkipReason();

describe.skipIf(skip)('Neovim plugin: sharing a folder that is not a project yet', () => {
  let scene: Scene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it(':ChorusShare makes the current folder a project and prints a join code', async () => {
    scene = new Scene();
    const plain = tempDir('chorus-nvim-plain-');
    scene.dirs.push(plain);
    fs.writeFileSync(path.join(plain, 'f.txt'), 'mine\n');
    const n = await scene.nvim({ host: '127.0.0.1' });
    await n.command(`cd ${plain}`);
    await n.command('ChorusShare');
    // The plugin waits about 10 s for a connection before it gives a command up, and a daemon
    // starting on a loaded machine can take longer: wait for the connection, then share again.
    const state = () => n.lua<string | null>('local c = require("chorus").connections[...] return c and c.state', [plain]);
    await waitFor('the connection to the daemon it started', async () => (await state()) === 'ready', 120_000);
    expect(fs.existsSync(path.join(plain, '.chorus'))).toBe(true);
    if (!(await n.messages()).some((m) => m.msg.includes('join code'))) await n.command('ChorusShare');
    await waitFor('a join code', async () => (await n.messages()).some((m) => m.msg.includes('join code')), 60_000);
    // "(copied)" only where it was (a trial: said with no clipboard provider, after Neovim's own
    // "clipboard: No provider"); the unnamed register has it either way.
    const clipboard = (await n.api.eval('has("clipboard")')) === 1;
    const said = (await n.messages()).find((m) => m.msg.includes('join code'))!.msg;
    expect(said).toContain(clipboard ? 'join code (copied to the clipboard): chorus2.' : 'join code (in the unnamed register: p pastes it): chorus2.');
    expect(String(await n.api.eval('@"'))).toBe(said.slice(said.indexOf('chorus2.')));
    expect((await n.messages()).filter((m) => /No provider/.test(m.msg))).toEqual([]);
    const st = JSON.parse(spawnSync(process.execPath, [cli, 'status', plain, '--json'], { encoding: 'utf8' }).stdout);
    expect(st.session).toMatchObject({ role: 'host' });
  }, 240_000);
});
