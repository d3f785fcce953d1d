/**
 * Chorus: Share in a VS Code opened on a folder that is not a Chorus project yet makes it one: the
 * extension runs `chorus connect --create` there (which makes one even inside another project,
 * where `chorus connect` alone refuses: test/cli/connect-outside.test.ts). code-server with the
 * freshly built .vsix, in Chromium.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, Scene } from '../neovim/support.js';
import { tempDir } from '../support/project-dir.js';
import { buildVsix, VsCode, vscodeSkipReason, waitFor } from './support.js';

const skip = vscodeSkipReason();

describe.skipIf(skip)('VS Code extension: sharing a folder that is not a project yet', () => {
  const scene = new Scene();
  let vs: VsCode;
  let plain: string;

  beforeAll(async () => {
    buildVsix();
    plain = tempDir('chorus-vscode-plain-');
    fs.writeFileSync(path.join(plain, 'f.txt'), 'mine\n');
    scene.dirs.push(plain);
    vs = await VsCode.start(plain, { 'chorus.share.host': '127.0.0.1' }, false);
  }, 240_000);

  afterAll(async () => {
    await vs?.close();
    await scene.cleanup();
  }, 60_000);

  it('Chorus: Share makes the folder a project and shares it', async () => {
    expect(fs.existsSync(path.join(plain, '.chorus'))).toBe(false);
    await vs.command('Chorus: Share');
    await waitFor('sharing', async () => (await vs.notifications()).some((t) => t.includes(`Chorus: sharing ${plain}.`)), 120_000);
    expect(fs.existsSync(path.join(plain, '.chorus'))).toBe(true);
    const st = JSON.parse(spawnSync(process.execPath, [cli, 'status', plain, '--json'], { encoding: 'utf8' }).stdout);
    expect(st.session).toMatchObject({ role: 'host' });
  }, 240_000);
});
