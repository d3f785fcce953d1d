// An editor opens a file its own program has just made in the folder, before the daemon's watcher
// has taken it in, and the program then writes the file's text: VS Code's Save As creates the new
// file empty, opens it, copies the text in and saves it. A trial found that text taken for a file
// created on a peer at the same path ("fmt-copy.txt was created on two peers at once; the other
// version is kept as fmt-copy (conflict ff5626).txt", on both peers) though only A made it: the
// open made the file from the bytes it read, so the folder had no history of it, and its next
// version looked like a second create (decision 201).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

it('a file made empty in the folder, opened by an editor at once, then written: one file on both peers, with that text, no conflict copy', async () => {
  const { a, b } = await sharedPair({ 'fmt.txt': 'line one\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const file = path.join(a.dir, 'fmt-copy.txt');
  fs.writeFileSync(file, '');
  // At once, as VS Code does: before the watcher's take-in (it waits for the file to settle).
  expect(await ea.open('fmt-copy.txt', '', '')).toBe('');
  const text = 'line one\nbefore save-as\n';
  fs.writeFileSync(file, text);
  await until(() => folderFiles(b.dir)['fmt-copy.txt'] === text, "B's folder to have fmt-copy.txt", 30000);
  const files = await converged(a, b);
  await new Promise((r) => setTimeout(r, 1500)); // a late take-in would have made its copy by now
  expect(Object.keys(await converged(a, b)).sort()).toEqual(['fmt-copy.txt', 'fmt.txt']);
  expect(files['fmt-copy.txt']).toBe(text);
  expect(a.lines.filter((l) => /two peers|conflict/.test(l))).toEqual([]);
  // The editor follows the file's text, as its own change from the folder.
  await ea.waitFor(() => ea.text('fmt-copy.txt') === text, 'the editor to have the text');
});
