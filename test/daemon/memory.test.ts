// Memory holds the working set, not the project (issue 13): untouched files' content stays on
// disk (the blob store), and the file index costs a few operations per file, not one per character.
import * as A from '@automerge/automerge/next';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { FileIndex } from '../../daemon/src/workspace/file-index.js';
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

const HASH = 'a'.repeat(64);

// Pins: the write-back kept the text of every file it took in (20 MB of strings for the
// benchmark's project); now only files whose documents are loaded keep theirs in memory.
it('keeps no text of untouched files in memory, finds their base again from disk, and keeps it for a file being edited', async () => {
  const dir = tempProject({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n', 'sub/c.txt': 'gamma\n' });
  daemon = await startDaemon(dir);
  const wb = daemon.writeBack;
  expect(daemon.workspace.loaded).toBe(0);
  expect(wb.basesKept).toBe(0);
  // The base an outside edit is diffed from is still known: the blob with the ledger's hash.
  expect(wb.baseText('b.txt')).toBe('beta\n');

  const e = await ScriptedEditor.socket(daemon.project.socketPath);
  editors.push(e);
  await e.init();
  await e.open('a.txt');
  await e.edit('a.txt', 0, 0, 'A: ');
  await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'A: alpha\n', 'the edit written back');
  await wb.idle();
  expect(wb.basesKept).toBe(1); // a.txt only: its document is loaded
  expect(wb.baseText('a.txt')).toBe('A: alpha\n');
  expect(wb.baseText('sub/c.txt')).toBe('gamma\n');

  // An outside edit of the untouched file is still taken in (from its base on disk).
  fs.writeFileSync(path.join(dir, 'sub/c.txt'), 'gamma and delta\n');
  await daemon.folder.take('sub/c.txt');
  const id = daemon.workspace.index.idOf('sub/c.txt')!;
  expect(Buffer.from(daemon.workspace.content(id)!).toString()).toBe('gamma and delta\n');
});

// Pins: paths and hashes were collaborative text (one Automerge operation per character, ~40-60
// MB of WebAssembly memory for 1,000 files); they are scalar strings now, and old indexes still read.
it('stores index paths and hashes as scalar strings, and reads indexes that hold them as text', () => {
  const idx = new FileIndex(undefined, [], 'ab'.repeat(16));
  idx.add('f' + '1'.repeat(24), { path: 'src/a.ts', hash: HASH, size: 3 });
  idx.addDir('src');
  const raw = A.load<any>(idx.save());
  expect(raw.files['f' + '1'.repeat(24)].path).toBeInstanceOf(A.RawString);
  expect(raw.files['f' + '1'.repeat(24)].hash).toBeInstanceOf(A.RawString);
  expect(Object.values<any>(raw.dirs)[0].path).toBeInstanceOf(A.RawString);
  A.free(raw);
  expect(idx.entry('f' + '1'.repeat(24))).toEqual({ path: 'src/a.ts', hash: HASH, size: 3 });

  // An index written before: strings as text objects (the `next` API's default).
  const oldId = 'f' + '2'.repeat(24);
  const old = A.change(A.init<any>(), (d) => {
    d.files = { [oldId]: { path: 'old/b.ts', hash: HASH, size: 5 } };
    d.dirs = { d1: { path: 'old' } };
  });
  expect(typeof old.files[oldId].path).toBe('string');
  const read = new FileIndex(A.save(old), [], 'cd'.repeat(16));
  expect(read.idOf('old/b.ts')).toBe(oldId);
  expect(read.entries()).toEqual([[oldId, { path: 'old/b.ts', hash: HASH, size: 5 }]]);
  expect(read.dirs()).toEqual(['old']);
  expect(read.refused()).toEqual([]);
  // A rename of an old entry writes a scalar, and reads back as a plain string.
  read.set(oldId, { path: 'old/c.ts' });
  expect(read.idOf('old/c.ts')).toBe(oldId);
  expect(read.entry(oldId)?.path).toBe('old/c.ts');
});
