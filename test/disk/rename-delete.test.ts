// A file one peer deletes while another, offline, renames it: a rename is an intent to keep the
// file, so the renamed file survives on every peer, and the log says so (decision 148).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, sharedPair, startPeer, stopAllPeers, stopPeer, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it('a file renamed on an offline peer while the other deleted it is kept, renamed, everywhere, and logged', async () => {
  const { a, b } = await sharedPair({ 'ren.txt': 'keep me\n', 'other.txt': 'o\n' });
  await converged(a, b, 'the first sync');
  await stopPeer(b);
  fs.renameSync(path.join(b.dir, 'ren.txt'), path.join(b.dir, 'renamed-by-b.txt'));
  fs.rmSync(path.join(a.dir, 'ren.txt'));
  await until(() => !a.daemon.workspace.index.idOf('ren.txt'), 'A to take in its deletion');
  const b2 = await startPeer(b.dir, 'bob');
  await until(() => fs.existsSync(path.join(a.dir, 'renamed-by-b.txt')), "B's renamed file on A");
  const files = await converged(a, b2, 'both folders to settle');
  await new Promise((r) => setTimeout(r, 2000)); // a late removal would follow the merge
  const after = await converged(a, b2, 'both folders to stay settled');
  expect(after).toEqual(files);
  expect(Object.keys(after).sort()).toEqual(['other.txt', 'renamed-by-b.txt']);
  expect(after['renamed-by-b.txt']).toBe('keep me\n');
  expect(b2.lines.some((l) => l.includes('kept renamed-by-b.txt'))).toBe(true);
});

// The user trial's fault: the rename mark never expired, so a deletion made *after* the peer had
// seen the rename was undone on the renaming peer (the file came back everywhere as a new file)
// and a second `rm` was needed. A deletion that saw the rename removes the file (decision 148).
it('a file renamed on one peer and then deleted on another that saw the rename is gone everywhere', async () => {
  const { a, b } = await sharedPair({ 'x.txt': 'rename me\n', 'other.txt': 'o\n' });
  await converged(a, b, 'the first sync');
  fs.renameSync(path.join(a.dir, 'x.txt'), path.join(a.dir, 'y.txt'));
  await until(() => fs.existsSync(path.join(b.dir, 'y.txt')) && !fs.existsSync(path.join(b.dir, 'x.txt')), 'the rename on B');
  await converged(a, b, 'both folders to hold the renamed file');
  fs.rmSync(path.join(b.dir, 'y.txt'));
  await until(() => !fs.existsSync(path.join(a.dir, 'y.txt')), "B's deletion on A");
  await new Promise((r) => setTimeout(r, 2000)); // a file kept and shared again would be back by now
  const after = await converged(a, b, 'both folders to stay settled');
  expect(Object.keys(after)).toEqual(['other.txt']);
  expect(a.lines.some((l) => l.includes('kept y.txt'))).toBe(false);
});
