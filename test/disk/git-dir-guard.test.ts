// A folder Git takes for a repository without a `.git` in its name (decision 214): the daemon
// never writes into one, nor the part that would make one. Unit tests of the rule on a folder
// described by hand; test/disk/git-dir-layout.test.ts has two real daemons.
import { expect, it } from 'vitest';
import { isHeadText, namesHead, repositoryOn, WritesInFlight, type FolderLook } from '../../daemon/src/disk/git-dir-guard.js';

/** A folder of `files` (path → text) and `dirs`, as the guard looks at it. */
function folder(files: Record<string, string>, dirs: string[] = []): FolderLook {
  return {
    kind: (rel) => (rel in files ? 'file' : dirs.includes(rel) ? 'dir' : undefined),
    start: (rel) => files[rel]?.slice(0, 256),
  };
}

it('takes what Git takes for a HEAD', () => {
  // Only a file named HEAD has its content looked at (the writer reads no other's).
  for (const rel of ['HEAD', 'x/HEAD', 'x/head', 'a/b/Head']) expect(namesHead(rel), rel).toBe(true);
  for (const rel of ['HEADS', 'x/HEAD/y', 'xHEAD', 'x/ahead']) expect(namesHead(rel), rel).toBe(false);
  // Git reads 40 hex digits and ignores what follows them (git 2.39: 41 of them, or 40 and "xyz", is a HEAD).
  for (const head of ['ref: refs/heads/main\n', 'ref:refs/x', 'a'.repeat(40), `${'a'.repeat(41)}\n`, `${'a'.repeat(40)}xyz`, `${'0123456789abcdef'.repeat(4)}\n`]) expect(isHeadText(head), head).toBe(true);
  for (const other of ['', 'HEAD\n', 'ref: heads/main', 'a'.repeat(39), `${'a'.repeat(39)}g`, 'the head of the list\n']) expect(isHeadText(other), other).toBe(false);
});

it('refuses the write that completes a repository, whichever part comes last', () => {
  const head = { 'x/HEAD': 'ref: refs/heads/main\n' };
  // HEAD last: its own content decides.
  expect(repositoryOn('x/HEAD', folder({}, ['x', 'x/objects', 'x/refs']), 'ref: refs/heads/main\n')).toBe('x');
  expect(repositoryOn('x/HEAD', folder({}, ['x', 'x/objects', 'x/refs']), 'just a file called HEAD\n')).toBeUndefined();
  // objects/ or refs/ last, made as a folder or by a file inside it.
  expect(repositoryOn('x/refs', folder(head, ['x', 'x/objects']))).toBe('x');
  expect(repositoryOn('x/refs/heads/main', folder(head, ['x', 'x/objects']), 'abc\n')).toBe('x');
  expect(repositoryOn('x/objects/info/packs', folder(head, ['x', 'x/refs']), '\n')).toBe('x');
  // objects and refs as files: Git only asks to enter them, which an executable file allows.
  expect(repositoryOn('x/refs', folder({ ...head, 'x/objects': '' }, ['x']), '')).toBe('x');
  expect(repositoryOn('x/HEAD', folder({ 'x/objects': '', 'x/refs': '' }, ['x']), 'ref: refs/heads/main\n')).toBe('x');
  // Or a commondir file beside a HEAD (Git then looks for objects/ and refs/ where it points).
  expect(repositoryOn('x/commondir', folder(head, ['x']), '../y\n')).toBe('x');
  // The project folder itself, too.
  expect(repositoryOn('HEAD', folder({}, ['objects', 'refs']), 'ref: refs/heads/main\n')).toBe('');
  // Not yet complete: written.
  expect(repositoryOn('x/refs/heads/main', folder(head, ['x']), 'abc\n')).toBeUndefined();
  expect(repositoryOn('x/config', folder(head, ['x', 'x/objects']), '[core]\n')).toBeUndefined();
  // Names compared without case (a case-insensitive file system finds `head` as HEAD).
  expect(repositoryOn('x/head', folder({}, ['x', 'x/objects', 'x/refs']), 'ref: refs/heads/main\n')).toBe('x');
});

it('refuses every write inside a folder that is one already, at any depth', () => {
  const repo = folder({ 'r/HEAD': 'ref: refs/heads/main\n' }, ['r', 'r/objects', 'r/refs', 'r/hooks']);
  for (const rel of ['r/config', 'r/hooks/pre-commit', 'r/deep/er/file.txt']) expect(repositoryOn(rel, repo, 'x')).toBe('r');
  expect(repositoryOn('r/hooks', repo)).toBe('r'); // a folder made, a move, a removal
  expect(repositoryOn('elsewhere.txt', repo, 'x')).toBeUndefined();
  expect(repositoryOn('rr/config', repo, 'x')).toBeUndefined();
});

it('counts paths other writes are putting in place now as there: two writes at once cannot complete one', () => {
  const look = folder({ 'x/HEAD': 'ref: refs/heads/main\n' }, ['x']);
  const writing = (...paths: string[]) => {
    const w = new WritesInFlight();
    for (const p of paths) w.add(p);
    return w;
  };
  expect(repositoryOn('x/refs/heads/main', look, 'abc\n', writing('x/objects/info/packs'))).toBe('x');
  expect(repositoryOn('x/refs/heads/main', look, 'abc\n', writing('x/other.txt'))).toBeUndefined();
  expect(repositoryOn('x/refs/heads/main', look, 'abc\n', writing('x/Objects/a'))).toBe('x'); // without case
  // A HEAD being written counts as one naming a ref (its content is not known here).
  expect(repositoryOn('x/objects/a', folder({}, ['x', 'x/refs']), 'abc', writing('x/HEAD'))).toBe('x');
  // Once written (or failed), a path is no longer counted; two writes under one folder count apart.
  const w = writing('x/objects/a', 'x/objects/b');
  w.delete('x/objects/a');
  expect(w.has('x/objects')).toBe(true);
  w.delete('x/objects/b');
  expect(w.has('x/objects')).toBe(false);
  expect(w.has('x')).toBe(false);
});
