// The mirror of folder-yielded-by-peer (decision 147): a joining folder has a FILE `emptydir` where
// the session has an empty FOLDER. `resolve` lets the empty folder yield to the file; the join
// then brings the session's folder back and keeps the joining folder's file beside it. When the
// sharer settled the clash before the joiner had the session's index, the joiner never saw the
// folder: the join told nothing and the session's folder was gone for good (`cli/join-faults`
// failed so twice in ~40 runs under load; decision 221).
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';

it.each([
  ['the joiner settles the clash', false],
  ['the sharer settled it first', true],
])("a joining folder's file where the session has an empty folder is kept beside it, whichever peer settles first (%s)", (_, sharerFirst) => {
  const a = peer('cd');
  a.ws.addFile('a.txt', bytes('a\n'), DISK);
  a.ws.addDir('emptydir', DISK);
  a.ws.addDir('emptydir/inner', DISK);
  const c = peer('ab');
  const mine = c.ws.addFile('emptydir', bytes('my file\n'), DISK);
  if (sharerFirst) {
    deliver(a.ws, c.out, 'c');
    expect(a.ws.index.isFolder('emptydir')).toBe(false); // the empty folder yielded on the sharer
  }
  deliver(c.ws, a.out, 'a');
  if (sharerFirst) expect(c.ws.index.isFolder('emptydir')).toBe(false); // never seen here
  const met = c.ws.keepSessionFilesOverFolders(new Set([mine]), new Set(), { isFolder: () => false, move: () => true });
  expect(met.map((m) => [m.path, m.folder])).toEqual([['emptydir', false]]);
  const kept = c.ws.pathOf(mine)!;
  expect(kept).toMatch(/^emptydir \(conflict [0-9a-f]+\)$/);
  expect(met[0]!.kept).toBe(kept);
  expect(c.ws.index.isFolder('emptydir')).toBe(true);
  // Every peer ends with the session's folders back and the joiner's file beside them.
  deliver(a.ws, c.out, 'c');
  for (const p of [a, c]) {
    expect(p.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(['a.txt', kept].sort());
    expect(p.ws.index.dirs()).toEqual(['emptydir', 'emptydir/inner']);
    p.ws.close();
  }
});

it('a folder someone removed before the join is not brought back: only a removal that follows the joining folder\'s own file counts', () => {
  const a = peer('cd');
  a.ws.addFile('a.txt', bytes('a\n'), DISK);
  a.ws.addDir('gone', DISK);
  a.ws.removeDir('gone', DISK); // removed by a person, before anyone joined
  const c = peer('ab');
  const mine = c.ws.addFile('gone', bytes('my file\n'), DISK);
  deliver(a.ws, c.out, 'c');
  deliver(c.ws, a.out, 'a');
  const met = c.ws.keepSessionFilesOverFolders(new Set([mine]), new Set(), { isFolder: () => false, move: () => true });
  expect(met).toEqual([]);
  expect(c.ws.pathOf(mine)).toBe('gone');
  expect(c.ws.index.isFolder('gone')).toBe(false);
  for (const p of [a, c]) p.ws.close();
});
