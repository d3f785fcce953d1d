// A peer cannot make a folder here that Git takes for a repository (decision 214): a HEAD file
// beside objects/ and refs/ folders is one, whatever its name, and git run inside it reads its
// config, which can name commands (here core.fsmonitor). Two real daemons in this process: A's
// folder holds such a folder (A's own: shared as A's files are), B joins into an empty folder.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const commit = 'a'.repeat(40);

/** Does git, run in `dir` (and looking no higher than its parent), take it for a repository? */
function gitTakesIt(dir: string): boolean {
  const r = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: dir, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) }, encoding: 'utf8' });
  if (r.error) throw r.error; // no git: the test cannot judge (CI installs it)
  return r.status === 0;
}

it("a peer's files that would make a folder a Git repository are not all written here, and the log says why", async () => {
  const files = {
    'README.md': 'hello\n',
    'tools/HEAD': 'ref: refs/heads/main\n',
    'tools/config': '[core]\n\tbare = false\n\tworktree = ..\n\tfsmonitor = touch PWNED\n',
    'tools/objects/info/packs': '\n',
    'tools/refs/heads/main': `${commit}\n`,
  };
  const { a, b } = await sharedPair(files);
  expect(gitTakesIt(path.join(a.dir, 'tools'))).toBe(true); // what A has: its own, shared as it is
  await until(() => fs.existsSync(path.join(b.dir, 'README.md')), "the session's files on B");
  await until(() => b.lines.some((l) => /tools\/\S+: the folder tools is, or with this would be, a Git repository/.test(l)), "B's refusal");
  expect(fs.existsSync(path.join(b.dir, 'tools'))).toBe(true); // the parts that make no repository alone are written
  expect(gitTakesIt(path.join(b.dir, 'tools'))).toBe(false);
  // What B did not write stays in the session: A keeps every file, and so does the index.
  expect(b.daemon.workspace.index.entries().map(([, e]) => e.path).sort()).toEqual(Object.keys(files).sort());
  for (const [rel, text] of Object.entries(files)) expect(fs.readFileSync(path.join(a.dir, rel), 'utf8')).toBe(text);
});

it('the same with a HEAD that only starts with an object id, and objects and refs as executable files (Git only asks to enter them)', async () => {
  const files = { 'lib/HEAD': `${commit}xyz\n`, 'lib/config': '[core]\n\tpager = touch PWNED\n', 'lib/objects': '', 'lib/refs': '', 'lib/ok.txt': 'ok\n' };
  const { a, b } = await sharedPair(files, {
    prepareSharer: (dir) => {
      for (const f of ['lib/objects', 'lib/refs']) fs.chmodSync(path.join(dir, f), 0o755);
    },
  });
  expect(gitTakesIt(path.join(a.dir, 'lib'))).toBe(true);
  await until(() => fs.existsSync(path.join(b.dir, 'lib/ok.txt')), "the session's files on B");
  await until(() => b.lines.some((l) => /lib\/\S+: the folder lib is, or with this would be, a Git repository/.test(l)), "B's refusal");
  expect(gitTakesIt(path.join(b.dir, 'lib'))).toBe(false);
  expect(b.daemon.workspace.index.entries().map(([, e]) => e.path).sort()).toEqual(Object.keys(files).sort());
});
