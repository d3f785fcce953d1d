// A member's daemon stops taking things in for a while (frozen: `kill -STOP`, a laptop lid, a
// long pause), its person edits files meanwhile, and a peer renames one and deletes another. When
// the daemon goes on, the peer's changes land before the folder's edits are taken in: each edited
// file is no longer in the session at its path, so this folder's version is shared again as a new
// file beside the renamed one (nothing is lost). A trial (2 of 2): nobody was told, and in one run
// not even the log said why there were two files. The person is told now, in the log and in
// every editor, what happened and what to do.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it("files changed here while a peer renamed or deleted them are kept, shared again, and the person is told why", async () => {
  const { a, b } = await sharedPair({ 'ren.txt': 'rename me\n', 'del.txt': 'delete me\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const eb = await editor(b.daemon.project.socketPath);
  const bId = b.daemon.identity.id;
  // A's changes are held from B, as a frozen daemon would not read them.
  a.net.hold(bId);
  fs.renameSync(path.join(a.dir, 'ren.txt'), path.join(a.dir, 'renamed.txt'));
  fs.rmSync(path.join(a.dir, 'del.txt'));
  await until(() => a.daemon.workspace.index.idOf('renamed.txt') !== undefined && a.daemon.workspace.index.idOf('del.txt') === undefined, 'A to take its rename and deletion in');
  // Edited in the middle, not added to at the end: appends move with a rename (decision 167).
  fs.writeFileSync(path.join(b.dir, 'ren.txt'), 'rename BOB-EDIT me\n');
  fs.writeFileSync(path.join(b.dir, 'del.txt'), 'delete BOB-EDIT me\n');
  a.net.release(bId);
  await until(() => b.daemon.workspace.index.idOf('renamed.txt') !== undefined, 'B to have the rename');
  const files = await converged(a, b, 'both folders to settle');
  // Nothing anyone wrote is lost.
  expect(files['renamed.txt']).toBe('rename me\n');
  expect(files['ren.txt']).toBe('rename BOB-EDIT me\n');
  expect(files['del.txt']).toBe('delete BOB-EDIT me\n');
  // And B's person is told why.
  const said = (m: string) => eb.notes.some((n) => n.method === P.SessionNotice.method && n.params.message.startsWith(m));
  await eb.waitFor(() => said('ren.txt: a peer renamed it to renamed.txt while this folder changed it'), "B's editor to be told of ren.txt");
  await eb.waitFor(() => said('del.txt: a peer deleted it while this folder changed it'), "B's editor to be told of del.txt");
  expect(b.lines.some((l) => l.startsWith('ren.txt: a peer renamed it to renamed.txt while this folder changed it'))).toBe(true);
  // And so is A's, who renamed and deleted them (a re-check: told 0 of 3).
  const toldA = (m: RegExp) => ea.notes.some((n) => n.method === P.SessionNotice.method && m.test(n.params.message));
  await ea.waitFor(() => toldA(/^ren\.txt is back from a peer, \d+ s after it was renamed to renamed\.txt: .* merge ren\.txt into renamed\.txt and delete one$/), "A's editor to be told why ren.txt is back");
  await ea.waitFor(() => toldA(/^del\.txt is back from a peer, \d+ s after it was deleted: /), "A's editor to be told why del.txt is back");
  expect(Object.keys(folderFiles(b.dir)).sort()).toEqual(['del.txt', 'other.md', 'ren.txt', 'renamed.txt']);
});

it("a file deleted on one side while typed in on another comes back, and the person who deleted it is told in the editor (a trial: only the log said so)", async () => {
  const { a, b } = await sharedPair({ 'x.txt': 'typed in\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('x.txt');
  const [aId, bId] = [a.daemon.identity.id, b.daemon.identity.id];
  a.net.hold(bId);
  b.net.hold(aId);
  fs.rmSync(path.join(a.dir, 'x.txt'));
  await until(() => a.daemon.workspace.index.idOf('x.txt') === undefined, 'A to take its deletion in');
  await eb.edit('x.txt', 0, 0, 'BOB ');
  a.net.release(bId);
  b.net.release(aId);
  // Both folders lack it for a moment (the deletion lands first), then it is written back.
  await until(() => [a, b].every((p) => folderFiles(p.dir)['x.txt'] === 'BOB typed in\n'), 'x.txt back with B\'s typing in both folders');
  const files = await converged(a, b, 'both folders to settle');
  expect(files['x.txt']).toBe('BOB typed in\n');
  await ea.waitFor(() => ea.notes.some((n) => n.method === P.SessionNotice.method && n.params.type === 'info' && /x\.txt.*(is back|it is back)/.test(n.params.message)), "A's editor to be told why x.txt is back");
  // Once, not once per way it could be told.
  await new Promise((r) => setTimeout(r, 1000));
  const aboutX = ea.notes.filter((n) => n.method === P.SessionNotice.method && n.params.message.includes('x.txt'));
  expect(aboutX.map((n) => n.params.message)).toHaveLength(1);
});

// A branch switched and switched back (`git checkout feature`, `git checkout main`), a stash and
// its pop: the same member deletes files and makes them again. No race, nothing to tell: a trial
// had one "is back from a peer … the peer changed it before it had the deletion" per file on
// every other member, 58 each in three checkouts.
it('files a peer deletes and makes again itself come back with no story of a race', async () => {
  const { a, b } = await sharedPair({ 'lsp/one.ts': 'one\n', 'lsp/two.ts': 'two\n', 'keep.md': 'k\n' });
  await converged(a, b, 'the first sync');
  const eb = await editor(b.daemon.project.socketPath);
  for (const f of ['lsp/one.ts', 'lsp/two.ts']) fs.rmSync(path.join(a.dir, f));
  await until(() => !fs.existsSync(path.join(b.dir, 'lsp/one.ts')) && !fs.existsSync(path.join(b.dir, 'lsp/two.ts')), "the deletions in B's folder");
  fs.mkdirSync(path.join(a.dir, 'lsp'), { recursive: true });
  fs.writeFileSync(path.join(a.dir, 'lsp/one.ts'), 'one\n');
  fs.writeFileSync(path.join(a.dir, 'lsp/two.ts'), 'two\n');
  await until(() => fs.existsSync(path.join(b.dir, 'lsp/one.ts')) && fs.existsSync(path.join(b.dir, 'lsp/two.ts')), "the files back in B's folder");
  await converged(a, b, 'both folders to settle');
  expect(b.lines.filter((l) => l.includes('is back from a peer'))).toEqual([]);
  expect(eb.notes.filter((n) => n.method === P.SessionNotice.method && n.params.message.includes('is back from a peer'))).toEqual([]);
});
