// A `git stash` (or checkout) in one member's folder while another member types in the file
// (trial s50, fault 5, 2 of 2): the stash puts the file back as committed, the sharer's daemon
// takes that in as a change, and the typist's recent typing is gone from every member. Only the
// sharer's stash had it, and the typist was told nothing. Now the typist's daemon keeps the file
// as it was in .chorus/kept/ and tells its editors. Everyday editing together (a peer fixing a
// typo in what someone just typed) tells nothing.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const keptCopies = (dir: string) => {
  const kept = path.join(dir, '.chorus', 'kept');
  return fs.existsSync(kept) ? fs.readdirSync(kept).filter((n) => n.startsWith('notes.txt.')).map((n) => fs.readFileSync(path.join(kept, n), 'utf8')) : [];
};

it("a peer's outside change that removes what this person just typed: the file as it was is kept, and the person told", async () => {
  const committed = 'line one\nline two\n';
  const { a, b } = await sharedPair({ 'notes.txt': committed });
  await converged(a, b, 'the first sync');
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('notes.txt');
  // Bob types on line two, a key at a time.
  const typed = ' bob-typing-here';
  for (const ch of typed) {
    const end = eb.text('notes.txt').indexOf('\n', 9);
    await eb.edit('notes.txt', end, end, ch);
  }
  await until(() => fs.readFileSync(path.join(a.dir, 'notes.txt'), 'utf8') === `line one\nline two${typed}\n`, "Bob's typing in Alice's folder");
  // Alice's `git stash`: the file as committed, written by another tool.
  fs.writeFileSync(path.join(a.dir, 'notes.txt'), committed);
  await until(() => eb.text('notes.txt') === committed, "the stash's content to reach Bob's editor");
  const warned = () => eb.notes.filter((n) => n.method === P.SessionNotice.method).map((n) => n.params.message as string);
  await until(() => warned().some((m) => m.includes('notes.txt: a change from alice just removed')), 'the notice to Bob');
  const said = warned().find((m) => m.includes('just removed'))!;
  expect(said).toMatch(/removed 16 characters you typed there in the last minute .*kept in \.chorus\/kept\/notes\.txt\./);
  expect(keptCopies(b.dir)).toEqual([`line one\nline two${typed}\n`]);
  expect(b.lines.some((l) => l.includes('just removed 16 characters'))).toBe(true);
});

it("a peer deleting a few characters of what this person just typed (a typo fixed) tells nothing", async () => {
  const { a, b } = await sharedPair({ 'notes.txt': 'line one\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open('notes.txt');
  await eb.open('notes.txt');
  for (const ch of ' tpyo') await eb.edit('notes.txt', eb.text('notes.txt').length - 1, eb.text('notes.txt').length - 1, ch);
  await until(() => ea.text('notes.txt') === 'line one tpyo\n', "Bob's typing at Alice");
  await ea.edit('notes.txt', 10, 12, 'yp');
  await until(() => eb.text('notes.txt') === 'line one typo\n', "Alice's fix at Bob");
  await new Promise((r) => setTimeout(r, 500));
  expect(eb.notes.filter((n) => n.method === P.SessionNotice.method)).toEqual([]);
  expect(keptCopies(b.dir)).toEqual([]);
});
