// A new-user trial (trial 219's fault 8, again in trial 222): Alice types a line in her editor,
// then in a shell `echo more >> f.md`, and half a second later `git checkout -- f.md`. Both
// folders ended as `one two three more`: the checkout took Alice's line out but kept "more", and
// nothing said so. The take-in of the checkout chose, as the content git had changed, the one
// before the append (the daemon's write of Alice's line): decision 148 lets an older content be
// the base when a tool may have read the file before a write of the daemon's landed. But the
// newest content was the append, put there by a tool, not by the daemon: no write of the daemon's
// came between, so the checkout was made on the append, and must take it out too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, stdio: 'pipe' });

const committed = 'one\ntwo\nthree\n';

/** Two peers sharing `f.md`, committed in A's folder (a git repository), and Alice's editor on A with it open. */
async function committedScene() {
  const { a, b } = await sharedPair({ 'f.md': committed });
  await converged(a, b, 'the first sync');
  git(a.dir, 'init', '-q');
  git(a.dir, 'add', 'f.md');
  git(a.dir, 'commit', '-q', '-m', 'f');
  const ws = a.daemon.workspace;
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('f.md');
  return { a, fa: path.join(a.dir, 'f.md'), fb: path.join(b.dir, 'f.md'), ws, id: ws.index.idOf('f.md')!, ea };
}

/** `git checkout -- f.md` in A's folder; then the committed text must be everywhere, and stay. */
async function checkoutPutsBackCommitted({ a, fa, fb, ws, id, ea }: Awaited<ReturnType<typeof committedScene>>): Promise<void> {
  git(a.dir, 'checkout', '--', 'f.md');
  await until(() => read(fa) === committed && read(fb) === committed && ws.text(id) === committed, 'the committed text everywhere', 15_000).catch(() => undefined);
  expect({ a: read(fa), b: read(fb), shared: ws.text(id) }).toEqual({ a: committed, b: committed, shared: committed });
  await ea.waitFor(() => ea.text('f.md') === committed, "Alice's editor to show the committed text");
  await new Promise((r) => setTimeout(r, 1500));
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: committed, b: committed });
  expect(git(a.dir, 'status', '--porcelain', 'f.md').toString()).toBe('');
}

it("git checkout -- f just after `echo >> f`, after typing in an editor, puts the committed file back everywhere (a trial's fault)", async () => {
  const scene = await committedScene();
  const { fa, ws, id, ea } = scene;
  // Alice types a line (no save): the daemon writes it into the folder.
  await ea.edit('f.md', committed.length, committed.length, 'alice typed\n');
  await until(() => read(fa) === `${committed}alice typed\n`, "Alice's line in A's folder");
  // A tool appends in place, and is taken in.
  fs.appendFileSync(fa, 'more\n');
  await until(() => ws.text(id) === `${committed}alice typed\nmore\n`, 'the append taken in');
  await new Promise((r) => setTimeout(r, 500));
  await checkoutPutsBackCommitted(scene);
}, 60_000);

it("git checkout -- f after an `echo >> f` that came before the daemon wrote the person's typing puts the committed file back everywhere (the same trial, F2)", async () => {
  // The append lands before the write-back of the typing: the daemon writes the merged text, and
  // the checkout's take-in found the append's content (the one before that write) closest to the
  // committed text, so it took out only the append and kept the typing (8 of 8 in the trial).
  const scene = await committedScene();
  const { a, fa, ws, id, ea } = scene;
  await ea.edit('f.md', committed.length, committed.length, 'alice typed\n');
  fs.appendFileSync(fa, 'more\n'); // before the write-back of the typing (it waits for 100 ms of quiet)
  // Both lines in the folder, written by the daemon (in the order the merge put them).
  await until(() => read(fa).includes('alice typed\n') && read(fa).includes('more\n') && read(fa) === ws.text(id), "the daemon's write of the typing and the append").catch((e: Error) => {
    throw new Error(`${e.message}: A's folder ${JSON.stringify(read(fa))}, shared ${JSON.stringify(ws.text(id))}; A's log: ${a.lines.slice(-8).join(' | ')}`);
  });
  await new Promise((r) => setTimeout(r, 300));
  await checkoutPutsBackCommitted(scene);
}, 60_000);
