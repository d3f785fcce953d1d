// Work while a daemon is down: edits, creates, deletes and renames made in its folder are taken in
// when it starts again and merge with what the other peer did meanwhile; and view mode, where a
// guest has the project in its editors only and nothing is written to its folder.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, folderFiles, sharedPair, startPeer, stopAllPeers, stopPeer, until } from '../support/disk-peers.js';
import { waitForFile } from '../support/project-dir.js';

afterEach(stopAllPeers);

const LINES = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n';

it('offline work on both sides of a stopped daemon merges when it comes back', async () => {
  const { a, b } = await sharedPair({ 'both.txt': LINES, 'del-on-b.txt': 'x\n', 'ren-on-b.txt': 'renamed while down\n', 'keep.txt': 'k\n' });
  await converged(a, b, 'the first sync');
  const renamedId = b.daemon.workspace.index.idOf('ren-on-b.txt');
  await stopPeer(b);

  // B's folder, while its daemon is down
  const fb = path.join(b.dir, 'both.txt');
  fs.writeFileSync(fb, fs.readFileSync(fb, 'utf8').replace('line 3\n', 'line 3 edited on B offline\n'));
  fs.rmSync(path.join(b.dir, 'del-on-b.txt'));
  fs.renameSync(path.join(b.dir, 'ren-on-b.txt'), path.join(b.dir, 'renamed.txt'));
  fs.writeFileSync(path.join(b.dir, 'new-on-b.txt'), 'made offline on B\n');
  // A, meanwhile: an editor and a tool
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('both.txt');
  const at = ea.text('both.txt').indexOf('line 30\n');
  await ea.edit('both.txt', at, at + 'line 30'.length, 'line 30 typed on A');
  fs.writeFileSync(path.join(a.dir, 'new-on-a.txt'), 'made on A\n');

  const b2 = await startPeer(b.dir, 'bob'); // rejoins the session by itself
  const want = LINES.replace('line 3\n', 'line 3 edited on B offline\n').replace('line 30\n', 'line 30 typed on A\n');
  await waitForFile(path.join(a.dir, 'both.txt'), (t) => t === want, 'A to have both offline edits');
  await until(() => fs.existsSync(path.join(a.dir, 'renamed.txt')) && fs.existsSync(path.join(a.dir, 'new-on-b.txt')) && !fs.existsSync(path.join(a.dir, 'del-on-b.txt')), "B's offline file operations on A");
  const files = await converged(a, b2, 'both folders to merge');
  expect(Object.keys(files).sort()).toEqual(['both.txt', 'keep.txt', 'new-on-a.txt', 'new-on-b.txt', 'renamed.txt']);
  expect(files['both.txt']).toBe(want);
  expect(b2.daemon.workspace.index.idOf('renamed.txt')).toBe(renamedId); // a rename while down is still a rename
  await ea.waitFor(() => ea.text('both.txt') === want, "A's editor to have B's offline edit");
});

it('view mode: nothing is written to the guest folder; files come over the protocol and when opened', async () => {
  const { a, b } = await sharedPair({ 'src/main.ts': 'console.log("hi");\n', 'README.md': '# project\n' }, { disk: false });
  const session = JSON.parse(fs.readFileSync(path.join(b.dir, '.chorus', 'session.json'), 'utf8'));
  expect(session.disk).toBe(false);
  expect(b.daemon.folder.watching).toBe(false);
  const eb = await editor(b.daemon.project.socketPath);
  const list = await eb.conn.sendRequest(P.WorkspaceFiles.type, undefined);
  expect(list.files.map((f) => f.path)).toEqual(['README.md', 'src/main.ts']);
  // Content is fetched when a file is opened, not before.
  const readme = b.daemon.workspace.index.entry(b.daemon.workspace.index.idOf('README.md')!)!;
  expect(b.daemon.workspace.blobs.has(readme.hash)).toBe(false);
  expect(await eb.open('src/main.ts')).toBe('console.log("hi");\n');

  // typing on both sides reaches both editors; a file created on A is announced to B
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('src/main.ts');
  await ea.edit('src/main.ts', 0, 0, '// from A\n');
  await eb.waitFor(() => eb.text('src/main.ts') === '// from A\nconsole.log("hi");\n', "A's edit in B's editor");
  await eb.edit('src/main.ts', eb.text('src/main.ts').length, eb.text('src/main.ts').length, '// from B\n');
  await waitForFile(path.join(a.dir, 'src', 'main.ts'), (t) => t === '// from A\nconsole.log("hi");\n// from B\n', "B's edit in A's file");
  fs.writeFileSync(path.join(a.dir, 'added.txt'), 'added on A\n');
  await eb.waitFor(() => eb.notes.some((n) => n.method === P.WorkspaceDidChange.method && n.params.created.includes('added.txt')), 'workspace/didChange on B');
  expect(await eb.open('added.txt')).toBe('added on A\n');

  // a file put into the guest folder is not taken in (no watcher, no scan)
  fs.writeFileSync(path.join(b.dir, 'local-only.txt'), 'mine\n');
  await new Promise((r) => setTimeout(r, 500));
  expect(a.daemon.workspace.index.idOf('local-only.txt')).toBeUndefined();
  // the guest folder holds nothing of the project: only .chorus/ and the file put there
  expect(Object.keys(folderFiles(b.dir))).toEqual(['local-only.txt']);

  // after a restart it is still a view: no scan, no watcher, nothing written
  await stopPeer(b);
  const b2 = await startPeer(b.dir, 'bob');
  expect(b2.daemon.folder.watching).toBe(false);
  const eb2 = await editor(b2.daemon.project.socketPath);
  await until(() => b2.daemon.workspace.index.idOf('added.txt') !== undefined, 'the index after restart');
  expect(await eb2.open('README.md')).toBe('# project\n');
  expect(b2.daemon.workspace.blobs.has(readme.hash)).toBe(true);
  expect(Object.keys(folderFiles(b.dir))).toEqual(['local-only.txt']);
});
