// Files git's exclude files keep out, through the real path a file takes (the watcher's take-in,
// then peers): a nested repository's `.git/info/exclude` (a trial: its files reached peers, 3 of
// 3), and a rule added to the project's `.git/info/exclude` while the daemon runs, the file made
// at once after it (2 of 2: shared, and shared for good, since a later rule does not unshare).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it("files git's exclude files keep out, a nested repository's or a rule added while running, never reach a peer", async () => {
  const { a, b } = await sharedPair({ 'a.txt': 'a\n' }, { prepareSharer: (dir) => {
    fs.mkdirSync(path.join(dir, '.git/info'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.git/info/exclude'), '# local\n');
    fs.mkdirSync(path.join(dir, 'lib/nested/.git/info'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lib/nested/.git/info/exclude'), 'nested-secret.txt\n');
    fs.writeFileSync(path.join(dir, 'lib/nested/code.js'), 'code\n');
  } });
  await converged(a, b, 'the first sync');
  fs.writeFileSync(path.join(a.dir, 'lib/nested/nested-secret.txt'), 'NESTED SECRET\n');
  fs.appendFileSync(path.join(a.dir, '.git/info/exclude'), 'outer-secret.txt\n');
  fs.writeFileSync(path.join(a.dir, 'outer-secret.txt'), 'OUTER SECRET\n');
  // A file made after them, which is shared: once it is on B, A has looked at the others.
  await new Promise((r) => setTimeout(r, 100));
  fs.writeFileSync(path.join(a.dir, 'after.txt'), 'shared\n');
  await until(() => folderFiles(b.dir)['after.txt'] === 'shared\n', 'the file made after them to reach B');
  await new Promise((r) => setTimeout(r, 1500));
  const onB = folderFiles(b.dir);
  expect(Object.keys(onB).sort()).toEqual(['a.txt', 'after.txt', 'lib/nested/code.js']);
  expect(a.daemon.workspace.index.idOf('outer-secret.txt')).toBeUndefined();
  expect(a.daemon.workspace.index.idOf('lib/nested/nested-secret.txt')).toBeUndefined();
});
