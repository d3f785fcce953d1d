// Memory follows the working set: documents no editor holds open are saved and dropped from
// memory when idle, and come back intact on the next use (here or from a peer).
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

let daemon: Daemon | undefined;
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon?.stop();
});

it('unloads idle documents nobody has open, keeps open ones, and reloads them intact', async () => {
  const dir = tempProject({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
  daemon = await startDaemon(dir);
  const e = await ScriptedEditor.socket(daemon.project.socketPath);
  editors.push(e);
  await e.init();
  await e.open('a.txt');
  await e.open('b.txt');
  await e.edit('a.txt', 0, 0, 'A: ');
  await e.edit('b.txt', 0, 0, 'B: ');
  const ws = daemon.workspace;
  expect(ws.loaded).toBe(2);
  expect(ws.unloadIdle(0)).toBe(0); // both are open in an editor
  await e.conn.sendRequest('buffer/close', { path: 'b.txt' });
  expect(ws.unloadIdle(0)).toBe(1);
  expect(ws.loaded).toBe(1);
  // Reopening loads it back with every edit; editing it still works and reaches the file.
  expect(await e.open('b.txt')).toBe('B: beta\n');
  await e.edit('b.txt', 3, 3, 'still ');
  await waitForFile(path.join(dir, 'b.txt'), (t) => t === 'B: still beta\n', 'the edit after reloading');
  e.close();
  await new Promise((r) => setTimeout(r, 100));
  expect(ws.unloadIdle(0)).toBe(2); // the editor went away: nothing is pinned
});

it("answers an unloaded document's text without loading it, until the document is loaded again", async () => {
  // A write to the folder scheduled before its document was unloaded needs only the text: loading
  // each of ~240 documents again for it held a member receiving a tree-wide rewrite for seconds
  // (decision 246).
  const dir = tempProject({ 'a.txt': 'alpha\n' });
  daemon = await startDaemon(dir);
  const e = await ScriptedEditor.socket(daemon.project.socketPath);
  editors.push(e);
  await e.init();
  await e.open('a.txt');
  await e.edit('a.txt', 0, 0, 'A: ');
  await e.conn.sendRequest('buffer/close', { path: 'a.txt' });
  const ws = daemon.workspace;
  const id = ws.index.idOf('a.txt')!;
  expect(ws.unloadIdle(0)).toBe(1);
  expect(ws.text(id)).toBe('A: alpha\n');
  expect(ws.isLoaded(id)).toBe(false);
  // Loaded and changed again, it answers from the document, and unloaded again, with the new text.
  expect(await e.open('a.txt')).toBe('A: alpha\n');
  expect(ws.isLoaded(id)).toBe(true);
  await e.edit('a.txt', 0, 3, '');
  expect(ws.text(id)).toBe('alpha\n');
  await e.conn.sendRequest('buffer/close', { path: 'a.txt' });
  expect(ws.unloadIdle(0)).toBe(1);
  expect(ws.text(id)).toBe('alpha\n');
  expect(ws.isLoaded(id)).toBe(false);
});
