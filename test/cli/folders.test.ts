// Issue #12 item 13: folders are shared as people see them. Before, `mkdir projB/emptydir` never
// reached A, and when the last file of a folder was deleted on A, B removed the folder but A kept it.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import * as A from '@automerge/automerge/next';
import { FileIndex } from '../../daemon/src/workspace/file-index.js';
import { chorus, joinedPair, listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const folders = (dir: string) => listTree(dir, 'folder');
const until = (what: string, cond: () => boolean) => waitUntil(what, cond);

const pair = (files: Record<string, string>) => joinedPair(files, used);

it('an empty folder made on one peer appears on the other, and removing it removes it everywhere', async () => {
  const { a, b } = pair({ 'top.txt': 'top\n', 'sub/f.txt': 'f\n', 'empty/.keep-me-not': '' });
  fs.rmSync(path.join(a, 'empty', '.keep-me-not'));
  await until('the emptied folder to stay on both', () => !fs.existsSync(path.join(b, 'empty', '.keep-me-not')));
  expect(folders(b)).toEqual(['empty', 'sub']);
  expect(folders(a)).toEqual(['empty', 'sub']);

  fs.mkdirSync(path.join(b, 'emptydir', 'deeper'), { recursive: true });
  await until("B's new empty folders on A", () => fs.existsSync(path.join(a, 'emptydir', 'deeper')));

  // The last file of a folder deleted on A: the folder stays on both, as it does on A.
  fs.rmSync(path.join(a, 'sub', 'f.txt'));
  await until('the file to go on B', () => !fs.existsSync(path.join(b, 'sub', 'f.txt')));
  await new Promise((r) => setTimeout(r, 1000)); // any folder removal would have followed the file's
  expect(folders(b)).toEqual(['empty', 'emptydir', 'emptydir/deeper', 'sub']);
  expect(folders(a)).toEqual(['empty', 'emptydir', 'emptydir/deeper', 'sub']);

  fs.rmdirSync(path.join(a, 'sub'));
  fs.rmSync(path.join(b, 'emptydir'), { recursive: true });
  await until('both removals on both peers', () => folders(a).join() === 'empty' && folders(b).join() === 'empty');

  // They stay so across restarts (the index remembers the folders, and the folder scan agrees).
  for (const d of [a, b]) expect(chorus(['stop', d]).status).toBe(0);
  const st = chorus(['share', a, '--host', '127.0.0.1']);
  expect(st.status).toBe(0);
  expect(folders(a)).toEqual(['empty']);
});

it('never removes a folder that still holds files a peer does not share', async () => {
  const { a, b } = pair({ '.gitignore': '*.log\n', 'logs/readme.txt': 'logs go here\n' });
  fs.writeFileSync(path.join(a, 'logs', 'run.log'), 'private to A\n'); // ignored: never shared
  await until('logs/ on B', () => fs.existsSync(path.join(b, 'logs', 'readme.txt')));
  expect(fs.existsSync(path.join(b, 'logs', 'run.log'))).toBe(false);
  fs.rmSync(path.join(b, 'logs'), { recursive: true });
  await until('the shared file to go on A', () => !fs.existsSync(path.join(a, 'logs', 'readme.txt')));
  // A keeps its unshared file and the folder, and the folder stays shared: it comes back on B.
  await until('logs/ back on B, empty', () => fs.existsSync(path.join(b, 'logs')));
  expect(fs.readFileSync(path.join(a, 'logs', 'run.log'), 'utf8')).toBe('private to A\n');
  expect(fs.readdirSync(path.join(b, 'logs'))).toEqual([]);
  const log = fs.readFileSync(path.join(a, '.chorus', 'daemon.log'), 'utf8');
  expect(log).toContain('kept the folder logs a peer removed: it still holds files that are not shared');
});

it("refuses a peer's folder whose path path-rules forbid", () => {
  // A peer writes `dirs` directly into the index doc: VCS metadata, escapes and absolute paths.
  let doc = A.from<{ files: Record<string, unknown>; dirs: Record<string, { path: string }> }>({ files: {}, dirs: {} });
  doc = A.change(doc, (d) => {
    d.dirs['d1'] = { path: 'src/lib' };
    d.dirs['d2'] = { path: 'vendor/.git/hooks' };
    d.dirs['d3'] = { path: '../outside' };
    d.dirs['d4'] = { path: '/etc' };
    d.dirs['d5'] = { path: '.chorus' };
  });
  const index = new FileIndex(A.save(doc), [], 'ab'.repeat(16));
  expect(index.dirs()).toEqual(['src/lib']);
  expect(index.refused().map(([id]) => id).sort()).toEqual(['d2', 'd3', 'd4', 'd5']);
});

it('joining into a folder that has a different file at a path the session has keeps both, and join says so', async () => {
  const a = tempProject({ 'hello.txt': 'the session has this\n' });
  used.push(a);
  const b = tempProject({ 'hello.txt': 'this folder had this\n', 'own.txt': 'mine\n' });
  used.push(b);
  const join = chorus(['join', shareCode(a), b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  const said = /hello\.txt: this folder had another version; the session's keeps the path, this folder's is kept as (hello \(conflict \w+\)\.txt)/.exec(join.stdout);
  expect(said, join.stdout).not.toBeNull();
  const copy = said![1]!;
  // Both versions on both peers: the session's at the path (decision 137: it used to be either,
  // by file id), this folder's at the copy the message names.
  for (const d of [a, b]) {
    await until(`both versions in ${d}`, () => fs.existsSync(path.join(d, copy)) && fs.existsSync(path.join(d, 'own.txt')) && fs.readFileSync(path.join(d, 'hello.txt'), 'utf8') === 'the session has this\n');
    expect(fs.readFileSync(path.join(d, copy), 'utf8')).toBe('this folder had this\n');
    expect(fs.readdirSync(d).filter((f) => f.includes('conflict'))).toEqual([copy]);
  }
});
