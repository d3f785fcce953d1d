// Two people rename two shared files to one new name at the same moment (trial s50, fault 4, 2
// of 2): the later folder's watcher had not taken its own rename in when the peer's arrived, so
// its file at the new name was kept aside as someone's unshared file, its old name was taken in
// as a deletion ("a peer deleted t1.txt" on every peer), and the file's text left the session.
// Both files must stay in the session, on both folders, and the person be told.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it('two renames to one new name at once: both files stay shared on both folders, and the later folder is told', async () => {
  const { a, b } = await sharedPair({ 't1.txt': 'typed into t1\n', 'readme.md': 'the readme\n' });
  await converged(a, b, 'the first sync');
  // B renames first and takes it in; A renames a moment later, before its watcher reads the
  // folder, and then B's rename reaches it.
  b.net.hold(a.daemon.identity.id);
  fs.renameSync(path.join(b.dir, 'readme.md'), path.join(b.dir, 'x.txt'));
  await until(() => b.daemon.workspace.index.idOf('x.txt') !== undefined, 'B to take its rename in');
  fs.renameSync(path.join(a.dir, 't1.txt'), path.join(a.dir, 'x.txt'));
  b.net.release(a.daemon.identity.id);
  await until(() => a.daemon.workspace.index.idOf('readme.md') === undefined, 'A to have the rename');
  await converged(a, b, 'both folders to settle');
  for (const peer of [a, b]) {
    const files = folderFiles(peer.dir);
    // Both texts are files of the session, wherever the clash put them (the old name back, or a
    // conflict copy if A's watcher was first), and nothing is in .chorus/kept or deleted.
    expect(Object.values(files).sort(), JSON.stringify(files)).toEqual(['the readme\n', 'typed into t1\n']);
    expect(fs.existsSync(path.join(peer.dir, '.chorus', 'deleted')), 'a deletion was taken in').toBe(false);
    expect(fs.existsSync(path.join(peer.dir, '.chorus', 'kept')), 'a copy was kept aside').toBe(false);
  }
  expect(folderFiles(a.dir)).toEqual(folderFiles(b.dir));
  const told = a.lines.filter((l) => l.includes('x.txt') && (l.includes('at the same moment') || l.includes('(conflict ')));
  expect(told, a.lines.join('\n')).not.toHaveLength(0);
});

// Both renames taken in before either reaches the other: the file lists clash and one file moves
// to a conflict copy. Every member was told "created on two peers at once" (its "other version"
// the person's own file) or, where both files were first made on that machine, "made twice on
// this machine … an editor opened it" (re-check s50b, 2 of 3): no word of either rename.
it('two renames to one new name, both taken in before they meet: both kept, and each folder is told which file was renamed from where', async () => {
  const { a, b } = await sharedPair({ 't1.txt': 'typed into t1\n', 'readme.md': 'the readme\n' });
  await converged(a, b, 'the first sync');
  a.net.hold(b.daemon.identity.id);
  b.net.hold(a.daemon.identity.id);
  fs.renameSync(path.join(b.dir, 'readme.md'), path.join(b.dir, 'x.txt'));
  fs.renameSync(path.join(a.dir, 't1.txt'), path.join(a.dir, 'x.txt'));
  await until(() => b.daemon.workspace.index.idOf('x.txt') !== undefined && b.daemon.workspace.index.idOf('readme.md') === undefined, 'B to take its rename in');
  await until(() => a.daemon.workspace.index.idOf('x.txt') !== undefined && a.daemon.workspace.index.idOf('t1.txt') === undefined, 'A to take its rename in');
  a.net.release(b.daemon.identity.id);
  b.net.release(a.daemon.identity.id);
  await until(() => [a, b].every((p) => Object.keys(folderFiles(p.dir)).some((f) => f.includes('(conflict '))), 'a conflict copy in both folders');
  await converged(a, b, 'both folders to settle');
  for (const peer of [a, b]) {
    const files = folderFiles(peer.dir);
    expect(Object.values(files).sort(), JSON.stringify(files)).toEqual(['the readme\n', 'typed into t1\n']);
    const said = peer.lines.filter((l) => l.includes('x.txt') && l.includes('(conflict '));
    expect(said.some((l) => /x\.txt was given to two files at once, on two peers: the one renamed from (t1\.txt|readme\.md) keeps it, the one renamed from (readme\.md|t1\.txt) is kept as x \(conflict [0-9a-f]{6}\)\.txt/.test(l)), said.join('\n')).toBe(true);
    expect(said.filter((l) => l.includes('made twice on this machine') || l.includes('created on two peers')), said.join('\n')).toEqual([]);
  }
  expect(folderFiles(a.dir)).toEqual(folderFiles(b.dir));
});
