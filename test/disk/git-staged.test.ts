// isStagedVersion (decision 223): a rewrite that puts Git's staged version back is known as such;
// recentlyStashed (decision 261): what the newest `git stash` read of a file, if it was made just now.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { gitBlobId, isStagedVersion, recentlyStashed } from '../../daemon/src/disk/git-staged.js';
import { tempDir } from '../support/project-dir.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });

it("a blob's id is git hash-object's", () => {
  const dir = tempDir('chorus-git-staged-');
  dirs.push(dir);
  const bytes = Buffer.from('one\ntwo\n\u00e9\0binary\n');
  fs.writeFileSync(path.join(dir, 'f'), bytes);
  expect(gitBlobId(bytes)).toBe(git(dir, 'hash-object', 'f').trim());
});

it('the staged version of a tracked file is known; other content, untracked files and folders outside a repository are not', () => {
  const dir = tempDir('chorus-git-staged-');
  dirs.push(dir);
  expect(isStagedVersion(dir, 'f.md', Buffer.from('x'))).toBe(false); // no repository
  git(dir, 'init', '-q');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'f.md'), 'committed\n');
  fs.writeFileSync(path.join(dir, '-n'), 'dash\n');
  git(dir, 'add', '--', 'sub/f.md', '-n');
  expect(isStagedVersion(dir, 'sub/f.md', Buffer.from('committed\n'))).toBe(true);
  expect(isStagedVersion(dir, 'sub/f.md', Buffer.from('committed\nand typed\n'))).toBe(false);
  expect(isStagedVersion(dir, '-n', Buffer.from('dash\n'))).toBe(true); // a name git could take for an option
  expect(isStagedVersion(dir, 'untracked.md', Buffer.from(''))).toBe(false);
  expect(isStagedVersion(dir, 'sub', Buffer.from('committed\n'))).toBe(false); // a folder: its files, not one version
});

it("the newest stash's copy of a file is what git read, when that stash was made near the time asked; not otherwise", () => {
  const dir = tempDir('chorus-git-staged-');
  dirs.push(dir);
  const now = Date.now();
  expect(recentlyStashed(dir, 'sub/f.md', now, 3000)).toBeUndefined(); // no repository
  git(dir, 'init', '-q');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'f.md'), 'committed\n');
  fs.writeFileSync(path.join(dir, 'sub', 'g.md'), 'other\n');
  git(dir, 'add', '--', 'sub');
  git(dir, 'commit', '-q', '-m', 'c');
  expect(recentlyStashed(dir, 'sub/f.md', now, 3000)).toBeUndefined(); // no stash
  fs.writeFileSync(path.join(dir, 'sub', 'f.md'), 'committed\n\u00e9 typed\n');
  git(dir, 'stash', '-q');
  const at = Date.now();
  expect(Buffer.from(recentlyStashed(dir, 'sub/f.md', at, 3000)!).toString('utf8')).toBe('committed\n\u00e9 typed\n');
  expect(Buffer.from(recentlyStashed(dir, 'sub/g.md', at, 3000)!).toString('utf8')).toBe('other\n'); // unchanged: the stash has it as committed
  expect(recentlyStashed(dir, 'sub/none.md', at, 3000)).toBeUndefined();
  // A stash made long before (or after) the rewrite is not what that rewrite read.
  expect(recentlyStashed(dir, 'sub/f.md', at + 60_000, 3000)).toBeUndefined();
  expect(recentlyStashed(dir, 'sub/f.md', at - 60_000, 3000)).toBeUndefined();
  // The project may be a folder inside the repository: paths are the project's.
  expect(Buffer.from(recentlyStashed(path.join(dir, 'sub'), 'f.md', at, 3000)!).toString('utf8')).toBe('committed\n\u00e9 typed\n');
});
