// A file moved and changed at once is a rename and an edit, not a deletion and a new file (trial
// s51, F7; decision 248). A `git pull` that moved docs/decisions/ to docs/adr/ and edited 39 of the
// moved files told every peer "a peer deleted 39 files"; the files lost their history, and a peer
// typing in one of them meanwhile brought it back at its old name, without the edit, beside the
// new one. Now such a file keeps its id, the edit merges with the peer's typing in the moved file,
// and the peer's editor follows the rename.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { pairEditedRenames, similarity } from '../../daemon/src/disk/edited-renames.js';
import { converged, editor, sharedPair, startPeer, stopAllPeers, stopPeer, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

/** A page of numbered lines, like a decision record. */
function page(name: string, lines = 20): string {
  return Array.from({ length: lines }, (_, i) => `${name}: line ${i} of a record that says why\n`).join('');
}

/** What `git pull` of a move with edits does to a folder: the new files written, the old folder removed. */
function pullMove(dir: string, from: string, to: string, edit: (rel: string, text: string) => string): void {
  fs.mkdirSync(path.join(dir, to), { recursive: true });
  for (const name of fs.readdirSync(path.join(dir, from))) {
    const text = fs.readFileSync(path.join(dir, from, name), 'utf8');
    fs.writeFileSync(path.join(dir, to, name), edit(name, text));
  }
  fs.rmSync(path.join(dir, from), { recursive: true });
}

it('a folder moved with some of its files edited is renames on both peers, each file keeping its id, with the edits', async () => {
  const names = ['001.md', '002.md', '003.md', '004.md'];
  const files = Object.fromEntries(names.map((n) => [`docs/decisions/${n}`, page(n)]));
  const { a, b } = await sharedPair({ ...files, 'README.md': 'read me\n' });
  await converged(a, b, 'the first sync');
  const ids = new Map(names.map((n) => [n, a.daemon.workspace.index.idOf(`docs/decisions/${n}`)]));
  // Two of the four are edited in the move: a line changed in one, a line added to another.
  const edit = (name: string, text: string) =>
    name === '001.md' ? text.replace('001.md: line 3 of', '001.md: line 3, amended, of') : name === '002.md' ? text + 'a line added in the move\n' : text;
  pullMove(a.dir, 'docs/decisions', 'docs/adr', edit);

  await until(() => names.every((n) => fs.existsSync(path.join(b.dir, 'docs/adr', n))) && !fs.existsSync(path.join(b.dir, 'docs/decisions')), 'B to have docs/adr/ and no docs/decisions/');
  const both = await converged(a, b, 'both folders to hold the moved files');
  expect(Object.keys(both).sort()).toEqual(['README.md', ...names.map((n) => `docs/adr/${n}`)]);
  for (const n of names) expect(both[`docs/adr/${n}`]).toBe(edit(n, page(n)));
  for (const [n, id] of ids) {
    expect(a.daemon.workspace.index.idOf(`docs/adr/${n}`)).toBe(id);
    expect(b.daemon.workspace.index.idOf(`docs/adr/${n}`)).toBe(id);
  }
  const took = a.lines.filter((l) => l.startsWith('took in from the folder:'));
  expect(took.join('\n')).toContain('renamed (2 of them changed too)');
  expect(took.join('\n')).not.toContain('deleted');
  // Nobody is told that files were deleted.
  expect(b.lines.filter((l) => l.includes('deleted'))).toEqual([]);
});

it('a peer typing in a file while it is moved and edited: the typing and the edit end up in the moved file on both peers, and the editor follows', async () => {
  const FROM = 'docs/decisions/010.md';
  const TO = 'docs/adr/010.md';
  const { a, b } = await sharedPair({ [FROM]: page('010'), 'README.md': 'read me\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(b.daemon.project.socketPath, { followRenames: true });
  expect(await ed.open(FROM)).toBe(page('010'));
  // B types while its changes are held from A: A moves and edits the file without having seen them.
  b.net.hold(a.daemon.identity.id);
  await ed.edit(FROM, 0, 0, 'typed on B before the move reached it\n');
  pullMove(a.dir, 'docs/decisions', 'docs/adr', (_, text) => text.replace('010: line 5 of', '010: line 5, amended, of'));
  await until(() => a.daemon.workspace.index.idOf(TO) !== undefined, 'A to take the move in');
  b.net.release(a.daemon.identity.id);

  await until(() => fs.existsSync(path.join(b.dir, TO)) && !fs.existsSync(path.join(b.dir, FROM)), `B to have ${TO} and not ${FROM}`);
  await new Promise((r) => setTimeout(r, 1500)); // an old path brought back by the late edit would be back by now
  const files = await converged(a, b, 'both folders to settle');
  const expected = 'typed on B before the move reached it\n' + page('010').replace('010: line 5 of', '010: line 5, amended, of');
  expect(files).toEqual({ 'README.md': 'read me\n', [TO]: expected });
  expect([...a.lines, ...b.lines].filter((l) => l.includes(`kept ${FROM}`))).toEqual([]);
  await ed.waitFor(() => ed.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === FROM && n.params.to === TO), `buffer/didRename ${FROM} → ${TO}`);
  await ed.settle();
  expect(ed.text(TO)).toBe(expected);
});

it('a file moved and edited while its daemon was stopped (a git pull offline) is a rename when the daemon starts, and the peer\'s edit meanwhile merges into it', async () => {
  const FROM = 'src/util.ts';
  const TO = 'lib/util.ts';
  const { a, b } = await sharedPair({ [FROM]: page('util'), 'README.md': 'read me\n' });
  await converged(a, b, 'the first sync');
  const id = a.daemon.workspace.index.idOf(FROM);
  await stopPeer(b);
  pullMove(b.dir, 'src', 'lib', (_, text) => text.replace('util: line 2 of', 'util: line 2, amended offline, of'));
  // A edits the file at its old name meanwhile, at its end.
  const ed = await editor(a.daemon.project.socketPath);
  const before = await ed.open(FROM);
  await ed.edit(FROM, before.length, before.length, 'typed on A while B was away\n');
  const b2 = await startPeer(b.dir, 'bob'); // rejoins the session by itself
  const expected = page('util').replace('util: line 2 of', 'util: line 2, amended offline, of') + 'typed on A while B was away\n';
  await until(() => fs.existsSync(path.join(a.dir, TO)) && !fs.existsSync(path.join(a.dir, FROM)), `A to follow the move to ${TO}`);
  const files = await converged(a, b2, 'both folders to settle');
  expect(files).toEqual({ 'README.md': 'read me\n', [TO]: expected });
  expect(a.daemon.workspace.index.idOf(TO)).toBe(id);
  expect(b2.daemon.workspace.index.idOf(TO)).toBe(id);
});

it('a file deleted and a new one of other text are no rename; a move with most of the text rewritten is none either', async () => {
  const { a, b } = await sharedPair({ 'old.md': page('old'), 'kept.md': page('kept') });
  await converged(a, b, 'the first sync');
  const oldId = a.daemon.workspace.index.idOf('old.md');
  const keptId = a.daemon.workspace.index.idOf('kept.md');
  fs.rmSync(path.join(a.dir, 'old.md'));
  fs.writeFileSync(path.join(a.dir, 'new.md'), page('new'));
  fs.rmSync(path.join(a.dir, 'kept.md'));
  fs.mkdirSync(path.join(a.dir, 'sub'));
  fs.writeFileSync(path.join(a.dir, 'sub/kept.md'), page('kept', 6) + page('rewritten', 14));
  const files = await converged(a, b, 'both folders to settle');
  expect(Object.keys(files).sort()).toEqual(['new.md', 'sub/kept.md']);
  expect(a.daemon.workspace.index.idOf('new.md')).not.toBe(oldId);
  expect(a.daemon.workspace.index.idOf('sub/kept.md')).not.toBe(keptId);
});

it('measures likeness by lines, as git does, and pairs the same name first, then others when few are left', () => {
  expect(similarity('', '')).toBe(1);
  expect(similarity(page('x'), page('x'))).toBe(1);
  expect(similarity(page('x'), page('x') + 'one more\n')).toBeGreaterThan(0.9);
  expect(similarity(page('x'), page('y'))).toBe(0);
  // Half the lines kept (by characters): just alike enough; fewer kept: not alike.
  expect(similarity(page('x', 10), page('x', 5) + page('y', 5))).toBeCloseTo(0.5, 5);
  expect(similarity(page('x', 10), page('x', 4) + page('y', 6))).toBeLessThan(0.5);
  // Lines moved around are still the same lines.
  const lines = page('x').split('\n');
  expect(similarity(page('x'), [...lines.slice(10), ...lines.slice(0, 10)].join('\n'))).toBeGreaterThan(0.95);

  const texts: Record<string, string> = {
    'a/index.ts': page('alpha'),
    'b/index.ts': page('beta'),
    'c/notes.md': page('gamma'),
    'x/index.ts': page('beta') + 'edited\n',
    'y/index.ts': page('alpha').replace('line 1 ', 'line one '),
    'z/renamed.md': page('gamma') + 'edited too\n',
    'w/unrelated.md': page('delta'),
    'bin.dat': '',
  };
  const textOf = (rel: string) => (rel === 'bin.dat' ? undefined : texts[rel]);
  expect(pairEditedRenames(['a/index.ts', 'b/index.ts', 'c/notes.md'], ['x/index.ts', 'y/index.ts', 'z/renamed.md', 'w/unrelated.md', 'bin.dat'], textOf)).toEqual([
    ['b/index.ts', 'x/index.ts'],
    ['a/index.ts', 'y/index.ts'],
    ['c/notes.md', 'z/renamed.md'],
  ]);
  // Many files left over of other names: only the same names are compared (each comparison is a pass over both texts).
  const many = Array.from({ length: 20 }, (_, i) => `gone/f${i}.md`);
  const fresh = Array.from({ length: 20 }, (_, i) => `new/g${i}.md`);
  expect(pairEditedRenames(many, fresh, () => page('same'))).toEqual([]);
  expect(pairEditedRenames(many.slice(0, 4), fresh.slice(0, 4), () => page('same'))).toHaveLength(4);
});

it('among many gone files of one name, the one in a folder of the same name is compared, however many there are', () => {
  // A tree of 40 packages moved and each index.ts edited: each pairs with its own package's file.
  const gone = Array.from({ length: 40 }, (_, i) => `packages/p${i}/src/index.ts`);
  const added = gone.map((rel) => rel.replace('packages/', 'libs/')).reverse();
  const textOf = (rel: string) => page(rel.split('/')[1]!) + (rel.startsWith('libs/') ? 'edited\n' : '');
  const pairs = pairEditedRenames(gone, added, textOf);
  expect(pairs).toHaveLength(40);
  expect(pairs.every(([from, to]) => from.replace('packages/', 'libs/') === to)).toBe(true);
});
