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

/** Where each whole record of a document log ends (records: a 4-byte big-endian length word, top bit for a mark, then the body). */
function recordEnds(buf: Buffer): number[] {
  const ends: number[] = [];
  for (let off = 0; off + 4 <= buf.length; ) {
    off += 4 + (buf.readUInt32BE(off) & 0x7fff_ffff);
    if (off <= buf.length) ends.push(off);
  }
  return ends;
}

// Two ways a log loses its end: mid-record (a torn tail, which the store notices) and at a record
// boundary (whole records gone, which nothing can notice: a power loss before the fsync batch, a
// restored backup). A re-check (trial s48b, 2 of 2) found the second still split the file for good.
const cuts: Array<[string, (log: Buffer) => number]> = [
  ['in the middle of a record', (log) => Math.floor(log.length / 2)],
  ['at a record boundary, two whole changes gone', (log) => {
    const ends = recordEnds(log);
    expect(ends.length).toBeGreaterThanOrEqual(3);
    return ends[ends.length - 3]!;
  }],
];

it.each(cuts)("a member whose saved changes of a file were cut %s keeps the folder's whole text, and its later edits reach peers", async (how, cutAt) => {
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
  const bytes = fs.readFileSync(log);
  expect(bytes.length).toBeGreaterThan(0);
  fs.truncateSync(log, cutAt(bytes));
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
  // A torn tail is seen, and the folder's text taken in whole; a cut at a boundary cannot be seen,
  // and the peers' copies of the lost changes bring the text back.
  if (how.startsWith('in the middle')) expect(b2.lines.some((l) => l.includes("doc.md: its saved changes here were damaged or cut short and loaded only in part"))).toBe(true);
  // And once more: a restart neither loses nor doubles anything of it now.
  const before = read(b2.dir);
  await stopPeer(b2);
  const b3 = await startPeer(b.dir, 'bob');
  await new Promise((r) => setTimeout(r, 1500));
  expect(read(b3.dir)).toBe(before);
  await converged(a, b3, 'both folders to stay the same');
});
