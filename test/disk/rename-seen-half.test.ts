// A file renamed within its folder, when the take-in sees the old name gone before the watcher has
// reported the new one. chokidar reports a new name from its read of the folder, made at most once
// a second, so under load the new name came a batch after the old one went: the old name was
// taken in as a deletion and the new one, a moment later, as a new file. The file lost its
// history, and an editor with it open was never told of the rename (a full run's
// collab/cursor-on-close waited 30 s for that buffer/didRename). Here the take-in of the old name
// alone (`FolderSync.take`, as a batch holding only its event) stands for that batch.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import { converged, editor, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it('a rename in one folder whose new name the watcher has not reported yet is a rename: same file, the editor told, no deletion', async () => {
  const { a, b } = await sharedPair({ 'g.txt': 'g\n', 'sub/x.txt': 'x\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('g.txt');
  await ea.open('sub/x.txt');
  const ids = { g: a.daemon.workspace.index.idOf('g.txt'), x: a.daemon.workspace.index.idOf('sub/x.txt') };
  fs.renameSync(path.join(a.dir, 'g.txt'), path.join(a.dir, 'h.txt'));
  fs.renameSync(path.join(a.dir, 'sub', 'x.txt'), path.join(a.dir, 'sub', 'y.txt'));
  // Before the watcher's batch (it waits for 120 ms of quiet): only the old names are looked at.
  await Promise.all([a.daemon.folder.take('g.txt'), a.daemon.folder.take('sub/x.txt')]);
  expect(a.daemon.workspace.index.idOf('h.txt')).toBe(ids.g);
  expect(a.daemon.workspace.index.idOf('sub/y.txt')).toBe(ids.x);
  await ea.waitFor(() => ea.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === 'g.txt' && n.params.to === 'h.txt'), 'the rename of g.txt told to the editor');
  await ea.waitFor(() => ea.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === 'sub/x.txt' && n.params.to === 'sub/y.txt'), 'the rename of sub/x.txt told to the editor');
  await until(() => folderFiles(b.dir)['h.txt'] === 'g\n' && folderFiles(b.dir)['g.txt'] === undefined && folderFiles(b.dir)['sub/y.txt'] === 'x\n', "B's folder to have the new names only");
  expect(a.lines.filter((l) => /deleted|conflict/.test(l))).toEqual([]);
});
