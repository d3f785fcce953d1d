/**
 * Chorus: Join in a VS Code opened on a folder that is not a Chorus project yet goes through
 * `chorus join`, which checks the code before anything starts: a bad code leaves no `.chorus/`
 * and no daemon behind; a good one joins, and the extension connects and shares the folder's
 * files. code-server with the extension from a freshly built .vsix, driven in Chromium.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, Scene } from '../neovim/support.js';
import { editedCode } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';
import { buildVsix, VsCode, vscodeSkipReason, waitFor } from './support.js';

const skip = vscodeSkipReason();

describe.skipIf(skip)('VS Code extension: joining from a folder that is not a project yet', () => {
  const scene = new Scene();
  let vs: VsCode;
  let plain: string;

  beforeAll(async () => {
    buildVsix();
    plain = tempDir('chorus-vscode-plain-');
    scene.dirs.push(plain);
    vs = await VsCode.start(plain, {}, false);
  }, 240_000);

  afterEach(async (ctx) => {
    await vs.reportIfFailed(ctx.task);
  });

  afterAll(async () => {
    await vs?.close();
    await scene.cleanup();
  }, 60_000);

  it('Chorus: Join with a bad code leaves nothing behind and says why; with a good one the folder joins and its files are shared', async () => {
    await vs.command('Chorus: Join');
    await vs.answer('chorus2.garbage');
    await waitFor('the error', async () => (await vs.notifications()).some((t) => /Chorus: the join code is damaged/.test(t)), 60000);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4); // no daemon runs there

    const dirA = scene.project({ 'f.txt': 'shared\n' }, 'Ada');
    const code = JSON.parse(execFileSync(process.execPath, [cli, 'share', dirA, '--json', '--host', '127.0.0.1'], { encoding: 'utf8' })).code as string;
    // A well-formed code with a wrong secret, for a live sharer: the CLI says why first, then what it
    // undid; the notification shows both, in that order, each once prefixed.
    const wrongSecret = editedCode(code, (c) => (c.k = Buffer.alloc(32, 7).toString('base64url')));
    await vs.command('Chorus: Join');
    await vs.answer(wrongSecret);
    const refusal = () => vs.notifications().then((ts) => ts.find((t) => /the join left things as they were/.test(t)));
    await waitFor('the refusal', async () => (await refusal()) !== undefined, 60000);
    const shown = (await refusal())!;
    expect(shown).toMatch(/Chorus: the session refused to let this folder in: .*secret does not match.*; the join left things as they were: stopped the daemon it started/);
    expect(shown).not.toMatch(/chorus: chorus:/i);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4);

    await vs.command('Chorus: Join');
    await vs.answer(code);
    await waitFor('joined', async () => (await vs.notifications()).some((t) => t.includes(`Chorus: joined — 1 file in ${plain}.`)), 90000);
    expect(fs.readFileSync(path.join(plain, 'f.txt'), 'utf8')).toBe('shared\n');
    await waitFor('the extension connected', () => vs.state()?.connected, 30000);
    await vs.open('f.txt');
    await vs.page.keyboard.press('Control+Home');
    await vs.type('from VS Code');
    await vs.page.keyboard.press('Enter');
    await waitFor('the sharer has it', () => fs.readFileSync(path.join(dirA, 'f.txt'), 'utf8') === 'from VS Code\nshared\n', 30000);
  }, 240_000);
});
