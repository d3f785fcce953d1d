/**
 * A peer's burst of new files in one folder is written several at a time (decision 177), and so are
 * a join's write of the whole session and a restarted daemon's catch-up (decision 180). Written
 * one by one, each write waited behind the watcher's re-read of the whole folder that the write
 * before set off: a read-only member of a session whose 5,000-file folder came back after a
 * `git stash -u` / `git stash pop` wrote four files a second, at a quarter second of CPU each
 * (a user trial). No timing here: the test counts the writes in flight at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FolderWriter } from '../../daemon/src/disk/folder-writer.js';
import type { Materializer } from '../../daemon/src/disk/materializer.js';
import { WRITES_AT_ONCE } from '../../daemon/src/disk/pending-content.js';
import { readOnlyPeer, sharedPair, startPeer, stopAllPeers, stopPeer, until, type Peer } from '../support/disk-peers.js';

afterEach(stopAllPeers);

/** Count the writes of peers' files (the materializer's) in flight at once in `p`'s folder; the most seen so far. */
function inFlight(p: Peer): () => number {
  // Private to the session: reached here only to count, nothing else is changed.
  const m = (p.daemon.session as unknown as { materializer: Materializer }).materializer;
  const original = m.write.bind(m);
  let now = 0;
  let most = 0;
  m.write = async (rel: string) => {
    most = Math.max(most, ++now);
    try {
      return await original(rel);
    } finally {
      now--;
    }
  };
  return () => most;
}

it("a peer's new files in one folder are written several at a time, on a read-only member too", async () => {
  const { a, b } = await sharedPair({ 'README.md': 'x\n' });
  const c = await readOnlyPeer(a);
  const mostB = inFlight(b);
  const mostC = inFlight(c);
  const N = 200;
  fs.mkdirSync(path.join(a.dir, 'many'));
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(a.dir, 'many', `f${i}.txt`), `file ${i}\n`);
  const count = (p: Peer) => (fs.existsSync(path.join(p.dir, 'many')) ? fs.readdirSync(path.join(p.dir, 'many')).length : 0);
  await until(() => count(b) === N && count(c) === N, `every file on B and C (B ${count(b)}, C ${count(c)})`, 120_000);
  for (let i = 0; i < N; i += 37) expect(fs.readFileSync(path.join(c.dir, 'many', `f${i}.txt`), 'utf8')).toBe(`file ${i}\n`);
  // One at a time, a burst of 200 new files took 200 re-reads of the folder.
  expect(mostC(), 'writes in flight at once on the read-only member').toBeGreaterThan(1);
  expect(mostB(), 'writes in flight at once on the writer').toBeGreaterThan(1);
}, 180_000);

/**
 * Count the files written into any folder (FolderWriter.writeFile, every daemon of this process)
 * in flight at once until `restore()`; `most()` is the most seen. Reached through the prototype:
 * a restarted daemon's first writes start inside Daemon.start, before a test could reach its writer.
 */
function writesInFlight(): { most: () => number; restore: () => void } {
  const original = Object.getOwnPropertyDescriptor(FolderWriter.prototype, 'writeFile')!;
  const write = FolderWriter.prototype.writeFile;
  let now = 0;
  let most = 0;
  FolderWriter.prototype.writeFile = async function (this: FolderWriter, ...args: Parameters<FolderWriter['writeFile']>) {
    most = Math.max(most, ++now);
    try {
      return await write.apply(this, args);
    } finally {
      now--;
    }
  };
  return { most: () => most, restore: () => Object.defineProperty(FolderWriter.prototype, 'writeFile', original) };
}

/** More files than are written at once, so that "all at once" and "several at a time" differ. */
const N = WRITES_AT_ONCE + 100;
const count = (p: Peer) => fs.readdirSync(path.join(p.dir, 'many')).length;

