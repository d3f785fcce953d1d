/**
 * A read-only member's own new file at a path a writer then creates (decision 177): the folder
 * gets the session's version, the member's is kept in .chorus/kept, and the log says where. It
 * was left in the folder silently (the log said it would be "taken in like any edit", which a
 * read-only member never does) while editors opened the session's version.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readOnlyPeer, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it("a read-only member's own new file gives way to a writer's file at its path, kept in .chorus/kept", async () => {
  const { a, b } = await sharedPair({ 'README.md': 'x\n' });
  const c = await readOnlyPeer(a);
  fs.writeFileSync(path.join(c.dir, 'newro.txt'), 'ro local work\n');
  await until(() => c.lines.some((l) => l.includes('not sharing the change of newro.txt')), "C's take-in refusing newro.txt");
  fs.writeFileSync(path.join(b.dir, 'newro.txt'), 'writer content\n');
  const kept = path.join(c.dir, '.chorus', 'kept');
  await until(() => fs.readFileSync(path.join(c.dir, 'newro.txt'), 'utf8') === 'writer content\n', "the session's newro.txt in C's folder", 60_000).catch((e: Error) => {
    console.log(c.lines.filter((l) => !l.startsWith('net')));
    throw e;
  });
  const copies = fs.readdirSync(kept).filter((f) => f.startsWith('newro.txt.'));
  expect(copies.map((f) => fs.readFileSync(path.join(kept, f), 'utf8'))).toContain('ro local work\n');
  expect(c.lines.some((l) => /kept your unshared change of newro\.txt as .*\.chorus\/kept\/newro\.txt\./.test(l))).toBe(true);
  expect(c.lines.some((l) => l.includes('taken in like any edit'))).toBe(false);
}, 120_000);
