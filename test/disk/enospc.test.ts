// Issue 10, item 11: edits answered with ENOSPC were in the shared text anyway, and after space
// was freed the peer received none of the next acknowledged edits until a reconnect. Now an edit
// is either refused and absent everywhere, or accepted and delivered; recovery needs no reconnect.
// A real full disk: the host's project lives on a small tmpfs (needs root to mount; skips without).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { stopAll } from '../peers/peer-helpers.js';
import { skipReason } from '../support/skip.js';

let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
let mount: string | undefined;
afterEach(async () => {
  [daemons, editors] = await stopAll(daemons, editors);
  if (mount) {
    execFileSync('umount', [mount]);
    fs.rmSync(mount, { recursive: true, force: true });
    mount = undefined;
  }
});

function smallDisk(): string | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-enospc-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    skipReason('the full-disk (ENOSPC) test', 'cannot mount a tmpfs (needs root)');
    return undefined;
  }
}

const until = async (pred: () => boolean, what: string, ms = 20000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('a full disk refuses an edit everywhere; once space returns, edits flow again without a reconnect', async () => {
  mount = smallDisk();
  if (!mount) return;
  const root = path.join(mount, 'project');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'a.txt'), 'start\n');
  const host = await startDaemon(root, 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  await guest.join(await host.share({ host: '127.0.0.1', webrtc: false }), { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  const he = await ScriptedEditor.socket(host.project.socketPath);
  const ge = await ScriptedEditor.socket(guest.project.socketPath);
  editors = [he, ge];
  await he.init();
  await ge.init();
  await he.open('a.txt');
  await ge.open('a.txt');
  // Fill the disk to the last byte.
  const filler = path.join(mount, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
  const big = 'x'.repeat(64 * 1024);
  await expect(he.edit('a.txt', 0, 0, big)).rejects.toMatchObject({ code: P.ErrorCodes.StorageFailed });
  const id = host.workspace.index.idOf('a.txt')!;
  expect(host.workspace.text(id)).toBe('start\n');
  await new Promise((r) => setTimeout(r, 500));
  expect(guest.workspace.text(guest.workspace.index.idOf('a.txt')!)).toBe('start\n');
  expect(ge.text('a.txt')).toBe('start\n');
  // Space comes back: the next acknowledged edits reach the guest, with no reconnect.
  fs.rmSync(filler);
  expect(await he.open('a.txt')).toBe('start\n');
  for (let i = 0; i < 10; i++) await he.edit('a.txt', 0, 0, `${i}`);
  await until(() => ge.text('a.txt') === '9876543210start\n', 'the ten edits on the guest');
  expect(guest.session.network!.peers().find((p) => p.id === host.identity.id)?.state).toBe('connected');
  // The saved state holds everything, and loads.
  ge.close();
  he.close();
  editors = [];
  await host.stop();
  const again = await startDaemon(root, 'host');
  daemons = [again, guest];
  expect(again.workspace.text(again.workspace.index.idOf('a.txt')!)).toBe('9876543210start\n');
}, 120_000);
