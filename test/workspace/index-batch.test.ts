// A batch of index updates as big as `rm -r` or `mv` of a huge folder makes (the take-in from the
// folder removes or renames each file in one `FileIndex.batch`): 10,000 removals took minutes
// when each update was made on the document at once (a batch cost n²). Each test checks the
// index it leaves exactly, as this daemon reads it, as it loads again, and as a peer gets it.
import * as A from '@automerge/automerge/next';
import { expect, it } from 'vitest';
import { FileIndex, newFileId, type FileEntry } from '../../daemon/src/workspace/file-index.js';

const hash = 'ab'.repeat(32);
const entry = (path: string): FileEntry => ({ path, hash, size: path.length });

/**
 * An index holding `paths` (and the folders `dirs`), made in one Automerge change straight on its
 * saved form: building it with the index's own updates is what is under test, and was n² too.
 */
function indexWith(paths: string[], dirs: string[], actor: string): { index: FileIndex; ids: Map<string, string> } {
  const ids = new Map(paths.map((p) => [p, newFileId()]));
  type Shape = { files: Record<string, unknown>; dirs: Record<string, unknown> };
  const doc = A.change(A.load<Shape>(new FileIndex(undefined, [], actor).save()), (d) => {
    for (const [p, id] of ids) d.files[id] = { path: new A.RawString(p), hash: new A.RawString(hash), size: p.length };
    dirs.forEach((p, i) => (d.dirs[`d${String(i).padStart(24, '0')}`] = { path: new A.RawString(p) }));
  });
  return { index: new FileIndex(A.save(doc), [], actor), ids };
}

/** Every file of `index` as path → id, sorted by path. */
const files = (index: FileIndex) => new Map(index.entries().map(([id, e]): [string, string] => [e.path, id]).sort(([a], [b]) => a.localeCompare(b)));

/** The same index loaded from its saved form, and a peer that had the state before and got `change`. */
function elsewhere(index: FileIndex, before: Uint8Array, change: Uint8Array) {
  const peer = new FileIndex(before, [], 'cc'.repeat(16));
  const diff = peer.applyRemote([change]);
  return { reloaded: new FileIndex(index.save(), [], 'bb'.repeat(16)), peer, diff };
}

it('removes 10,000 files in one batch (rm -r of a huge folder): one change, nothing of them left anywhere', () => {
  const gone = Array.from({ length: 10_000 }, (_, i) => `huge/d${i % 50}/f${i}.txt`);
  const kept = ['README.md', 'src/main.ts', 'huge-but-not/x.txt'];
  const { index, ids } = indexWith([...gone, ...kept], ['huge', 'huge/d0', 'src'], 'aa'.repeat(16));
  const before = index.save();

  const change = index.batch(() => {
    for (const p of gone) index.remove(ids.get(p)!);
    // Reads inside the batch see each update at once.
    expect(index.idOf(gone[0]!)).toBeUndefined();
    expect(index.entry(ids.get(gone[1]!)!)).toBeUndefined();
    expect(index.isFolder('huge/d1')).toBe(false);
  });

  expect(change).toBeInstanceOf(Uint8Array);
  // Its folders go in a change of their own: one change writes 10,000 entries at most.
  const dirsGone = index.batch(() => ['huge/d0', 'huge'].forEach((d) => index.removeDir(d)))!;
  const want = new Map(kept.map((p): [string, string] => [p, ids.get(p)!]).sort(([a], [b]) => a.localeCompare(b)));
  const { reloaded, peer, diff } = elsewhere(index, before, change!);
  peer.applyRemote([dirsGone]);
  for (const i of [index, reloaded, peer]) {
    expect(files(i)).toEqual(want);
    expect(i.dirs()).toEqual(['src']);
    for (const p of gone) expect(i.idOf(p)).toBeUndefined();
    for (const [p, id] of want) expect(i.idOf(p)).toBe(id);
    expect(i.isFolder('huge')).toBe(false);
    expect(i.isFolder('huge-but-not')).toBe(true);
    expect(i.refused()).toEqual([]);
  }
  expect(diff.deleted.sort()).toEqual([...gone].sort());
  expect(diff.created).toEqual([]);
  expect(diff.renamed).toEqual([]);
  // This daemon saw them go: the last entry of each is kept, the graveyard full (10,000).
  for (const p of gone) {
    expect(index.removedAt(p)).toBe(ids.get(p));
    expect(index.removedEntry(ids.get(p)!)).toEqual(entry(p));
  }
  // The peer buried them as it took the change in.
  expect(peer.removedAt(gone[9_999]!)).toBe(ids.get(gone[9_999]!));
}, 120_000);

it('renames a 3,000-file folder in one batch (mv of a huge folder): each file keeps its id, and only the folder moves', () => {
  const moving = Array.from({ length: 3_000 }, (_, i) => `lib/m${i % 30}/f${i}.ts`);
  const kept = ['lib-other/a.ts', 'README.md'];
  const { index, ids } = indexWith([...moving, ...kept], ['lib', 'lib/m0', 'lib-other'], 'aa'.repeat(16));
  const before = index.save();
  const moved = (p: string) => 'pkg' + p.slice('lib'.length);

  const change = index.batch(() => {
    for (const p of moving) {
      const id = index.idOf(p)!;
      index.set(id, { path: moved(p) });
      expect(index.idOf(moved(p))).toBe(id);
    }
    index.removeDir('lib/m0');
    index.removeDir('lib');
    index.addDir('pkg');
    index.addDir('pkg/m0');
  });

  expect(change).toBeInstanceOf(Uint8Array);
  const want = new Map(
    [...moving.map((p): [string, string] => [moved(p), ids.get(p)!]), ...kept.map((p): [string, string] => [p, ids.get(p)!])].sort(([a], [b]) => a.localeCompare(b)),
  );
  const { reloaded, peer, diff } = elsewhere(index, before, change!);
  for (const i of [index, reloaded, peer]) {
    expect(files(i)).toEqual(want);
    expect(i.dirs()).toEqual(['lib-other', 'pkg', 'pkg/m0']);
    for (const p of moving) expect(i.idOf(p)).toBeUndefined();
    expect(i.isFolder('lib')).toBe(false);
    expect(i.isFolder('pkg/m29')).toBe(true);
    for (const p of moving) expect(i.entry(ids.get(p)!)).toEqual({ ...entry(p), path: moved(p) });
  }
  expect(diff.renamed.map(({ from, to, id }) => [from, to, id]).sort()).toEqual(moving.map((p) => [p, moved(p), ids.get(p)!]).sort());
  expect(diff.created).toEqual([]);
  expect(diff.deleted).toEqual([]);
  // Nothing was removed: no file comes back from the graveyard at an old path.
  for (const p of moving.slice(0, 10)) expect(index.removedAt(p)).toBeUndefined();
}, 120_000);
