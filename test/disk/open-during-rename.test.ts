// An editor opens a file's new name while the daemon takes in the rename that made it (VS Code
// does so when its explorer renames a file: it opens the new name's document, then closes the old
// one). The old name then redirected to the new buffer, and the editor's close of its old document
// closed the buffer it had just opened: its edits were refused from then on (a trial: keys lost).
import fs from 'node:fs';
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
  daemon = undefined;
});

it("an editor's close of a file's old name, after it opened the new name during the rename's take-in, leaves the new buffer open", async () => {
  for (let round = 0; round < 5; round++) {
    const dir = tempProject({ 's2.txt': 'hello\n' });
    daemon = await startDaemon(dir);
    const e = await ScriptedEditor.socket(daemon.project.socketPath, { name: 'vscode' });
    editors.push(e);
    await e.init();
    await e.open('s2.txt');
    fs.renameSync(path.join(dir, 's2.txt'), path.join(dir, 's3.txt'));
    // The open of the new name takes the folder's file in first, and with it the rename.
    expect(await e.open('s3.txt')).toBe('hello\n');
    await e.raw('buffer/close', { path: 's2.txt' }).catch(() => undefined);
    await e.edit('s3.txt', 0, 0, `round ${round} `);
    await waitForFile(path.join(dir, 's3.txt'), (t) => t === `round ${round} hello\n`, 'the typing in s3.txt');
    expect(fs.existsSync(path.join(dir, 's2.txt'))).toBe(false);
    e.close();
    editors.pop();
    await daemon.stop();
    daemon = undefined;
  }
});
