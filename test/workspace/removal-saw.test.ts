// FileIndex.removalSaw tells a deletion made after seeing a change (the rename of a file here)
// from one made without it (decision 148): the renaming peer keeps the file only in the second case.
import { expect, it } from 'vitest';
import { FileIndex, newFileId } from '../../daemon/src/workspace/file-index.js';

const entry = (path: string) => ({ path, hash: 'ab'.repeat(32), size: 1 });

function pair(): { a: FileIndex; b: FileIndex; id: string } {
  const a = new FileIndex(undefined, [], 'aa'.repeat(16));
  const id = newFileId();
  a.add(id, entry('x.txt'));
  return { a, b: new FileIndex(a.save(), [], 'bb'.repeat(16)), id };
}

it('a removal that saw the rename', () => {
  const { a, b, id } = pair();
  const renamed = a.set(id, { path: 'y.txt' })!;
  const [hash] = a.heads;
  expect(a.removalSaw(id, hash!)).toBeUndefined(); // not removed yet
  b.applyRemote([renamed]);
  a.applyRemote([b.remove(id)!]);
  expect(a.idOf('y.txt')).toBeUndefined();
  expect(a.removalSaw(id, hash!)).toBe(true);
});

it('a removal made without knowing of the rename, and one of two that did', () => {
  const { a, b, id } = pair();
  const c = new FileIndex(b.save(), [], 'cc'.repeat(16));
  const renamed = a.set(id, { path: 'y.txt' })!;
  const [hash] = a.heads;
  a.applyRemote([b.remove(id)!]);
  expect(a.removalSaw(id, hash!)).toBe(false);
  c.applyRemote([renamed]);
  a.applyRemote([c.remove(id)!]);
  expect(a.removalSaw(id, hash!)).toBe(true);
});

it('a change this index does not hold', () => {
  const { a, id } = pair();
  expect(a.removalSaw(id, 'cd'.repeat(32))).toBeUndefined();
});
