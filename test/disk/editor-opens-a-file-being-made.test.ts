// An editor opens a file its own program has just made in the folder, before the daemon's watcher
// has taken it in, and the program then writes the file's text: VS Code's Save As creates the new
// file empty, opens it, copies the text in and saves it. A trial found that text taken for a file
// created on a peer at the same path ("fmt-copy.txt was created on two peers at once; the other
// version is kept as fmt-copy (conflict ff5626).txt", on both peers) though only A made it: the
// open made the file from the bytes it read, so the folder had no history of it, and its next
// version looked like a second create (decision 201). And when the open's own take-in of the file
// left it for later (the file changed or went while it was read), the open still made it from the
// editor's text: the same false "created on two peers at once" (CI, vscode/save-as; decision 212).
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

it('a file a tool keeps replacing while an editor opens it: the open waits it out and takes it in from the folder; no conflict copy', async () => {
  const { a, b } = await sharedPair({ 'fmt.txt': 'line one\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const file = path.join(a.dir, 'draft.txt');
  fs.writeFileSync(file, 'version 0\n');
  // A tool saving it again and again the way many do: the old file moved aside, a new one written
  // (so the path is missing for a moment, and the file is a new inode each time), every 50 ms for
  // 2 s. Every look of the open's first take-in finds it changed or gone, and leaves it for later.
  let saving = true;
  let n = 0;
  let third!: () => void;
  const thirdSave = new Promise<void>((r) => (third = r));
  const tool = (async () => {
    while (saving) {
      fs.renameSync(file, `${file}~`);
      await new Promise((r) => setTimeout(r, 15));
      fs.writeFileSync(file, `version ${++n}\n`);
      fs.rmSync(`${file}~`);
      if (n === 3) third();
      await new Promise((r) => setTimeout(r, 35));
    }
  })();
  // The editor opens it right after a save, as VS Code opens a file it just wrote (one missing
  // when the open looks is made from the editor's text: decision 212, "Not covered"). Its
  // document is empty, as VS Code's is when it opens a file it just created.
  await thirdSave;
  const opening = ea.open('draft.txt', '', '');
  await new Promise((r) => setTimeout(r, 2000));
  saving = false;
  await tool;
  const last = `version ${n}\n`;
  // Answered with the folder's text (the tool's last save, or one just before it, followed next).
  expect(await opening).toMatch(/^version \d+\n$/);
  await until(() => folderFiles(b.dir)['draft.txt'] === last, "B's folder to have the tool's last save", 30000);
  await new Promise((r) => setTimeout(r, 1500)); // a late take-in would have made its copy by now
  const files = await converged(a, b);
  expect(Object.keys(files).sort()).toEqual(['draft.txt', 'fmt.txt']);
  expect(files['draft.txt']).toBe(last);
  expect([...a.lines, ...b.lines].filter((l) => /two peers|conflict/.test(l))).toEqual([]);
  await ea.waitFor(() => ea.text('draft.txt') === last, 'the editor to have the last save');
});