/** A shares README.md and `many/f0.txt`…`f<N-1>.txt`; B has joined and has every file. */
async function joinedWithMany(): Promise<{ a: Peer; b: Peer; files: Record<string, string> }> {
  const files: Record<string, string> = { 'README.md': 'x\n' };
  for (let i = 0; i < N; i++) files[`many/f${i}.txt`] = `file ${i}\n`;
  const { a, b } = await sharedPair(files);
  await until(() => count(b) === N, `every file on B (${count(b)})`, 120_000);
  return { a, b, files };
}

// Decision 180: the files a restarted daemon's folder lacks are written through the same batched
// writer as a peer's change, never all at once. A daemon killed while a join wrote 5,000 files
// left the rest to its next start, which started every write together.
it('a restarted daemon writes the files its folder lacks several at a time, never all at once', async () => {
  const { a, b, files } = await joinedWithMany();
  await stopPeer(b);
  // As a daemon killed before it wrote them leaves it: the files are not in the folder, and the
  // ledger (which records a write just before it happens) knows nothing of them.
  for (let i = 0; i < N; i++) fs.rmSync(path.join(b.dir, 'many', `f${i}.txt`));
  const forget = Array.from({ length: N }, (_, i) => JSON.stringify({ p: `many/f${i}.txt`, forget: true }) + '\n').join('');
  fs.appendFileSync(path.join(b.dir, '.chorus', 'disk', 'ledger.jsonl'), forget);
  const inFlight = writesInFlight();
  try {
    const b2 = await startPeer(b.dir, 'bob');
    await until(() => count(b2) === N, `every file back on B (${count(b2)})`, 120_000);
    for (let i = 0; i < N; i += 37) expect(fs.readFileSync(path.join(b2.dir, 'many', `f${i}.txt`), 'utf8')).toBe(`file ${i}\n`);
    expect(inFlight.most(), 'writes in flight at once').toBeGreaterThan(1);
    expect(inFlight.most(), 'writes in flight at once').toBeLessThanOrEqual(WRITES_AT_ONCE);
  } finally {
    inFlight.restore();
  }
  expect(Object.keys(files).every((f) => fs.existsSync(path.join(a.dir, f)))).toBe(true); // nothing was taken for a deletion
}, 180_000);

// Decision 180: a join's write of the whole session (Materializer.materializeAll, which writes what
// a peer's changes did not: the files of an index that was ahead of the folder) goes through the
// same batched writer. It wrote one file at a time, each behind the watcher's re-read of its
// folder. Here B's folder lacks N of the session's files that its ledger never had (as a join
// interrupted before writing them leaves it), and the join's write brings them back.
it("a join's write of the whole session writes the files several at a time", async () => {
  const { a, b, files } = await joinedWithMany();
  // The join's own writes and the watcher's look at them are over first.
  await b.daemon.writeBack.idle();
  await b.daemon.folder.settled();
  // Forgotten first, so the watcher takes their absence for files never written here (not deletions).
  for (let i = 0; i < N; i++) b.daemon.writeBack.forget(`many/f${i}.txt`);
  for (let i = 0; i < N; i++) fs.rmSync(path.join(b.dir, 'many', `f${i}.txt`));
  await b.daemon.folder.settled();
  const most = inFlight(b);
  const m = (b.daemon.session as unknown as { materializer: Materializer }).materializer;
  const progress: number[] = [];
  await m.materializeAll((done) => progress.push(done));
  expect(most(), 'writes in flight at once').toBeGreaterThan(1);
  const lacking = () => Array.from({ length: N }, (_, i) => `f${i}.txt`).filter((f) => !fs.existsSync(path.join(b.dir, 'many', f)));
  await until(() => count(b) === N, `every file back on B (lacking ${lacking().join(', ')}; ${b.lines.filter((l) => lacking().some((f) => l.includes(f))).join(' | ')})`, 20_000);
  for (let i = 0; i < N; i += 37) expect(fs.readFileSync(path.join(b.dir, 'many', `f${i}.txt`), 'utf8')).toBe(`file ${i}\n`);
  expect(progress.at(-1)).toBe(N + 1); // every file of the index, README.md too
  expect(a.daemon.workspace.index.entries().length).toBe(Object.keys(files).length); // nothing was taken for a deletion
}, 180_000);
