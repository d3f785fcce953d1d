// A join into a copy of the project, old conflict copy and all (decision 147): peers a and b once
// made both.txt a file and a folder at once; the folder kept the path and a's file became
// `both (conflict <its id>).txt`. A third folder with those very files joins. `resolve` keeps one
// of each pair of same-content files by id order; where the joiner's own file won inside
// both.txt, `keepSessionFilesOverFolders` took the old clash for one this join caused and gave
// the old file back the path, setting the session's folder aside on every peer. Workspaces in
// memory, their index changes handed over by hand; trials until the ids fall in that order.
import { expect, it } from 'vitest';
import { bytes, deliver, DISK, peer } from '../support/index-peers.js';

// `settledFirst`: the sharer learns of the joiner's files and settles the ties before the joiner
// has the session's index, so the session's files that lost never reach the joiner's index.
it.each([
  ['with the old conflict copy', true, false],
  ['with only the folder', false, false],
  ['with the old conflict copy, ties settled by the sharer first', true, true],
])("a join of a copy of the project (%s) leaves the session's old file/folder conflict as it is, whichever ids win (decision 147)", (_, withCopy, settledFirst) => {
  let trials = 0;
  for (;;) {
    trials++;
    expect(trials, 'the ids never fell in the order that shows the fault').toBeLessThan(400);
    const a = peer('cd');
    const b = peer('ef');
    a.ws.addFile('both.txt', bytes('a file\n'), DISK);
    b.ws.addFile('both.txt/inner.txt', bytes('in a folder\n'), DISK);
    deliver(a.ws, b.out, 'b');
    deliver(b.ws, a.out, 'a');
    deliver(a.ws, b.out, 'b');
    const old = a.ws.index.entries().find(([, e]) => e.path.startsWith('both (conflict '));
    expect(old, JSON.stringify(a.ws.index.entries())).toBeDefined();
    const [oldId, { path: copy }] = old!;
    const inner = b.ws.index.idOf('both.txt/inner.txt')!;
    // The joining folder: the session's very files.
    const c = peer('ab');
    const mineInner = c.ws.addFile('both.txt/inner.txt', bytes('in a folder\n'), DISK);
    const mineCopy = withCopy ? c.ws.addFile(copy, bytes('a file\n'), DISK) : undefined;
    // The order that showed the fault: the joiner's file wins in the folder, the session's copy stays.
    if (!(mineInner < inner && (mineCopy === undefined || oldId < mineCopy))) {
      for (const p of [a, b, c]) p.ws.close();
      continue;
    }
    const preJoin = new Set(mineCopy === undefined ? [mineInner] : [mineInner, mineCopy]);
    const preJoinDirs = new Set(['both.txt']);
    if (settledFirst) deliver(a.ws, c.out, 'c');
    deliver(c.ws, [...a.out, ...b.out], 'a');
    if (settledFirst) expect(c.ws.index.removedEntry(inner)).toBeUndefined(); // never seen here
    c.ws.keepSessionVersions(preJoin);
    const moved: string[] = [];
    const met = c.ws.keepSessionFilesOverFolders(preJoin, preJoinDirs, {
      isFolder: () => true,
      move: (from, to) => (moved.push(`${from} -> ${to}`), true),
    });
    expect(met).toEqual([]);
    expect(moved).toEqual([]);
    expect(c.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(['both.txt/inner.txt', copy].sort());
    expect(c.ws.index.idOf(copy)).toBe(oldId);
    // Every peer, once everything reaches everyone, still has the folder at both.txt.
    const all = [...a.out, ...b.out, ...c.out];
    for (const [name, p] of Object.entries({ a, b, c })) deliver(p.ws, all, name);
    for (const p of [a, b, c]) {
      expect(p.ws.index.entries().map(([, e]) => e.path).sort()).toEqual(['both.txt/inner.txt', copy].sort());
      p.ws.close();
    }
    break;
  }
});
