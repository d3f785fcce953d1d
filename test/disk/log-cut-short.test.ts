// A member whose saved changes of a file lost their end (the log cut short: a power loss tears
// its tail, a disk or a person cuts more) while its folder holds the whole text (trial s48, 2 of
// 2). Its next change reused the number of a lost one that peers already had, every peer refused
// it ("duplicate seq"), and the file never synced again; the three-way take-in of an edit made
// while it was stopped deleted the lost lines from the person's file; and a later restart wrote
// the smaller text over it. Now new changes take a new actor, and the folder's text is taken in
// whole: nothing the person's file had is lost, and the member stays in step.
import fs from 'node:fs';
import path from 'node:path';
import * as A from '@automerge/automerge/next';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, startPeer, stopAllPeers, stopPeer, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const read = (dir: string) => fs.readFileSync(path.join(dir, 'doc.md'), 'utf8');

it("a member whose saved changes of a file were cut short keeps the folder's whole text, and its later edits reach peers", async () => {
  const { a, b: joined } = await sharedPair({ 'doc.md': 'from the start\n', 'other.md': 'o\n' });
  await converged(a, joined, 'the first sync');
  const id = joined.daemon.workspace.index.idOf('doc.md')!;
  // A daemon that has been stopped once since it joined types under its own actor (the one it
  // had then may be another); that actor's changes are the ones the cut loses.
  await stopPeer(joined);
  const b = await startPeer(joined.dir, 'bob');
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('doc.md');
  // Typed a line at a time, each its own change in B's log.
  for (const line of ['typed one\n', 'typed two\n', 'typed three\n', 'typed four\n']) {
    const end = eb.text('doc.md').length;
    await eb.edit('doc.md', end, end, line);
    await new Promise((r) => setTimeout(r, 150));
  }
  await until(() => read(a.dir).includes('typed four') && read(b.dir).includes('typed four'), 'both folders to have the typing');
  await stopPeer(b);
  const log = path.join(b.dir, '.chorus', 'state', `${id}.log`);
  const size = fs.statSync(log).size;
  expect(size).toBeGreaterThan(0);
  fs.truncateSync(log, Math.floor(size / 2));
  // Edited while the daemon was stopped.
  fs.appendFileSync(path.join(b.dir, 'doc.md'), 'edited while stopped\n');
  const had = read(b.dir);

  const b2 = await startPeer(b.dir, 'bob');
  // The folder's text is all still there, the stopped edit included.
  for (const line of had.split('\n').filter(Boolean)) expect(read(b2.dir), `after the restart`).toContain(line);
  await until(() => read(a.dir).includes('edited while stopped'), "A to have B's edit made while stopped");
  // An edit after the restart reaches A too (before the fix every peer refused B's changes to the file).
  const eb2 = await editor(b2.daemon.project.socketPath);
  await eb2.open('doc.md');
  const end = eb2.text('doc.md').length;
  await eb2.edit('doc.md', end, end, 'typed after the restart\n');
  await until(() => read(a.dir).includes('typed after the restart'), "A to have B's edit after the restart");
  const files = await converged(a, b2, 'both folders to hold the same text');
  for (const line of [...had.split('\n').filter(Boolean), 'typed after the restart']) expect(files['doc.md']).toContain(line);
  for (const p of [a, b2]) {
    expect(p.lines.filter((l) => /duplicate seq/.test(l)), p.lines.join('\n')).toEqual([]);
    // What each holds saves and loads again: a change that reused a lost one's number made the
    // document one Automerge can no longer load ("duplicate seq"), on every peer that took it.
    expect(() => A.load(p.daemon.workspace.savedForm(id)!.data)).not.toThrow();
  }
  expect(b2.lines.some((l) => l.includes("doc.md: its saved changes here were damaged or cut short and loaded only in part"))).toBe(true);
  // And once more: a restart neither loses nor doubles anything of it now.
  const before = read(b2.dir);
  await stopPeer(b2);
  const b3 = await startPeer(b.dir, 'bob');
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(b3.dir)).toBe(before);
  await converged(a, b3, 'both folders to stay the same');
});
