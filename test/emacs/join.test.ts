/**
 * `chorus-join` from a folder that is not a Chorus project yet goes through `chorus join`, which
 * checks the code before anything starts: a bad code leaves no `.chorus/` and no daemon behind;
 * a good one joins, and the folder's buffers are shared.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, waitFor } from '../neovim/support.js';
import { editedCode } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';
import { elisp, emacsSkipReason, EmacsScene } from './support.js';

const skip = emacsSkipReason();

describe.skipIf(skip)('Emacs client: joining from a folder that is not a project yet', () => {
  let scene: EmacsScene;
  afterEach(async () => {
    await scene?.cleanup();
  });

  it('chorus-join with a bad code leaves nothing behind and says why; with a good one the folder joins and its buffers are shared', async () => {
    scene = new EmacsScene();
    const dirA = scene.project({ 'f.txt': 'shared\n' }, 'Ada');
    const plain = tempDir('chorus-emacs-plain-');
    scene.dirs.push(plain);
    const e = await scene.emacs();
    await e.eval(`(setq chorus-host "127.0.0.1" default-directory ${elisp(plain + '/')})`);
    await e.eval('(chorus-join "chorus2.garbage")');
    await waitFor('the error', async () => (await e.messages()).some((m) => /^chorus: the join code is damaged/.test(m)), 60000);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4); // no daemon runs there

    const code = JSON.parse(execFileSync(process.execPath, [cli, 'share', dirA, '--json', '--host', '127.0.0.1'], { encoding: 'utf8' })).code as string;
    // A well-formed code with a wrong secret, for a live sharer: the CLI says why first, then what it
    // undid; the message shows both, in that order, each once prefixed.
    const wrongSecret = editedCode(code, (c) => (c.k = Buffer.alloc(32, 7).toString('base64url')));
    await e.eval(`(chorus-join ${elisp(wrongSecret)})`);
    await waitFor('the refusal', async () => (await e.messages()).some((m) => /the join left things as they were/.test(m)), 60000);
    const refusal = (await e.messages()).find((m) => /the join left things as they were/.test(m))!;
    expect(refusal).toMatch(/^chorus: the session refused to let this folder in: .*secret does not match.*\nthe join left things as they were: stopped the daemon it started/);
    expect(refusal).not.toMatch(/chorus: chorus:/);
    expect(refusal.split('\n').slice(1).some((l) => l.startsWith('chorus: '))).toBe(false);
    expect(fs.readdirSync(plain)).toEqual([]);
    expect(spawnSync(process.execPath, [cli, 'status', plain]).status).toBe(4);

    // A buffer already visiting the (not yet existing) file is shared once the join is done.
    await e.eval(`(chorus-driver-visit ${elisp(path.join(plain, 'f.txt'))})`);
    await e.eval(`(chorus-join ${elisp(code)})`);
    await waitFor('joined', async () => (await e.messages()).some((m) => /joined: 1 files/.test(m)), 60000);
    expect(fs.readFileSync(path.join(plain, 'f.txt'), 'utf8')).toBe('shared\n');
    await waitFor('the buffer shared', async () => (await e.status())?.status === 'open' && (await e.eval('(buffer-string)')) === 'shared\n');
    await e.type('f r o m SPC E m a c s RET');
    await waitFor('the sharer has it', () => fs.readFileSync(path.join(dirA, 'f.txt'), 'utf8') === 'from Emacs\nshared\n');
  });
});
