// One daemon made both files at one path: an editor opened a file the folder was still being
// written to (past decision 212's wait), the open made it from the editor's text, and the folder's
// version, taken in next, was a second file at that path (`addConcurrent`). Both are kept, as for
// any two creates at once; this daemon says what happened rather than "created on two peers",
// while a peer, which cannot tell, says what it always says. Workspaces in memory.
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';
import { createdTwiceHere } from '../../daemon/src/workspace/workspace.js';

const EDITOR = { kind: 'editor', editorId: 'e1' } as const;

it('a file made twice at once on one machine (an editor, then the folder) keeps both and says so there; a peer says two creates', () => {
  const a = peer('ab');
  const b = peer('cd');
  const said = { a: [] as string[], b: [] as string[] };
  a.ws.on('notice', (m) => said.a.push(m));
  b.ws.on('notice', (m) => said.b.push(m));
  a.ws.addFile('copy.txt', bytes(''), EDITOR);
  const made = a.out.length;
  // As the folder's take-in makes it: in a batch, which settles the conflict it made.
  a.ws.batch(() => a.ws.addConcurrent('copy.txt', bytes('saved\n'), DISK), DISK);
  const paths = a.ws.index.entries().map(([, e]) => e.path).sort();
  expect(paths).toHaveLength(2);
  const kept = paths.find((p) => p !== 'copy.txt')!;
  expect(kept).toMatch(/^copy \(conflict [0-9a-f]{6}\)\.txt$/);
  expect(said.a).toEqual([createdTwiceHere('copy.txt', kept)]);
  expect(said.a[0]).not.toMatch(/two peers/);
  // The peer gets the second file before the change that settled it (as over the network, where
  // B's log said so in the CI failure of decision 212): it settles it the same way, in its words.
  expect(a.out.length).toBeGreaterThan(made + 1);
  deliver(b.ws, a.out.slice(0, made + 1), 'a');
  expect(said.b).toEqual([`copy.txt was created on two peers at once; the other version is kept as ${kept}`]);
  deliver(b.ws, a.out, 'a');
  expect(b.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(paths);
  expect(said.a).toHaveLength(1);
});

it('two files made at one path by two peers still say "created on two peers at once" on both', () => {
  const a = peer('ab');
  const b = peer('cd');
  const said: string[] = [];
  a.ws.on('notice', (m) => said.push(`a: ${m}`));
  b.ws.on('notice', (m) => said.push(`b: ${m}`));
  a.ws.addFile('new.txt', bytes('from a\n'), EDITOR);
  b.ws.addFile('new.txt', bytes('from b\n'), DISK);
  deliver(b.ws, a.out, 'a');
  deliver(a.ws, b.out, 'b');
  expect(said.length).toBeGreaterThan(0);
  // A peer that gets the other's file already moved aside (its creation and the other's settling
  // in one delivery) has no meeting to settle, and says the copy arrived (decision 228).
  for (const m of said) {
    expect(m).toMatch(/^[ab]: (new\.txt was created on two peers at once, here and on another; (yours keeps the path, the other peer's version is kept as|the other peer's version keeps the path, yours is kept as) new \(conflict [0-9a-f]{6}\)\.txt|new \(conflict [0-9a-f]{6}\)\.txt arrived from a peer: another version of new\.txt, kept beside it .*)$/);
  }
  expect(a.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(b.ws.index.entries().map(([, e]) => e.path).sort());
});
