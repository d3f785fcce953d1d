// A file opened in an editor, not typed in, then deleted, came back on both peers after the link
// between them dropped and came back (user trial in VS Code: click del.txt in the Explorer, press
// Delete; at the reconnect "kept del.txt: it was deleted on one side while being edited on
// another"). Opening made the file's text live on A with its deterministic initial change, which
// reaches peers only in a sync round; B, which had seen the deletion and never held that text,
// took the initial change as an edit the deletion never saw.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it('a file opened in an editor with nothing typed, then deleted, stays deleted when the peers sync again', async () => {
  const { a, b } = await sharedPair({ 'del.txt': 'old content\n', 'keep.txt': 'keep\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(a.daemon.project.socketPath, { name: 'ann-editor' });
  expect(await ed.open('del.txt')).toBe('old content\n'); // live on A now; nothing typed
  ed.close();
  fs.rmSync(path.join(a.dir, 'del.txt'));
  await until(() => !fs.existsSync(path.join(b.dir, 'del.txt')), 'the deletion on B');
  // The link drops and comes back: a sync round, in which A offers every document it holds.
  const synced = () => b.lines.filter((l) => /peer \S+ connected; syncing/.test(l)).length;
  const before = synced();
  a.daemon.session.network!.dropLinks(b.daemon.identity.id, 'test drop');
  await until(() => synced() > before, 'B to sync with A again');
  // A round trip through both daemons shows the sync round is over and nothing else is coming.
  fs.writeFileSync(path.join(b.dir, 'later-b.txt'), 'b\n');
  await until(() => fs.existsSync(path.join(a.dir, 'later-b.txt')), 'later-b.txt on A');
  fs.writeFileSync(path.join(a.dir, 'later-a.txt'), 'a\n');
  await until(() => fs.existsSync(path.join(b.dir, 'later-a.txt')), 'later-a.txt on B');
  await new Promise((r) => setTimeout(r, 1000)); // a file brought back would be written by now
  const after = await converged(a, b, 'both folders to stay settled');
  expect(Object.keys(after).sort()).toEqual(['keep.txt', 'later-a.txt', 'later-b.txt']);
  // B says once that A's deletion moved its copy aside (decision 207), and nothing else of del.txt:
  // no "kept del.txt" (brought back), no second move.
  expect(b.lines.filter((l) => l.includes('del.txt'))).toEqual([expect.stringMatching(/^.* deleted a file that was in this folder \(del\.txt\).*\.chorus\/deleted\//)]);
  expect(a.lines.filter((l) => /del\.txt is back/.test(l))).toEqual([]);
}, 120_000);
