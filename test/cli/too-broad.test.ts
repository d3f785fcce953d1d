// `chorus share ~` or `chorus join <code> /` would read (and offer peers) everything under the
// home folder or the whole file system, or mix a project into it (user trial: `chorus status
// /etc` even advised `chorus share /etc`). Both are refused before anything starts, and the
// not-a-project message gives no such advice. HOME points at a temp folder: the real home is
// never touched.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { writerKeys } from '../../daemon/src/net/credentials.js';
import { encodeJoinCode } from '../../daemon/src/net/join-code.js';
import * as P from '@chorus/protocol';
import { chorus } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { tempDir } from '../support/project-dir.js';

it('share and join refuse the home folder and the file system root; nothing is made there', () => {
  const home = tempDir();
  fs.writeFileSync(path.join(home, '.bashrc'), 'secret\n');
  const env = { ...process.env, HOME: home };
  const code = encodeJoinCode({ sessionId: 's', keys: writerKeys(new Uint8Array(randomBytes(32))), addrs: ['ws://127.0.0.1:9'] });

  const share = chorus(['share', home], { env });
  expect(share.status).not.toBe(0);
  expect(share.stderr).toContain(`${home} is your home folder: sharing it would offer everything under it; share a project folder inside it instead`);
  const join = chorus(['join', code, home], { env });
  expect(join.status).not.toBe(0);
  expect(join.stderr).toContain(`${home} is your home folder: join into a folder of its own instead`);
  const root = chorus(['join', code, '/'], { env });
  expect(root.status).not.toBe(0);
  expect(root.stderr).toContain('/ is the root of the file system');
  expect(fs.readdirSync(home)).toEqual(['.bashrc']); // no .chorus/, no daemon started there

  // A project inside the home folder is fine to point at, and the root is given no advice to share it.
  const status = chorus(['status', '/'], { env });
  expect(status.stderr).toContain('/ is not a Chorus project (it has no .chorus/ folder); give the folder of a project');
  expect(status.stderr).not.toContain('chorus share /');
});

it('the home folder through a link, an editor\'s Share there (`chorus connect --create`), and a daemon an older Chorus started there: none shares or joins it', async () => {
  // A trial: Neovim's :ChorusShare in ~ ran `chorus connect --create ~`, which made the home
  // folder a project, and sharing it sent ~/.aws/credentials to a guest; `chorus join <code>
  // homelink` (a link to the home folder) joined into it.
  const home = tempDir();
  fs.writeFileSync(path.join(home, '.bashrc'), 'secret\n');
  const env = { ...process.env, HOME: home };
  const code = encodeJoinCode({ sessionId: 's', keys: writerKeys(new Uint8Array(randomBytes(32))), addrs: ['ws://127.0.0.1:9'] });
  const elsewhere = tempDir();
  fs.symlinkSync(home, path.join(elsewhere, 'homelink'));
  const join = chorus(['join', code, path.join(elsewhere, 'homelink')], { env });
  expect(join.status).not.toBe(0);
  expect(join.stderr).toContain(`${path.join(elsewhere, 'homelink')} (${home}) is your home folder: join into a folder of its own instead`);
  const connect = chorus(['connect', '--create', home], { env, input: '' });
  expect(connect.status).not.toBe(0);
  expect(connect.stderr).toContain(`${home} is your home folder, which cannot be a project`);
  expect(fs.readdirSync(home)).toEqual(['.bashrc']);

  // A .chorus/ an older Chorus made there: the daemon starts (its editors reach it) but refuses
  // to share or join, whoever asks.
  fs.mkdirSync(path.join(home, '.chorus'), { mode: 0o700 });
  const { editor, proc } = ScriptedEditor.connect(home, {}, env);
  try {
    await editor.init();
    await expect(editor.raw(P.SessionShare.method, {})).rejects.toThrow(`${home} is your home folder: sharing it would offer everything under it`);
    await expect(editor.raw(P.SessionJoin.method, { code, disk: true })).rejects.toThrow(`${home} is your home folder: joining into it would mix`);
    expect(fs.existsSync(path.join(home, '.chorus', 'session.json'))).toBe(false);
  } finally {
    editor.close();
    proc.kill();
    chorus(['stop', home], { env });
  }
});
