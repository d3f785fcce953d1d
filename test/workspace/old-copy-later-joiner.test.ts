// A trial (decision 218, "Still open"): s2 joined with its own doc.md and was told its version is
// kept as `doc (conflict <tag>).md`. The sharer then renamed doc.md (`git mv`). A third folder
// with a doc.md of its own joined: its file was moved to `doc (conflict …).md` though the session
// had no doc.md any more, the join listed no conflict, and s2's copy was moved back to doc.md, so
// the name s2's person was given no longer existed. `keepSessionVersions` took the old copy for
// one this join's clash had just made (it has the very name `resolve` gives), and swapped.
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';

it("a later joiner's file at the path an old conflict copy came from keeps its path; the old copy stays where its person was told it is", () => {
  const a = peer('cd');
  a.ws.addFile('doc.md', bytes('A content\n'), DISK);
  // s2 joins with its own doc.md: one of the two is kept beside the other, the session's at doc.md.
  const b = peer('ef');
  const mine = b.ws.addFile('doc.md', bytes('B content\n'), DISK);
  deliver(b.ws, a.out, 'a');
  b.ws.keepSessionVersions(new Set([mine]));
  deliver(a.ws, b.out, 'b');
  deliver(b.ws, a.out, 'a');
  const copy = b.ws.pathOf(mine)!;
  expect(copy).toMatch(/^doc \(conflict [0-9a-f]+\)\.md$/);
  expect(a.ws.pathOf(mine)).toBe(copy);
  // The sharer renames its doc.md.
  a.ws.rename('doc.md', 'arch.md', DISK);
  deliver(b.ws, a.out, 'a');
  // A third folder joins with a doc.md of its own.
  const c = peer('ab');
  const theirs = c.ws.addFile('doc.md', bytes('C content\n'), DISK);
  deliver(c.ws, [...a.out, ...b.out], 'a');
  const met = c.ws.keepSessionVersions(new Set([theirs]));
  expect(met).toEqual([]);
  expect(c.ws.pathOf(theirs)).toBe('doc.md');
  expect(c.ws.pathOf(mine)).toBe(copy);
  // Every peer, once everything reaches everyone, agrees.
  const all = [...a.out, ...b.out, ...c.out];
  for (const [name, p] of Object.entries({ a, b, c })) deliver(p.ws, all, name);
  for (const p of [a, b, c]) {
    expect(p.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(['arch.md', copy, 'doc.md'].sort());
    expect(p.ws.pathOf(mine)).toBe(copy);
  }
  for (const p of [a, b, c]) p.ws.close();
});
