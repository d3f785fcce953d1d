// `git stash` reads the file, saves what it read in the stash, then puts the committed version
// back. A write-back of the daemon's that landed between the read and the reset (a peer's typing)
// was taken out with the rest: the reset's take-in was diffed from the folder's newest content,
// which the stash never saw, so those keys were in neither the stash nor the file. Stop 56 saw it
// once in ~60 runs of disk/stash-while-two-type (~30 characters of each typist). Done here in
// git's own steps, so that the write-back lands between them every time: `git stash create` (the
// read and the save), the write-back, `git stash store`, `git reset --hard` (what `git stash`
// does, in that order).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });

const committed = 'one\ntwo\nthree\n';

for (const [what, first, second] of [
  ['a line', 'abc\n', 'def\n'],
  ['the same line', 'abc', ' def'],
] as const) {
  it(`git stash while a peer's typing is written between its read and its reset keeps what came after the read, typed on ${what}`, async () => {
    const { a, b } = await sharedPair(
      { 'f.md': committed },
      {
        prepareSharer: (dir) => {
          git(dir, 'init', '-q', '-b', 'main');
          git(dir, 'add', 'f.md');
          git(dir, 'commit', '-q', '-m', 'f');
        },
      },
    );
    await converged(a, b, 'the first sync');
    const fa = path.join(a.dir, 'f.md');
    const fb = path.join(b.dir, 'f.md');
    const at = 'one\ntwo\n'.length;
    // Bob types on B; A's daemon writes it into A's folder (a git repository).
    const eb = await editor(b.daemon.project.socketPath);
    await eb.open('f.md');
    await eb.edit('f.md', at, at, first);
    const read1 = `one\ntwo\n${first}three\n`;
    await until(() => read(fa) === read1, "Bob's first keys in A's folder");
    // git reads the file and saves it: the stash's commit.
    const stash = git(a.dir, 'stash', 'create').trim();
    expect(stash).toMatch(/^[0-9a-f]{40}$/);
    // Bob types on; A's daemon writes that before git's reset.
    await eb.edit('f.md', at + first.length, at + first.length, second);
    await until(() => read(fa) === `one\ntwo\n${first}${second}three\n`, "Bob's next keys in A's folder");
    git(a.dir, 'stash', 'store', '-q', '-m', 'WIP', stash);
    git(a.dir, 'reset', '--hard', '-q');
    // The stash took what it read; what came after stays, everywhere.
    const expected = `one\ntwo\n${second}three\n`;
    const ws = a.daemon.workspace;
    const id = ws.index.idOf('f.md')!;
    await until(() => read(fa) === expected && read(fb) === expected && eb.text('f.md') === expected, 'the stash taken out and the later keys kept, everywhere', 15_000).catch(() => undefined);
    expect({ a: read(fa), b: read(fb), shared: ws.text(id), bob: eb.text('f.md') }).toEqual({ a: expected, b: expected, shared: expected, bob: expected });
    expect(git(a.dir, 'show', 'stash@{0}:f.md')).toBe(read1);
    await new Promise((r) => setTimeout(r, 1500));
    expect({ a: read(fa), b: read(fb) }).toEqual({ a: expected, b: expected });
  }, 60_000);
}
