// A top-level file whose name only starts with two dots (`..notes.txt`) was never shared and an
// editor could not open it ("outside the project folder"): the inside/outside test read any
// relative path starting with ".." as leading out (project.ts `leavesFolder`).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { tempDir, tempProject, waitForFile } from '../support/project-dir.js';
import { stopAll } from '../peers/peer-helpers.js';

let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterEach(async () => ([daemons, editors] = await stopAll(daemons, editors)));

it('files and folders whose names start with two dots are shared, opened and edited like any other', async () => {
  const a = tempProject({ '..notes.txt': 'notes\n', '..x/inner.txt': 'inner\n', 'ok.txt': 'ok\n' });
  const b = path.join(tempDir('chorus-dots-'), 'b');
  const sharer = await startDaemon(a, 'sharer');
  daemons.push(sharer);
  expect(sharer.workspace.index.entries().map(([, e]) => e.path).sort()).toEqual(['..notes.txt', '..x/inner.txt', 'ok.txt']);
  const code = await sharer.share({ host: '127.0.0.1', webrtc: false });
  fs.mkdirSync(b);
  const joiner = await startDaemon(b, 'joiner');
  daemons.push(joiner);
  await joiner.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  await waitForFile(path.join(b, '..notes.txt'), (t) => t === 'notes\n', '..notes.txt on the joiner');
  await waitForFile(path.join(b, '..x', 'inner.txt'), (t) => t === 'inner\n', '..x/inner.txt on the joiner');

  const editor = await ScriptedEditor.socket(sharer.project.socketPath);
  editors.push(editor);
  await editor.init();
  expect(await editor.open('..notes.txt')).toBe('notes\n');
  await editor.edit('..notes.txt', 0, 0, 'more ');
  await waitForFile(path.join(b, '..notes.txt'), (t) => t === 'more notes\n', 'the edit on the joiner');
  // A path that does lead out is still refused.
  await expect(editor.open('../outside.txt', 'x')).rejects.toThrow(/outside the project folder/);
  expect(fs.existsSync(path.join(path.dirname(a), 'outside.txt'))).toBe(false);
  // The folder itself is no file, and is not called outside (user trial).
  for (const name of ['.', './', a]) await expect(editor.open(name)).rejects.toThrow(/is the project folder itself, not a file in it/);
});
