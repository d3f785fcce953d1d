// A join into a folder whose folder `x` holds only unshared files (a `.env`) where the session has
// a file `x` (decision 147): the empty shared folder yields to the file (`resolve`), and the join
// sets the joining folder's folder aside, whole, so the session's file can be written there. Which
// peer settles the clash first is a race: when the sharer saw the joiner's folder before the
// joiner had the session's index, the folder is gone from the index the joiner receives, and the
// joiner never saw it yield. Seen once under load (test/cli/join-faults, three test workers): the
// join told nothing, and the joiner's folder kept the path the session's file needs.
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';

it.each([
  ['the joiner settles the clash', false],
  ['the sharer settled it first', true],
])("a joining folder's folder of unshared files where the session has a file is set aside, whichever peer settles first (%s)", (_, sharerFirst) => {
  const a = peer('cd');
  a.ws.addFile('x', bytes('the session file\n'), DISK);
  const c = peer('ab');
  const own = c.ws.addFile('own.txt', bytes('own\n'), DISK);
  c.ws.addDir('x', DISK);
  const preJoin = new Set([own]);
  const preJoinDirs = new Set(['x']);
  if (sharerFirst) {
    deliver(a.ws, c.out, 'c');
    expect(a.ws.index.isFolder('x')).toBe(false); // the sharer's file kept the path
  }
  deliver(c.ws, a.out, 'a');
  const moved: string[] = [];
  const met = c.ws.keepSessionFilesOverFolders(preJoin, preJoinDirs, {
    isFolder: (p) => p === 'x' && moved.length === 0,
    move: (from, to) => (moved.push(`${from} -> ${to}`), true),
  });
  expect(met.map((m) => [m.path, m.folder])).toEqual([['x', true]]);
  expect(moved).toEqual([`x -> ${met[0]!.kept}`]);
  expect(c.ws.index.entry(c.ws.index.idOf('x')!)?.hash).toBe(a.ws.index.entry(a.ws.index.idOf('x')!)?.hash);
  expect(c.ws.index.isFolder(met[0]!.kept)).toBe(true);
  // Every peer ends with the session's file at x and the joiner's folder beside it.
  deliver(a.ws, c.out, 'c');
  for (const p of [a, c]) {
    expect(p.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(['own.txt', 'x']);
    expect(p.ws.index.isFolder(met[0]!.kept)).toBe(true);
    p.ws.close();
  }
});
