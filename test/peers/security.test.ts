// What a peer must not be able to do: get in without the secret, crash a daemon with garbage,
// make it write outside the project, or (as a read-only guest) change anything.
import fs from 'node:fs';
import path from 'node:path';
import * as A from '@automerge/automerge/next';
import { afterEach, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { writerKeys } from '../../daemon/src/net/credentials.js';
import { decodeJoinCode, encodeJoinCode } from '../../daemon/src/net/join-code.js';
import { encodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import { joinAll, logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { converged, editorsOn, stopAll } from './peer-helpers.js';

const F = 'notes.md';
let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterEach(async () => ([daemons, editors] = await stopAll(daemons, editors)));

const until = async (pred: () => boolean, what: string) => {
  const end = Date.now() + 20000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('a wrong secret gets a clear refusal, not one byte of the project, and leaves the folder out of the session', async () => {
  const host = await startDaemon(tempProject({ [F]: 'secret plans\n' }), 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  const code = decodeJoinCode(await host.share({ host: '127.0.0.1', webrtc: false }));
  const forged = encodeJoinCode({ ...code, keys: writerKeys(new Uint8Array(32).fill(7)) });
  const err = await guest.join(forged, { disk: true, host: '127.0.0.1' }, () => undefined).then(() => undefined, (e: Error) => e);
  expect(err?.message).toMatch(/refused to let this folder in: .*secret/);
  expect(fs.existsSync(path.join(guest.project.root, F))).toBe(false);
  expect(guest.workspace.index.entries()).toEqual([]);
  expect(guest.session.session).toBeUndefined();
  expect(fs.existsSync(path.join(guest.project.dotDir, 'session.json'))).toBe(false);
  expect(logsOf(host).some((l) => /secret does not match/.test(l))).toBe(true);
});

it('a damaged join code is explained', async () => {
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [guest];
  await expect(guest.join('chorus2.@@@', { disk: true }, () => undefined)).rejects.toThrow(/copy the whole code again/);
  await expect(guest.join('chorus1.e30', { disk: true }, () => undefined)).rejects.toThrow(/older Chorus.*new code/);
  await expect(guest.join('hello', { disk: true }, () => undefined)).rejects.toThrow(/not a Chorus join code/);
});

it('garbage and truncated peer messages are refused and logged; the session goes on', async () => {
  daemons = [await startDaemon(tempProject({ [F]: 'x\n' }), 'a'), await startDaemon(tempProject(), 'b')];
  await joinAll(daemons[0]!, [daemons[1]!], { webrtc: false });
  editors = await editorsOn(daemons, F);
  const net = daemons[0]!.session.network!;
  const b = daemons[1]!.identity.id;
  const good = encodePeerMessage({ kind: 'changes', doc: 'index', changes: [new Uint8Array([1, 2, 3])] });
  net.send(b, new Uint8Array([250, 1, 2]));
  net.send(b, good.subarray(0, good.length - 2));
  net.send(b, good); // well-formed, but not an Automerge change
  net.send(b, encodePeerMessage({ kind: 'sync', doc: 'f000000000000000000000000', data: new Uint8Array([9, 9, 9]) }));
  await until(() => logsOf(daemons[1]!).filter((l) => l.startsWith('refused')).length >= 4, 'four refusals in the log');
  await editors[0]!.edit(F, 0, 0, 'still works ');
  expect(await converged(daemons, editors, F)).toBe('still works x\n');
});

it('a path from a peer that leaves the project is refused; nothing is written outside', async () => {
  daemons = [await startDaemon(tempProject({ [F]: 'x\n' }), 'a'), await startDaemon(tempProject(), 'b')];
  await joinAll(daemons[0]!, [daemons[1]!], { webrtc: false });
  const outside = path.join(path.dirname(daemons[1]!.project.root), `escaped-${process.pid}.txt`);
  // A hostile peer edits the shared index directly, with paths no honest daemon would write.
  const hostile = ['../' + path.basename(outside), '/etc/chorus-owned', '.chorus/identity.json', '.git/hooks/pre-commit', 'a/../../b'];
  let index = A.load<{ files: Record<string, unknown> }>(daemons[0]!.workspace.index.save());
  index = A.change(index, (d) => {
    hostile.forEach((p, i) => (d.files[`f${'e'.repeat(23)}${i}`] = { path: p, hash: 'a'.repeat(64), size: 1 }));
  });
  const change = A.getLastLocalChange(index)!;
  daemons[0]!.session.network!.send(daemons[1]!.identity.id, encodePeerMessage({ kind: 'changes', doc: 'index', changes: [change] }));
  // One bad field refuses the whole change (issue 10, item 4): nothing of it is applied.
  await until(() => logsOf(daemons[1]!).some((l) => /refused an index change: files\[.*\]\.path: not a project path/.test(l)), 'the refusal of the change');
  expect(fs.existsSync(outside)).toBe(false);
  expect(fs.existsSync('/etc/chorus-owned')).toBe(false);
  const e = await ScriptedEditor.socket(daemons[1]!.project.socketPath);
  editors = [e];
  await e.init();
  const files = (await e.conn.sendRequest(P.WorkspaceFiles.type, undefined)).files.map((f) => f.path);
  expect(files).toEqual([F]);
});

it('a read-only guest can read, cannot edit, and its changes would be refused', async () => {
  const host = await startDaemon(tempProject({ [F]: 'read me\n' }), 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  await guest.join(await host.share({ host: '127.0.0.1', readOnly: true, webrtc: false }), { disk: true, host: '127.0.0.1' }, () => undefined);
  editors = await editorsOn(daemons, F);
  await expect(editors[1]!.edit(F, 0, 0, 'vandal ')).rejects.toMatchObject({ code: P.ErrorCodes.ReadOnly });
  // As after any failed edit, the editor re-opens the buffer to drop its local change.
  expect(await editors[1]!.open(F)).toBe('read me\n');
  await editors[0]!.edit(F, 0, 0, 'host: ');
  await editors[1]!.waitFor(() => editors[1]!.text(F).startsWith('host: read me'), 'the host edit on the guest');
  expect(host.workspace.text(host.workspace.index.idOf(F)!)).toBe('host: read me\n');
  // The guest's own daemon refuses local changes (it holds no writer secret)...
  const ws = guest.workspace;
  const id = ws.index.idOf(F)!;
  expect(() => ws.edit(id, ['forged '], { kind: 'disk' })).toThrow(/read-only/);
  // ...and were it to send changes anyway, the host refuses them: the link proved read-only.
  const doc = A.change(A.init<{ text: string }>(), (d) => (d.text = 'forged'));
  guest.session.network!.send(host.identity.id, encodePeerMessage({ kind: 'changes', doc: id, changes: [A.getLastLocalChange(doc)!] }));
  await until(() => logsOf(host).some((l) => /read-only guest sent changes/.test(l)), 'the host to refuse the guest change');
  expect(host.workspace.text(host.workspace.index.idOf(F)!)).toBe('host: read me\n');
});
