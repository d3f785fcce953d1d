// The daemon restarts under a connected editor that kept typing while it was gone: on reconnect
// the editor re-opens its buffer with its current content and nothing it typed is lost; the
// extension data survives the restart too.
import { afterEach, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { joinAll, startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import fs from 'node:fs';
import path from 'node:path';

let daemon: Daemon | undefined;
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon?.stop();
});

it('an editor with unsent typing reconnects after a daemon restart and its typing is merged, not lost', async () => {
  const dir = tempProject({ 'f.txt': 'one\ntwo\n' });
  daemon = await startDaemon(dir);
  const a = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  const b = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'b' });
  editors.push(a, b);
  for (const e of [a, b]) {
    await e.init();
    await e.open('f.txt');
  }
  await a.edit('f.txt', 0, 0, 'sent ');
  await a.conn.sendRequest(P.DataSet.type, { namespace: 'plugin', key: 'k', value: [1, 2, 3] });
  await daemon.stop();
  a.close();
  b.close();
  // While the daemon is down, A's person keeps typing (the plugin keeps the buffer editable).
  const offline = 'sent one\ntwo\ntyped while away\n';
  daemon = await startDaemon(dir);
  // Meanwhile B (reconnected first) made its own change.
  const b2 = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'b' });
  editors.push(b2);
  await b2.init();
  expect(await b2.open('f.txt')).toBe('sent one\ntwo\n');
  await b2.edit('f.txt', 0, 0, 'B: ');
  const a2 = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  editors.push(a2);
  await a2.init();
  // Re-open with its current content and the text it last had in step: only A's own typing is
  // merged, so B's edit, which A never saw, stays.
  const merged = await a2.open('f.txt', offline, 'sent one\ntwo\n');
  expect(merged).toBe('B: sent one\ntwo\ntyped while away\n');
  await b2.waitFor(() => b2.text('f.txt') === merged, 'B to see the merged text');
  await waitForFile(path.join(dir, 'f.txt'), (t) => t === merged, 'the merged file');
  // Without a base, the editor's text wins where it differs (documented): B's edit goes.
  const a3 = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a3' });
  editors.push(a3);
  await a3.init();
  expect(await a3.open('f.txt', 'sent one\ntwo\ntyped while away\n')).toBe('sent one\ntwo\ntyped while away\n');
  expect(await a2.conn.sendRequest(P.DataGet.type, { namespace: 'plugin', key: 'k' })).toEqual({ value: [1, 2, 3] });
});

/**
 * An editor had f.txt ("one\ntwo\n") open; its daemon stopped, `meanwhile` ran on the folder, and
 * the daemon started again. Returns the folder and the editor, connected again and initialized.
 */
async function awayWhile(meanwhile: (dir: string) => void): Promise<{ dir: string; a2: ScriptedEditor }> {
  const dir = tempProject({ 'f.txt': 'one\ntwo\n' });
  daemon = await startDaemon(dir);
  const a = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  editors.push(a);
  await a.init();
  await a.open('f.txt');
  await daemon.stop();
  a.close();
  meanwhile(dir);
  daemon = await startDaemon(dir);
  const a2 = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  editors.push(a2);
  await a2.init();
  return { dir, a2 };
}

it('re-opening with a base a file that is gone meanwhile makes it with the editor\'s text, never an empty file', async () => {
  // Deleted while the editor was away; the editor kept typing in its buffer.
  const { dir, a2 } = await awayWhile((d) => fs.rmSync(path.join(d, 'f.txt')));
  const buffer = 'one\ntwo\nthree\n';
  expect(await a2.open('f.txt', buffer, 'one\ntwo\n')).toBe(buffer);
  await waitForFile(path.join(dir, 'f.txt'), (t) => t === buffer, 'f.txt with the buffer\'s text');
});

it('re-opening with a base a file renamed while the daemon was down follows it (the restart\'s scan saw the rename)', async () => {
  const { dir, a2 } = await awayWhile((d) => fs.renameSync(path.join(d, 'f.txt'), path.join(d, 'g.txt')));
  const buffer = 'one\ntwo\nthree\n';
  expect(await a2.open('f.txt', buffer, 'one\ntwo\n')).toBe(buffer);
  await a2.waitFor(() => a2.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === 'f.txt' && n.params.to === 'g.txt'), 'buffer/didRename f.txt → g.txt');
  await waitForFile(path.join(dir, 'g.txt'), (t) => t === buffer, 'g.txt with the buffer\'s text');
  expect(fs.existsSync(path.join(dir, 'f.txt'))).toBe(false);
});

it('an editor that missed a rename while away re-opens the old path and follows the file, which is not made again', async () => {
  const dirA = tempProject({ 'f.txt': 'one\ntwo\n' });
  const A = await startDaemon(dirA, 'alice');
  const B = await startDaemon(tempProject(), 'bob');
  try {
    await joinAll(A, [B], { webrtc: false });
    const a = await ScriptedEditor.socket(A.project.socketPath, { name: 'a' });
    editors.push(a);
    await a.init();
    expect(await a.open('f.txt')).toBe('one\ntwo\n');
    a.close(); // the editor's connection drops; its person keeps typing
    await waitForFile(path.join(B.project.root, 'f.txt'), (t) => t === 'one\ntwo\n', 'f.txt on B');
    fs.renameSync(path.join(B.project.root, 'f.txt'), path.join(B.project.root, 'g.txt'));
    await waitForFile(path.join(dirA, 'g.txt'), (t) => t === 'one\ntwo\n', 'the rename on A');
    const a2 = await ScriptedEditor.socket(A.project.socketPath, { name: 'a' });
    editors.push(a2);
    await a2.init();
    const buffer = 'one\ntwo\nthree\n';
    expect(await a2.open('f.txt', buffer, 'one\ntwo\n')).toBe(buffer);
    await a2.waitFor(() => a2.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === 'f.txt' && n.params.to === 'g.txt'), 'buffer/didRename f.txt → g.txt');
    // The typing is in the renamed file, everywhere; the old path stays gone.
    await waitForFile(path.join(B.project.root, 'g.txt'), (t) => t === buffer, 'g.txt on B with the typing');
    await waitForFile(path.join(dirA, 'g.txt'), (t) => t === buffer, 'g.txt on A with the typing');
    expect(A.workspace.index.idOf('f.txt')).toBeUndefined();
    expect(B.workspace.index.idOf('f.txt')).toBeUndefined();
    expect(fs.existsSync(path.join(dirA, 'f.txt'))).toBe(false);
    // Edits the editor sent to the old path before the notice reached it land in the file.
    await a2.edit('f.txt', buffer.length, buffer.length, 'four\n');
    await waitForFile(path.join(B.project.root, 'g.txt'), (t) => t === `${buffer}four\n`, 'an edit addressed to the old path');
    // Re-opened under its new name, the old name's late buffer/close leaves it open (VS Code
    // closes the old document after opening the new one).
    expect(await a2.open('g.txt')).toBe(`${buffer}four\n`);
    await a2.conn.sendRequest(P.BufferClose.type, { path: 'f.txt' }).catch(() => undefined);
    await a2.edit('g.txt', 0, 0, '0\n');
    await waitForFile(path.join(B.project.root, 'g.txt'), (t) => t === `0\n${buffer}four\n`, 'an edit after the old name was closed');
  } finally {
    await Promise.all([A.stop(), B.stop()]);
  }
});
