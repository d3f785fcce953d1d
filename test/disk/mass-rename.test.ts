// A folder moved on disk (`mv src lib`) is taken in as renames however many files it holds, and
// a peer follows it as renames: every file keeps its id, and the old folders go on both sides.
// Regression (decision 175): a move of more files than one index change takes (2,000) was split
// into several changes with the old folders' removal in the first, before their files had moved;
// the peer found them not empty, kept them, and shared them again. The split is shown here with
// a handful of files through the test-only CHORUS_TEST_BATCH_FILES (decision 151).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pairRenames } from '../../daemon/src/disk/folder-sync.js';
import { converged, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

const FOLDERS = 3;
const PER_FOLDER = 4;

beforeEach(() => {
  process.env.CHORUS_TEST_BATCH_FILES = '5';
});
afterEach(async () => {
  delete process.env.CHORUS_TEST_BATCH_FILES;
  await stopAllPeers();
});

it('a folder move split over several index changes is renames on both peers, and the old folders go', async () => {
  const files: Record<string, string> = {};
  for (let d = 0; d < FOLDERS; d++) for (let f = 0; f < PER_FOLDER; f++) files[`src/d${d}/f${f}.txt`] = `folder ${d} file ${f}\n`;
  const { a, b } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  const ids = new Map(Object.keys(files).map((rel) => [rel, a.daemon.workspace.index.idOf(rel)]));
  expect([...ids.values()].every((id) => id !== undefined)).toBe(true);

  fs.renameSync(path.join(a.dir, 'src'), path.join(a.dir, 'lib'));
  const moved = (rel: string) => rel.replace(/^src\//, 'lib/');
  await until(() => [...ids.keys()].every((rel) => fs.existsSync(path.join(b.dir, moved(rel)))) && !fs.existsSync(path.join(b.dir, 'src')), "B to have lib/ and no src/");
  const both = await converged(a, b, 'both folders to hold the moved files');
  expect(Object.keys(both).sort()).toEqual(Object.keys(files).map(moved).sort());

  // Every file kept its id on both peers: renames, not new files and deletions.
  for (const [rel, id] of ids) {
    expect(a.daemon.workspace.index.idOf(moved(rel))).toBe(id);
    expect(b.daemon.workspace.index.idOf(moved(rel))).toBe(id);
  }
  expect(a.lines.filter((l) => l.startsWith('took in from the folder:')).at(-1)).toContain(`${FOLDERS * PER_FOLDER} renamed`);
  // The old folders are gone from the session and from both folders; none was kept and shared again.
  await until(() => !a.daemon.workspace.index.dirs().some((d) => d === 'src' || d.startsWith('src/')) && !b.daemon.workspace.index.dirs().some((d) => d === 'src' || d.startsWith('src/')), 'src/ to leave both indexes');
  expect(b.lines.filter((l) => l.startsWith('kept the folder'))).toEqual([]);
  expect(fs.existsSync(path.join(a.dir, 'src'))).toBe(false);
  expect(fs.existsSync(path.join(b.dir, 'src'))).toBe(false);
});

it('pairs gone and new files by content, the same base name first, each once; a changed content is no rename', () => {
  // Many files of one content (empty ones, say): each new one takes the gone one of its name.
  const gone = Array.from({ length: 3000 }, (_, i) => `src/f${i}.py`);
  const added = gone.map((rel) => rel.replace('src/', 'lib/')).reverse();
  const pairs = pairRenames(gone, added, () => ['empty'], () => 'empty');
  expect(pairs.length).toBe(3000);
  expect(pairs.every(([from, to]) => from.replace('src/', 'lib/') === to)).toBe(true);
  // No gone file of the same name: the first gone one of that content; each file is paired once.
  expect(pairRenames(['a/x', 'a/y'], ['b/z', 'b/w', 'b/v'], () => ['h'], () => 'h')).toEqual([
    ['a/x', 'b/z'],
    ['a/y', 'b/w'],
  ]);
  // A content the gone file never had in the folder (a move and a change at once): not paired.
  expect(pairRenames(['a/x'], ['b/x'], () => ['old', undefined], () => 'new')).toEqual([]);
});
