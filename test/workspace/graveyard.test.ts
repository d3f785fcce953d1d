// FileIndex keeps the last entry of each file removed while the daemon runs (to bring back a file
// whose unseen edits arrive after its removal, decision 160), but only the newest 10,000: a
// session that removes files all day must not grow it without bound.
import { afterEach, expect, it } from 'vitest';
import { FileIndex, newFileId } from '../../daemon/src/workspace/file-index.js';

const entry = (path: string) => ({ path, hash: 'ab'.repeat(32), size: 1 });

const max = FileIndex.graveyardMax;
afterEach(() => {
  FileIndex.graveyardMax = max;
});

it('keeps the newest removed entries only, and a file removed again counts as the newest', () => {
  expect(max).toBe(10_000);
  FileIndex.graveyardMax = 5; // the same rule, at a size a test can reach quickly
  const index = new FileIndex(undefined, [], 'aa'.repeat(16));
  const ids = Array.from({ length: 7 }, () => newFileId());
  ids.forEach((id, i) => index.add(id, entry(`f${i}.txt`)));
  ids.forEach((id) => index.remove(id));
  // The first one removed is removed again (as after a peer brought it back): now the newest.
  index.add(ids[0]!, entry('f0.txt'));
  index.remove(ids[0]!);
  expect(index.removedEntry(ids[0]!)?.path).toBe('f0.txt');
  expect(index.removedAt('f0.txt')).toBe(ids[0]);
  // 8 burials of 7 files, 5 kept: ids[3..6] and ids[0]; ids[1] and ids[2] are forgotten.
  expect(index.removedEntry(ids[1]!)).toBeUndefined();
  expect(index.removedEntry(ids[2]!)).toBeUndefined();
  expect(index.removedAt('f2.txt')).toBeUndefined();
  for (const i of [3, 4, 5, 6]) expect(index.removedEntry(ids[i]!)?.path).toBe(`f${i}.txt`);
});
