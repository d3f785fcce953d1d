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
import { chorus } from '../support/cli.js';
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
