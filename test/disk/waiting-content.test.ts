// Decision 110, end to end: two real daemons on loopback, with B holding back the blobs (whole-file
// contents) it is sent, so B's files wait for their content while the shared state moves on. One
// module (PendingContent) decides for both routes that write such files: B's restart scan (files
// of the index its folder lacks) and B's Materializer (files a peer created). Pins that a waiting
// file renamed, deleted or opened live before its blob arrives ends up right, and that one blob
// awaited by both routes writes both files, across a restart with files waiting.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, folderFiles, sharedPair, startPeer, stopAllPeers, stopPeer, until } from '../support/disk-peers.js';
import { HeldNetwork } from '../support/held-network.js';
import { waitForFile } from '../support/project-dir.js';

afterEach(stopAllPeers);

it('files waiting for their content across a restart: renamed, deleted, opened live and awaited twice before it arrives', async () => {
  const { a, b } = await sharedPair({ 'keep.txt': 'kept\n' });
  await converged(a, b, 'the first sync');
  const waiting = {
    'renamed.txt': 'to be renamed while B waits\n',
    'deleted.txt': 'to be deleted while B waits\n',
    'opened.txt': 'to be opened on A while B waits\n',
    'twice.txt': 'awaited by the restart scan and by a peer change\n',
  };
  // Four files made on A: their entries reach B, their content does not.
  b.net.holdBlobs();
  for (const [rel, text] of Object.entries(waiting)) fs.writeFileSync(path.join(a.dir, rel), text);
  await until(() => Object.keys(waiting).every((rel) => b.daemon.workspace.index.idOf(rel)), 'the four entries on B');
  for (const rel of Object.keys(waiting)) expect(fs.existsSync(path.join(b.dir, rel))).toBe(false);
  await stopPeer(b);

  // While B is down: one is renamed, one deleted, one opened and typed into on A.
  fs.mkdirSync(path.join(a.dir, 'sub'));
  fs.renameSync(path.join(a.dir, 'renamed.txt'), path.join(a.dir, 'sub', 'renamed.txt'));
  fs.rmSync(path.join(a.dir, 'deleted.txt'));
  await until(() => !!a.daemon.workspace.index.idOf('sub/renamed.txt') && !a.daemon.workspace.index.idOf('deleted.txt'), "A's rename and delete taken in");
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('opened.txt');
  const end = ea.text('opened.txt').length;
  await ea.edit('opened.txt', end, end, 'typed on A\n');

  // B restarts still without any blob: its scan finds four files of its index missing from its
  // folder, and they wait; then the session brings the rename, the delete and the live text.
  const b2 = await startPeer(b.dir, 'bob', new HeldNetwork({ holdBlobs: true }));
  // A file made on A with the same content as a waiting one: B's Materializer waits for that blob too.
  fs.writeFileSync(path.join(a.dir, 'twice-copy.txt'), waiting['twice.txt']);
  const idx = () => b2.daemon.workspace.index;
  await until(() => !!idx().idOf('sub/renamed.txt') && !idx().idOf('deleted.txt') && !!idx().idOf('twice-copy.txt'), "A's changes in B's index");
  // The live text needs no blob: B's write-back writes it.
  await waitForFile(path.join(b.dir, 'opened.txt'), (t) => t === waiting['opened.txt'] + 'typed on A\n', "the live text in B's folder");
  const pending = b2.daemon.writeBack.pendingContent;
  // Waiting still: the renamed file (by its new path) and the two files of one blob; not the
  // deleted one, not the live one.
  await until(() => pending.waiting() === 3, 'three files waiting on B');
  expect(Object.keys(folderFiles(b.dir)).sort()).toEqual(['keep.txt', 'opened.txt']);

  b2.net.releaseBlobs();
  await until(() => Object.keys(folderFiles(b.dir)).length === 5, "the waiting files in B's folder");
  const files = await converged(a, b2, 'both folders after the blobs arrived');
  expect(files).toEqual({
    'keep.txt': 'kept\n',
    'opened.txt': waiting['opened.txt'] + 'typed on A\n',
    'sub/renamed.txt': waiting['renamed.txt'],
    'twice.txt': waiting['twice.txt'],
    'twice-copy.txt': waiting['twice.txt'],
  });
  expect(pending.waiting()).toBe(0);
  expect(b2.lines.filter((l) => /could not write|failed|left .* as the folder has it/.test(l))).toEqual([]);
});

it("a peer's new file waiting for its blob, made in this folder meanwhile, keeps this folder's version", async () => {
  // Made in the folder meanwhile, with a real watcher: the person's file is never overwritten by
  // the peer's content arriving late; the watcher takes it in as a file made on both sides at
  // once, which keeps both (one under a conflict name), and the waiting file follows its entry to
  // wherever that settles.
  const { a, b } = await sharedPair({ 'keep.txt': 'kept\n' });
  await converged(a, b, 'the first sync');
  b.net.holdBlobs();
  fs.writeFileSync(path.join(a.dir, 'both.txt'), 'made on A\n');
  await until(() => !!b.daemon.workspace.index.idOf('both.txt'), "A's entry on B");
  await until(() => b.daemon.writeBack.pendingContent.waiting() === 1, 'both.txt waiting on B');
  fs.writeFileSync(path.join(b.dir, 'both.txt'), 'made on B\n');
  await until(() => Object.values(folderFiles(b.dir)).includes('made on B\n') && b.lines.some((l) => /took in from the folder/.test(l) && /both\.txt|created here and by a peer/.test(l)), "B's file taken in");
  b.net.releaseBlobs();
  const files = await converged(a, b, 'both folders after the blob arrived');
  expect(Object.values(files).sort()).toEqual(['kept\n', 'made on A\n', 'made on B\n']);
  expect(Object.keys(files).sort()).toEqual([expect.stringMatching(/^both \(conflict [0-9a-f]+\)\.txt$/), 'both.txt', 'keep.txt']);
});
