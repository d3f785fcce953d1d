/**
 * A peer's burst of new files in one folder is written several at a time (decision 177). Written
 * one by one, each write waited behind the watcher's re-read of the whole folder that the write
 * before set off: a read-only member of a session whose 5,000-file folder came back after a
 * `git stash -u` / `git stash pop` wrote four files a second, at a quarter second of CPU each
 * (a user trial). No timing here: the test counts the writes in flight at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Materializer } from '../../daemon/src/disk/materializer.js';
import { readOnlyPeer, sharedPair, stopAllPeers, until, type Peer } from '../support/disk-peers.js';

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
