// Decision 137's swap after a join, raced by another writer's `resolve` (decision 147 item 6
// found the same race for a folder): the sharer learns of the joining folder's file, finds it at
// the path of the session's file and moves one of them aside by file id, while the joiner, which
// has settled the same meeting itself, gives the path back to the session's file. A third peer's
// index changes have reached the sharer but not yet the joiner, so the sharer's move aside is
// the later of the two concurrent updates (Automerge keeps the update with the higher counter):
// a swap made by changing the old entry's path lost to it, leaving nothing at the path on every
// peer. Three Workspaces in memory, their index changes handed over by hand in the racing order.
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';

it("a join's swap of two files at one path holds against the sharer's concurrent move aside, with a third peer's changes in between (decision 137)", () => {
  let raced = 0;
  for (let trial = 0; trial < 16; trial++) {
    const sharer = peer('cd');
    const third = peer('ef');
    const joiner = peer('ab');
    const theirs = sharer.ws.addFile('notes.txt', bytes('the session has this\n'), DISK);
    deliver(third.ws, sharer.out, 'sharer');
    const mine = joiner.ws.addFile('notes.txt', bytes('this folder had this\n'), DISK);
    const joinersOwn = [...joiner.out];
    // The first sync: the joiner has the session's index (and settles the meeting itself).
    deliver(joiner.ws, sharer.out, 'sharer');
    // Meanwhile the third peer adds files; the sharer has them, the joiner not yet.
    for (let i = 0; i < 20; i++) third.ws.addFile(`t${i}.txt`, bytes(`third ${i}\n`), DISK);
    deliver(sharer.ws, third.out, 'third');
    // The sharer learns of the joiner's file and settles the meeting (resolve), at once with ...
    deliver(sharer.ws, joinersOwn, 'joiner');
    // ... the joiner giving the path back to the session's file.
    const met = joiner.ws.keepSessionVersions(new Set([mine]));
    const kept = `notes (conflict ${mine.slice(1, 7)}).txt`;
    expect(met).toMatchObject([{ path: 'notes.txt', kept }]);
    // Only a trial where `resolve` moved the session's file aside is a swap, and a race.
    if (sharer.ws.index.idOf('notes.txt') === mine) raced++;
    // Everything reaches everyone.
    const all = [...sharer.out, ...third.out, ...joiner.out];
    for (const [name, p] of Object.entries({ sharer, third, joiner })) deliver(p.ws, all, name);
    for (const p of [sharer, third, joiner]) {
      expect(p.ws.index.idOf('notes.txt')).toBe(theirs);
      expect(p.ws.index.idOf(kept)).toBe(mine);
      expect(p.ws.index.entries()).toHaveLength(22);
      p.ws.close();
    }
  }
  // File ids are random: both outcomes of `resolve` come up in 16 trials (1 in 32768 not).
  expect(raced).toBeGreaterThan(0);
});
