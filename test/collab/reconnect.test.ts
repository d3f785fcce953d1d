// The daemon restarts under a connected editor that kept typing while it was gone: on reconnect
// the editor re-opens its buffer with its current content and nothing it typed is lost; the
// extension data survives the restart too.
import { afterEach, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
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

it('re-opening with a base a file that is gone meanwhile makes it with the editor\'s text, never an empty file', async () => {
  const dir = tempProject({ 'f.txt': 'one\ntwo\n' });
  daemon = await startDaemon(dir);
  const a = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  editors.push(a);
  await a.init();
  await a.open('f.txt');
  await daemon.stop();
  a.close();
  // Renamed (or deleted) while the editor was away; the editor kept typing in its buffer.
  fs.renameSync(path.join(dir, 'f.txt'), path.join(dir, 'g.txt'));
  daemon = await startDaemon(dir);
  const a2 = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'a' });
  editors.push(a2);
  await a2.init();
  const buffer = 'one\ntwo\nthree\n';
  expect(await a2.open('f.txt', buffer, 'one\ntwo\n')).toBe(buffer);
  await waitForFile(path.join(dir, 'f.txt'), (t) => t === buffer, 'f.txt with the buffer\'s text');
  expect(fs.readFileSync(path.join(dir, 'g.txt'), 'utf8')).toBe('one\ntwo\n');
});
