// A peer's rename arrives while this folder has a file of its own at the new name that its
// watcher has not taken in yet (made a moment ago: the watcher reads a changed folder about once
// a second). The materializer moved the session's file onto that path with one rename, which
// replaces whatever is there: the person's file was gone, with no copy and no word (defence in
// depth noted in decision 228; a write looks first, a move did not). It must be kept, and said.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

/** Every file under `dir`, `.chorus/kept/` included, as path → text. */
function everyText(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

it("a peer's rename onto a path where this folder has a file not shared yet keeps that file and says where", async () => {
  const { a, b } = await sharedPair({ 'x.txt': 'the shared file\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const aId = a.daemon.identity.id;
  b.net.hold(aId);
  fs.renameSync(path.join(b.dir, 'x.txt'), path.join(b.dir, 'y.txt'));
  await until(() => b.daemon.workspace.index.idOf('y.txt') !== undefined, 'B to take its rename in');
  const mine = 'MINE: written on A a moment before the rename came\n';
  fs.writeFileSync(path.join(a.dir, 'y.txt'), mine);
  b.net.release(aId);
  await until(() => a.daemon.workspace.index.idOf('x.txt') === undefined, 'A to have the rename');
  await converged(a, b, 'both folders to settle');
  // Wherever it ended up (kept aside, or beside the session's as a conflict copy if A's watcher
  // was first), the text A's person wrote is still in A's folder.
  expect(everyText(a.dir).filter((t) => t === mine), JSON.stringify(folderFiles(a.dir))).toHaveLength(1);
  expect(folderFiles(a.dir)['y.txt']).toBe('the shared file\n');
  const told = a.lines.filter((l) => l.includes('y.txt') && (l.includes('kept in .chorus/kept/') || l.includes('(conflict ')));
  expect(told, a.lines.join('\n')).not.toHaveLength(0);
});
